"""The console's working pages (issue 16): data elements and 一数一源, the 分类分级 workbench,
ingest with its quarantine and re-submission, and grants with "what does this session hold" —
each as Cedar decides, on a demo of their own (these tests change the catalog), with the
browser for the jobs a data officer does by hand."""

import html
import json
import re

import psycopg
import pytest
import requests

from conftest import run, serving
from test_console import browser, browser_sign_in, form_token, shot, signed_in  # noqa: F401 (fixture)

EVENTS = "440310-ZS-0002"
PERSONS = "440310-GA-0001"
LATE_JOB = "demo-440310-zs-0002-late"
PERSONS_JOB = "demo-440310-ga-0001"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A demo of its own, served; yields (server, credentials, data directory)."""
    data = tmp_path_factory.mktemp("console-work") / "data"
    out = run("demo", "--no-serve", "--scale", "0.02", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    assert "3 rows in quarantine" in out.stdout, out.stdout
    creds = {p["username"]: p for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}
    with serving(data) as base:
        yield base, creds, data


def text(answer):
    return html.unescape(answer.text)


def sql(server, creds, user, statement):
    with psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user=user,
                         password=creds[user]["password"]) as conn:
        return conn.execute(statement).fetchall()


def nav(page):
    return re.findall(r'<nav aria-label="[^"]+" class="nav">(.*?)</nav>', html.unescape(page), re.S)[0]


# ---- navigation by role ------------------------------------------------------------------------

def test_the_navigation_follows_the_role_and_the_pages_follow_cedar(lake):
    server, creds, _ = lake
    public = signed_in(server, creds, "public_user")
    shown = nav(public.get(f"{server}/console/", timeout=30).text)
    assert "/console/catalogue" in shown and "/console/classification" not in shown
    assert "/console/ingest" not in shown and "/console/audit" not in shown
    officer = nav(signed_in(server, creds, "gaj_officer").get(f"{server}/console/", timeout=30).text)
    assert "/console/classification" in officer and "/console/ingest" in officer
    assert "/console/audit" not in officer
    assert "/console/audit" in nav(signed_in(server, creds, "auditor").get(f"{server}/console/", timeout=30).text)
    # A page left out of the navigation still decides with Cedar: the public manages nothing.
    jobs = public.get(f"{server}/console/ingest", timeout=30)
    assert jobs.status_code == 200 and "/console/ingest/demo-" not in text(jobs)
    assert public.get(f"{server}/console/ingest/{LATE_JOB}", timeout=30).status_code == 404
    work = text(public.get(f"{server}/console/classification", timeout=30))
    assert "suggestion-" not in work


# ---- data elements ---------------------------------------------------------------------------

def test_elements_show_sources_and_coverage_as_the_api_does(lake):
    server, creds, _ = lake
    for user in ("public_user", "gaj_officer"):
        s = signed_in(server, creds, user)
        page = text(s.get(f"{server}/console/elements", timeout=30))
        api = requests.get(f"{server}/api/v1/coverage", timeout=30,
                           headers={"Authorization": f"Bearer {creds[user]['token']}"}).json()
        shown = re.search(r'id="coverage-figure">([0-9.]+)%', page).group(1)
        assert abs(float(shown) - api["ratio"] * 100) < 0.06, (user, shown, api)
    officer = signed_in(server, creds, "gaj_officer")
    page = text(officer.get(f"{server}/console/elements/resident_id", timeout=30))
    assert "公民身份号码" in page and 'id="bindings-table"' in page and "来源" in page
    public = text(signed_in(server, creds, "public_user").get(f"{server}/console/elements/resident_id", timeout=30))
    assert "人口基础信息" not in public  # the source is on a resource the public may not see


def test_a_second_source_is_refused_with_what_to_do(lake):
    server, creds, _ = lake
    s = signed_in(server, creds, "gaj_officer")
    page = s.get(f"{server}/console/elements/resident_id", timeout=30).text
    assert 'id="do-bind"' in page
    second = s.post(f"{server}/console/bindings", allow_redirects=False, timeout=30, data={
        "form_token": form_token(page), "element": "resident_id", "resource": PERSONS, "column": "mobile",
        "role": "source"})
    assert second.status_code == 409, second.text[:300]
    assert "bind this column as a replica" in text(second)
    # Another department may not bind the persons' columns; a resource that does not exist is missing.
    other = signed_in(server, creds, "scjg_officer")
    token = form_token(other.get(f"{server}/console/", timeout=30).text)
    refused = other.post(f"{server}/console/bindings", allow_redirects=False, timeout=30, data={
        "form_token": token, "element": "mobile", "resource": PERSONS, "column": "mobile", "role": "replica"})
    missing = other.post(f"{server}/console/bindings", allow_redirects=False, timeout=30, data={
        "form_token": token, "element": "mobile", "resource": "440310-NO-0000", "column": "mobile",
        "role": "replica"})
    assert refused.status_code == 403 and missing.status_code == 404
    forged = s.post(f"{server}/console/bindings", allow_redirects=False, timeout=30, data={
        "form_token": "0" * 64, "element": "mobile", "resource": PERSONS, "column": "mobile", "role": "replica"})
    assert forged.status_code == 403


# ---- the 分类分级 workbench ------------------------------------------------------------------

def test_the_demo_leaves_suggestions_for_those_who_may_classify(lake):
    server, creds, _ = lake
    privacy = text(signed_in(server, creds, "privacy").get(f"{server}/console/classification", timeout=30))
    assert "reporter_mobile" in privacy and 'value="accept"' in privacy
    for user in ("gaj_officer", "rsj_user", "public_user"):
        page = text(signed_in(server, creds, user).get(f"{server}/console/classification", timeout=30))
        assert "reporter_mobile" not in page, user
    ids = re.findall(r'id="suggestion-(\d+)"', privacy)
    s = signed_in(server, creds, "gaj_officer")
    token = form_token(s.get(f"{server}/console/", timeout=30).text)
    refused = s.post(f"{server}/console/suggestions/{ids[0]}", data={"form_token": token, "decision": "accept"},
                     allow_redirects=False, timeout=30)
    missing = s.post(f"{server}/console/suggestions/99999", data={"form_token": token, "decision": "accept"},
                     allow_redirects=False, timeout=30)
    assert refused.status_code in (403, 404) and missing.status_code == 404
    sensitive = text(signed_in(server, creds, "privacy").get(f"{server}/console/classification/sensitive", timeout=30))
    assert 'id="sensitive-table"' in sensitive and "id_no" in sensitive and "L3" in sensitive


def test_a_suggestion_accepted_in_the_browser_grades_the_column(lake, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, creds, _ = lake
    b = browser
    browser_sign_in(b, server, creds, "privacy")
    shot(b, "20-home-privacy")
    b.find_element(By.LINK_TEXT, "分类分级").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "suggestions-table"))
    shot(b, "21-classification")
    row = next(r for r in b.find_elements(By.CSS_SELECTOR, "#suggestions-table tbody tr")
               if "reporter_mobile" in r.text)
    row.find_element(By.CSS_SELECTOR, "button.accept").click()
    WebDriverWait(b, 30).until(lambda d: d.find_elements(By.ID, "notice"))
    assert "已接受" in b.find_element(By.ID, "notice").text
    shot(b, "22-suggestion-accepted")
    resource = requests.get(f"{server}/api/v1/resources/{EVENTS}", timeout=30,
                            headers={"Authorization": f"Bearer {creds['privacy']['token']}"}).json()
    column = next(c for c in resource["columns"] if c["name"] == "reporter_mobile")
    assert column["element"] == "mobile", column
    b.find_element(By.ID, "sensitive-link").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "sensitive-table"))
    shot(b, "23-sensitive-columns")
    b.get(f"{server}/console/elements")
    shot(b, "24-elements")
    b.get(f"{server}/console/elements/mobile")
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "bindings-table"))
    assert "reporter_mobile" in b.find_element(By.ID, "bindings-table").text
    shot(b, "25-element")


# ---- ingest ----------------------------------------------------------------------------------

def test_the_quarantine_names_file_line_column_rule_and_reason(lake):
    server, creds, _ = lake
    admin = signed_in(server, creds, "admin")  # the grid events are the admin's own department's
    jobs = text(admin.get(f"{server}/console/ingest", timeout=30))
    assert f"/console/ingest/{LATE_JOB}" in jobs
    page = text(admin.get(f"{server}/console/ingest/{LATE_JOB}", timeout=30))
    assert re.search(r'<h2 id="set-aside">隔离区 \(3\)</h2>', page), page[:2000]
    table = page.split('id="quarantine-table"')[1].split("</table>")[0]
    assert "grid_events-2026-12-01.csv" in table
    assert "reported_at" in table and "event_id" in table and "status" in table
    assert "grid-events-status-known" in table and "待定" in table  # the owner sees the text
    runs = page.split('id="runs-table"')[1].split("</table>")[0]
    assert re.search(r'<td class="n">8</td>\s*<td class="n">5</td>\s*<td class="n">3</td>', runs), runs
    # Another department's officer may see the resource but not manage its jobs; a job on a
    # resource one may not see looks like no job at all.
    other = signed_in(server, creds, "gaj_officer").get(f"{server}/console/ingest/{LATE_JOB}", timeout=30)
    assert other.status_code == 403 and "data officer" in text(other) and "grid_events" not in other.text
    public = signed_in(server, creds, "public_user")
    hidden = public.get(f"{server}/console/ingest/{PERSONS_JOB}", timeout=30)
    missing = public.get(f"{server}/console/ingest/no-such-job", timeout=30)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(PERSONS_JOB, "J") == missing.text.replace("no-such-job", "J")


def test_corrected_rows_uploaded_land_as_a_run(lake, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, creds, data = lake
    fixed = data.parent / "grid_events-fixed.csv"
    header = "event_id,street_code,community_code,category,description,reporter_mobile,reported_at,status"
    fixed.write_text(header + "\n"
                     "WG20261201900006,440310001,440310001001,市容环境,更正：时间已核实,13800138000,"
                     "2026-12-01T13:00:00+08:00,已受理\n"
                     "WG20261201900008,440310001,440310001001,市容环境,更正：状态已核实,13800138000,"
                     "2026-12-01T15:00:00+08:00,处置中\n", encoding="utf-8")
    b = browser
    browser_sign_in(b, server, creds, "admin")
    b.find_element(By.LINK_TEXT, "数据接入").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "jobs-table"))
    shot(b, "26-ingest")
    b.find_element(By.LINK_TEXT, LATE_JOB).click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "quarantine-table"))
    shot(b, "27-job-quarantine")
    b.find_element(By.ID, "file").send_keys(str(fixed))
    b.find_element(By.ID, "do-resubmit").click()
    WebDriverWait(b, 60).until(lambda d: d.find_elements(By.ID, "live-outcome"))
    outcome = b.find_element(By.ID, "live-outcome").text
    assert "读取 2 行 = 写入 2 + 隔离 0" in outcome, outcome
    shot(b, "28-job-resubmitted")
    rows = sql(server, creds, "admin", "SELECT event_id, status FROM theme.events WHERE event_id IN "
               "('WG20261201900006', 'WG20261201900008') ORDER BY event_id")
    assert rows == [("WG20261201900006", "已受理"), ("WG20261201900008", "处置中")]
    # Who re-submitted what is in the access audit.
    audited = sql(server, creds, "auditor", "SELECT principal, outcome, rows_returned FROM audit.queries "
                  f"WHERE protocol = 'console' AND sql_text LIKE 'ingest resubmit {LATE_JOB} %'")
    assert audited == [("admin", "ok", 2)], audited


def test_the_original_text_is_the_owners_to_see(lake):
    server, creds, data = lake
    officer = signed_in(server, creds, "gaj_officer")
    page = officer.get(f"{server}/console/ingest/{PERSONS_JOB}", timeout=30).text
    token = form_token(page)
    persons_header = (data / "generated" / "gaj" / "persons.csv").read_text(encoding="utf-8").splitlines()[0]
    bad = persons_header + "\n" + ",".join(["440310199001011234"] + ["坏行"] * (persons_header.count(",")))
    sent = officer.post(f"{server}/console/ingest/{PERSONS_JOB}/resubmit", allow_redirects=False, timeout=60,
                        files={"file": ("persons-fix.csv", bad.encode("utf-8"), "text/csv")},
                        data={"form_token": token})
    assert sent.status_code == 303, sent.text[:500]
    import time
    for _ in range(60):
        page = text(officer.get(f"{server}/console/ingest/{PERSONS_JOB}", timeout=30))
        if 'id="live-outcome"' in page:
            break
        time.sleep(1)
    assert "读取 1 行 = 写入 0 + 隔离 1" in page, page.split('id="live-run"')[1][:500]
    assert "440310199001011234" in page  # the owning department sees what arrived
    admin = text(signed_in(server, creds, "admin").get(f"{server}/console/ingest/{PERSONS_JOB}", timeout=30))
    assert 'id="quarantine-table"' in admin and "440310199001011234" not in admin
    assert "仅对数据提供部门显示" in admin
    forged = officer.post(f"{server}/console/ingest/{PERSONS_JOB}/resubmit", allow_redirects=False, timeout=30,
                          files={"file": ("x.csv", b"x", "text/csv")}, data={"form_token": "0" * 64})
    assert forged.status_code == 403


# ---- grants ------------------------------------------------------------------------------------

def test_what_a_session_holds_is_what_sql_reads(lake):
    server, creds, _ = lake
    s = signed_in(server, creds, "rsj_user")
    page = text(s.get(f"{server}/console/access", timeout=30))
    shown = set(re.findall(r'<td class="code">([a-z_]+\.[a-z_]+)</td>\s*<td>', page.split('id="readable-table"')[1]
                           .split("</table>")[0]))
    tables = {f"{a}.{b}" for a, b in sql(server, creds, "rsj_user",
                                         "SELECT table_schema, table_name FROM information_schema.tables "
                                         "WHERE table_schema NOT IN ('information_schema', 'pg_catalog', 'audit')")}
    readable = set()
    for t in tables:
        try:
            sql(server, creds, "rsj_user", f"SELECT 1 FROM {t} LIMIT 1")
            readable.add(t)
        except psycopg.Error:
            pass
    assert shown == readable, (shown ^ readable)
    other = s.get(f"{server}/console/access", params={"principal": "cdo"}, timeout=30)
    missing = s.get(f"{server}/console/access", params={"principal": "no_such_one"}, timeout=30)
    assert other.status_code == missing.status_code == 404
    admin = signed_in(server, creds, "admin").get(f"{server}/console/access", params={"principal": "rsj_user"}, timeout=30)
    assert admin.status_code == 200 and "rsj_user" in admin.text


def test_a_grant_revoked_in_the_console_ends_at_the_next_statement(lake, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, creds, _ = lake
    before = sql(server, creds, "pingshan_street", "SELECT count(*) FROM base.persons")
    assert before[0][0] > 0
    assert "/console/grants/" not in text(signed_in(server, creds, "rsj_user").get(f"{server}/console/grants", timeout=30))
    b = browser
    browser_sign_in(b, server, creds, "gaj_officer")
    b.find_element(By.LINK_TEXT, "授权").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "grants-table"))
    shot(b, "29-grants")
    row = next(r for r in b.find_elements(By.CSS_SELECTOR, "#grants-table tbody tr") if "org:440310001" in r.text)
    row.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
    row.find_element(By.CSS_SELECTOR, "button.secondary").click()
    WebDriverWait(b, 30).until(lambda d: d.find_elements(By.ID, "notice"))
    shot(b, "30-grant-revoked")
    with pytest.raises(psycopg.Error):
        sql(server, creds, "pingshan_street", "SELECT count(*) FROM base.persons")
    b.get(f"{server}/console/access")
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "readable"))
    shot(b, "31-my-access")


# ---- the responsibility list (数据权责清单) --------------------------------------------------

def test_the_responsibility_list_flags_and_enforces(lake):
    server, creds, data = lake
    def call(user, method, path, **kw):
        return requests.request(method, f"{server}/api/v1{path}", timeout=30,
                                headers={"Authorization": f"Bearer {creds[user]['token']}"}, **kw)
    listed = call("cdo", "GET", "/responsibilities").json()["items"]
    address = next(r for r in listed if r["element"]["id"] == "address")
    assert address["flagged"] and address["responsibility"]["org"] == "440310-zjj"
    cdo = text(signed_in(server, creds, "cdo").get(f"{server}/console/responsibilities?show=flagged", timeout=30))
    assert 'id="element-address"' in cdo and 'id="do-assign"' in cdo and "来源在其他部门" in cdo
    analyst = text(signed_in(server, creds, "rsj_user").get(f"{server}/console/responsibilities", timeout=30))
    assert 'id="responsibilities-table"' in analyst and 'id="do-assign"' not in analyst
    body = {"org": "440310-zsj", "legal_basis": "区政务服务数据管理局职能配置", "update_duty": "实时更新"}
    assert call("gaj_officer", "PUT", "/responsibilities/mobile", json=body).status_code == 403
    assigned = call("cdo", "PUT", "/responsibilities/mobile", json=body)
    assert assigned.status_code == 200, assigned.text
    # 公安 holds the mobile's source today: flagged; released, it may not take it back as source.
    officer = signed_in(server, creds, "gaj_officer")
    token = form_token(officer.get(f"{server}/console/", timeout=30).text)
    page = text(officer.get(f"{server}/console/elements/mobile", timeout=30))
    assert "/console/bindings/unbind" in page
    released = officer.post(f"{server}/console/bindings/unbind", allow_redirects=False, timeout=30, data={
        "form_token": token, "element": "mobile", "resource": PERSONS, "column": "mobile", "confirm": "yes"})
    assert released.status_code == 303, released.text[:300]
    again = officer.post(f"{server}/console/bindings", allow_redirects=False, timeout=30, data={
        "form_token": token, "element": "mobile", "resource": PERSONS, "column": "mobile", "role": "source"})
    assert again.status_code == 409 and "数据权责清单" in text(again), again.text[:500]
    replica = officer.post(f"{server}/console/bindings", allow_redirects=False, timeout=30, data={
        "form_token": token, "element": "mobile", "resource": PERSONS, "column": "mobile", "role": "replica"})
    assert replica.status_code == 303
    # The CLI reads the same list.
    out = run("catalog", "responsibilities", "--json", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    mobile = next(r for r in json.loads(out.stdout) if r["element"]["id"] == "mobile")
    assert mobile["responsibility"]["org"] == "440310-zsj" and mobile["source"] is None
    refused = run("catalog", "assign", "uscc", "--org", "440310-gaj", "--basis", "x", "--duty", "y",
                  "--as", "rsj_officer", "--data-dir", str(data))
    assert refused.returncode != 0 and "chief data officer" in refused.stderr


def test_the_change_log_shows_who_changed_what_to_those_who_read_the_audit(lake):
    server, creds, _ = lake
    for user in ("gaj_officer", "public_user", "cdo"):
        answer = signed_in(server, creds, user).get(f"{server}/console/audit/changes", timeout=30)
        assert answer.status_code == 404, user
        assert "responsibility" not in answer.text
    auditor = signed_in(server, creds, "auditor")
    page = text(auditor.get(f"{server}/console/audit/changes", params={"kind": "responsibility"}, timeout=30))
    rows = re.findall(r'<tr><td class="n">(\d+)</td><td>[^<]*</td><td>([^<]*)</td><td class="code">([^<]*)</td>'
                      r'<td class="code">([^<]*)</td><td class="code">([^<]*)</td>', page)
    assert rows and all(kind == "responsibility" for _, _, kind, _, _ in rows), page[:2000]
    assert {element for _, _, _, element, _ in rows} >= {"resident_id", "address"}
    seqs = [int(seq) for seq, *_ in rows]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    by_system = text(auditor.get(f"{server}/console/audit/changes", params={"actor": "nobody"}, timeout=30))
    assert 'id="changes-table"' not in by_system


WORKING_PAGES = [
    ("40-elements", "/console/elements", "elements-table"),
    ("41-element", "/console/elements/resident_id", "bindings-table"),
    ("42-responsibilities", "/console/responsibilities", "responsibilities-table"),
    ("43-classification", "/console/classification?status=all", "suggestions-table"),
    ("44-sensitive", "/console/classification/sensitive", "sensitive-table"),
    ("45-ingest", "/console/ingest", "jobs-table"),
    ("46-job", f"/console/ingest/{LATE_JOB}", "runs-table"),
    ("47-grants", "/console/grants?status=all", "grants-table"),
    ("48-access", "/console/access?principal=rsj_user", "readable-table"),
    ("49-changes", "/console/audit/changes", "changes-table"),  # the auditor's
]


def test_every_working_page_in_chinese_and_in_english(lake, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, creds, _ = lake
    b = browser
    for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
        for name, path, table in WORKING_PAGES:
            user = "auditor" if name == "49-changes" else "admin"
            if name in ("40-elements", "49-changes"):
                browser_sign_in(b, server, creds, user)
                b.get(f"{server}/console/lang?to={lang}&next=/console/")
            b.get(f"{server}{path}")
            WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, table))
            assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang, path
            main = b.find_element(By.TAG_NAME, "main").text
            # A missing translation shows its key (`section.key`); none may.
            assert not re.search(r"\b(elements|classification|ingest|grants|responsibilities|audit|form)\.[a-z_]+\b",
                                 main), (path, lang)
            if lang == "en" and name not in ("41-element", "48-access"):  # those name Chinese data
                heading = b.find_element(By.TAG_NAME, "h1").text
                assert not re.search(r"[\u4e00-\u9fff]", heading.replace("一数一源", "")), (path, heading)
            shot(b, f"{name}-{suffix}")
