"""The console's standards, inventory, quality and cataloguing pages (issue 16): code lists from
a file used by a rule, new data elements with their check, the data dictionary as CSV and XLSX
(read back with openpyxl), the system inventory with its flags, the quality ranking, incidents
and rules, registering and editing a resource from a form, grade changes with a reason and the
recent accesses — each as Cedar decides, on a demo of their own (these tests change it)."""

import csv
import datetime
import html
import io
import json
import re

import openpyxl
import psycopg
import pytest
import requests

from conftest import run, serving
from test_console import browser, browser_sign_in, form_token, shot, signed_in  # noqa: F401 (fixture)

ENTERPRISES = "440310-SC-0001"
PERSONS = "440310-GA-0001"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A demo of its own, served; yields (server, credentials, data directory)."""
    data = tmp_path_factory.mktemp("console-standards") / "data"
    out = run("demo", "--no-serve", "--scale", "0.02", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    creds = {p["username"]: p for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}
    with serving(data) as base:
        yield base, creds, data


def text(answer):
    return html.unescape(answer.text)


def token_of(session, server, path="/console/"):
    return form_token(session.get(f"{server}{path}", timeout=30).text)


def sql(server, creds, user, statement):
    with psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user=user,
                         password=creds[user]["password"]) as conn:
        return conn.execute(statement).fetchall()


def api(server, creds, user, path):
    return requests.get(f"{server}/api/v1{path}", timeout=30,
                        headers={"Authorization": f"Bearer {creds[user]['token']}"})


# ---- code lists ------------------------------------------------------------------------------

def load_list(session, server, token, list_id, body, name="登记状态"):
    return session.post(f"{server}/console/standards/lists", allow_redirects=False, timeout=30,
                        data={"form_token": token, "id": list_id, "name": name, "standard": "",
                              "description": "市场主体登记状态"},
                        files={"file": ("status.csv", body.encode("utf-8"), "text/csv")})


def test_a_code_list_from_a_file_is_what_a_rule_checks(lake):
    server, creds, data = lake
    officer = signed_in(server, creds, "scjg_officer")
    token = token_of(officer, server, "/console/standards")
    # A bad file is refused whole, naming its line and column.
    bad = load_list(officer, server, token, "enterprise-status", "代码,名称\n存续,存续\n在业,\n")
    assert bad.status_code == 400, bad.text[:300]
    assert "line 3, column label" in text(bad)
    assert "enterprise-status" not in text(officer.get(f"{server}/console/standards", timeout=30))
    ok = load_list(officer, server, token, "enterprise-status", "代码,名称\n存续,存续\n在业,在业\n注销,注销\n")
    assert ok.status_code == 303, text(ok)[:500]
    page = text(officer.get(f"{server}{ok.headers['location']}", timeout=30))
    assert 'id="code-count">3<' in page and "注销" in page

    # A rule on the enterprises' status uses it; 吊销 is not on the list.
    added = officer.post(f"{server}/console/quality/rules", allow_redirects=False, timeout=30, data={
        "form_token": token, "id": "enterprises-status-known", "resource": ENTERPRISES, "column": "status",
        "kind": "code_list", "parameter": "enterprise-status", "severity": "warn", "description": "登记状态在代码表内"})
    assert added.status_code == 303, text(added)[:500]
    check = run("quality", "check", ENTERPRISES, "--data-dir", str(data))
    assert check.returncode == 0, check.stderr
    revoked = sql(server, creds, "scjg_officer",
                  "SELECT count(*) FROM base.enterprises WHERE status = '吊销'")[0][0]
    assert revoked > 0
    results = api(server, creds, "scjg_officer", f"/quality/results?resource={ENTERPRISES}").json()
    rows = results["items"] if isinstance(results, dict) else results
    failed = {r["rule"]: r["rows_failed"] for r in rows}
    assert failed["enterprises-status-known"] == revoked, failed
    # The demo's GB/T 4754 sections list checks the industry labels, which all pass.
    assert failed["enterprises-industry-section"] == 0, failed

    # A list a rule uses may not be removed; another department may not reload it.
    used = text(officer.get(f"{server}/console/standards/lists/enterprise-status", timeout=30))
    assert "enterprises-status-known" in used
    refused = officer.post(f"{server}/console/standards/lists/enterprise-status/remove", allow_redirects=False,
                           timeout=30, data={"form_token": token, "confirm": "yes"})
    assert refused.status_code == 400 and "enterprises-status-known" in text(refused)
    gaj = signed_in(server, creds, "gaj_officer")
    other = load_list(gaj, server, token_of(gaj, server), "enterprise-status", "代码,名称\nX,X\n")
    assert other.status_code == 403, other.status_code
    public = signed_in(server, creds, "public_user")
    assert load_list(public, server, token_of(public, server), "x", "代码,名称\nX,X\n").status_code == 403


def test_a_new_element_carries_its_check(lake):
    server, creds, _ = lake
    officer = signed_in(server, creds, "scjg_officer")
    token = token_of(officer, server, "/console/standards")
    form = {"form_token": token, "id": "industry_section", "name": "行业门类代码", "name_en": "Industry section",
            "standard": "GB/T 4754-2017", "data_type": "string", "check": "pattern", "validator": "uscc",
            "pattern": "([", "category": "organisation", "grade": "L1", "description": "国民经济行业分类门类"}
    bad = officer.post(f"{server}/console/standards/elements", data=form, allow_redirects=False, timeout=30)
    assert bad.status_code == 400 and "pattern" in text(bad), text(bad)[:300]
    assert api(server, creds, "scjg_officer", "/elements/industry_section").status_code == 404
    form["pattern"] = "[A-T]"
    ok = officer.post(f"{server}/console/standards/elements", data=form, allow_redirects=False, timeout=30)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/console/elements/industry_section")
    assert "行业门类代码" in text(officer.get(f"{server}/console/elements/industry_section", timeout=30))
    rules = text(officer.get(f"{server}/console/quality?tab=rules&page=1", timeout=30))
    assert "industry_section-valid" in rules
    # The same id again is the CDO's to change; the public adds nothing.
    again = officer.post(f"{server}/console/standards/elements", data=form, allow_redirects=False, timeout=30)
    assert again.status_code == 400 and "chief data officer" in text(again)
    public = signed_in(server, creds, "public_user")
    form["form_token"] = token_of(public, server)
    form["id"] = "public_element"
    form["name"] = "公众数据元"
    assert public.post(f"{server}/console/standards/elements", data=form, allow_redirects=False,
                       timeout=30).status_code == 403


# ---- the data dictionary ---------------------------------------------------------------------

def dictionary(session, server, fmt, org=""):
    answer = session.get(f"{server}/console/standards/dictionary", params={"format": fmt, "org": org}, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    return answer


def test_the_dictionary_holds_what_the_reader_may_discover(lake):
    server, creds, _ = lake
    for user in ("gaj_officer", "public_user"):
        s = signed_in(server, creds, user)
        rows = list(csv.reader(io.StringIO(dictionary(s, server, "csv").content.decode("utf-8-sig"))))
        header, body = rows[0], rows[1:]
        assert header[1].startswith("资源代码")
        book = openpyxl.load_workbook(io.BytesIO(dictionary(s, server, "xlsx").content), read_only=True)
        sheet = book["数据字典"]
        cells = [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
        assert cells[0] == header and cells[1:] == body, user
        listed = api(server, creds, user, "/resources?limit=500").json()
        ids = {r["id"] for r in (listed["items"] if isinstance(listed, dict) else listed)}
        assert {r[1] for r in body} <= ids, user
        assert (PERSONS in {r[1] for r in body}) == (user == "gaj_officer"), user
    gaj = signed_in(server, creds, "gaj_officer")
    own = list(csv.reader(io.StringIO(dictionary(gaj, server, "csv", "440310-gaj").content.decode("utf-8-sig"))))
    assert own[1:] and {r[0] for r in own[1:]} == {"深圳市公安局坪山分局"}, {r[0] for r in own[1:]}
    ids = [r[1:4] for r in own[1:] if r[1] == PERSONS]
    assert ["440310-GA-0001", "人口基础信息", "id_no"] in ids


# ---- the system inventory ---------------------------------------------------------------------

def test_the_inventory_flags_systems_without_catalogued_data(lake):
    server, creds, _ = lake
    officer = signed_in(server, creds, "rsj_officer")
    page = text(officer.get(f"{server}/console/systems", timeout=30))
    assert 'id="uncatalogued-count"' in page and "rsj-employment" in page and "scjg-inspection" in page
    flagged = text(officer.get(f"{server}/console/systems?show=uncatalogued", timeout=30))
    assert "rsj-employment" in flagged and "gaj-population" not in flagged
    token = form_token(page)
    ok = officer.post(f"{server}/console/systems", allow_redirects=False, timeout=30, data={
        "form_token": token, "id": "rsj-employment", "name": "就业创业服务系统", "org": "440310-rsj",
        "description": "就业登记、补贴申领与审核", "operator": "区人力资源局", "resources": "440310-RS-0001"})
    assert ok.status_code == 303, text(ok)[:300]
    assert "rsj-employment" not in text(officer.get(f"{server}/console/systems?show=uncatalogued", timeout=30))
    # Another department's system, or another department's resource, is refused.
    theirs = officer.post(f"{server}/console/systems", allow_redirects=False, timeout=30, data={
        "form_token": token, "id": "scjg-inspection", "name": "x", "org": "440310-scjg", "description": "",
        "operator": "", "resources": ""})
    assert theirs.status_code == 403
    other = officer.post(f"{server}/console/systems", allow_redirects=False, timeout=30, data={
        "form_token": token, "id": "rsj-other", "name": "x", "org": "440310-rsj", "description": "",
        "operator": "", "resources": PERSONS})
    assert other.status_code in (400, 404), other.status_code
    # The public sees the inventory's systems but no resource it may not discover.
    public = text(signed_in(server, creds, "public_user").get(f"{server}/console/systems", timeout=30))
    assert "gaj-population" in public and "人口基础信息" not in public
    listed = api(server, creds, "public_user", "/systems").json()["items"]
    assert all(PERSONS not in s["system"]["resources"] for s in listed)


# ---- quality ---------------------------------------------------------------------------------

def test_the_ranking_incidents_and_report(lake):
    server, creds, _ = lake
    cdo = signed_in(server, creds, "cdo")
    ranking = text(cdo.get(f"{server}/console/quality", timeout=30))
    assert 'id="ranking-table"' in ranking and "<svg class=\"spark\"" in ranking
    api_rank = api(server, creds, "cdo", "/quality/rank").json()
    first = (api_rank["items"] if isinstance(api_rank, dict) else api_rank)[0]
    assert re.search(rf'id="dept-{re.escape(first["department"])}"', ranking)
    incidents = text(cdo.get(f"{server}/console/quality?tab=incidents", timeout=30))
    ids = re.findall(r'id="incident-(\d+)"', incidents)
    assert ids, "the demo's gateway fault opened an incident"
    analyst = text(signed_in(server, creds, "rsj_user").get(f"{server}/console/quality?tab=incidents", timeout=30))
    assert "/resolve" not in analyst  # an analyst follows incidents it may see; it resolves none
    # The public sees an incident on open data, and resolves none; one it may not see is missing.
    public = signed_in(server, creds, "public_user")
    seen = text(public.get(f"{server}/console/quality?tab=incidents", timeout=30))
    assert "/resolve" not in seen
    answer = public.post(f"{server}/console/quality/incidents/{ids[0]}/resolve", allow_redirects=False, timeout=30,
                         data={"form_token": form_token(seen)})
    assert answer.status_code == (403 if f'id="incident-{ids[0]}"' in seen else 404)
    admin = signed_in(server, creds, "admin")
    page = text(admin.get(f"{server}/console/quality?tab=incidents", timeout=30))
    resolved = admin.post(f"{server}/console/quality/incidents/{ids[0]}/resolve", allow_redirects=False,
                          timeout=30, data={"form_token": form_token(page)})
    assert resolved.status_code == 303
    assert f'id="incident-{ids[0]}"' not in text(admin.get(f"{server}/console/quality?tab=incidents", timeout=30))
    report = text(cdo.get(f"{server}/console/quality/report/{PERSONS}", timeout=30))
    assert 'id="report-score"' in report and "persons-id-agreement" in report
    assert signed_in(server, creds, "public_user").get(f"{server}/console/quality/report/{PERSONS}",
                                                       timeout=30).status_code == 404


# ---- cataloguing ---------------------------------------------------------------------------

def test_a_resource_registered_and_edited_from_the_form(lake):
    server, creds, _ = lake
    officer = signed_in(server, creds, "rsj_officer")
    page = officer.get(f"{server}/console/resources/new", timeout=30)
    assert page.status_code == 200 and 'id="resource-form"' in page.text
    form = {"form_token": form_token(page.text), "id": "440310-RS-0009", "name": "就业补贴发放信息",
            "provider": "440310-rsj", "abstract_text": "就业补贴的申领与发放", "format": "数据库表",
            "share_attr": "conditional", "share_conditions": "", "open_attr": "not_open", "open_conditions": "",
            "update_cycle": "monthly", "tier": "theme",
            "items": "grant_no,补贴编号,string,public,L1,key\nApplicant Name,申请人姓名,string,personal,L3"}
    bad = officer.post(f"{server}/console/resources", data=form, allow_redirects=False, timeout=30)
    assert bad.status_code == 422, bad.status_code
    assert "column name `Applicant Name`" in text(bad) and "snake case" in text(bad)
    assert "就业补贴的申领与发放" in text(bad)  # what was typed comes back
    form["items"] = "grant_no,补贴编号,string,public,L1,key\napplicant_name,申请人姓名,string,personal,L3"
    form["provider"] = "440310-gaj"
    theirs = officer.post(f"{server}/console/resources", data=form, allow_redirects=False, timeout=30)
    assert theirs.status_code == 422 and "own department" in text(theirs)
    form["provider"] = "440310-rsj"
    ok = officer.post(f"{server}/console/resources", data=form, allow_redirects=False, timeout=30)
    assert ok.status_code == 303, text(ok)[:500]
    detail = api(server, creds, "rsj_officer", "/resources/440310-RS-0009").json()
    assert detail["grade"] == "L3" and [c["name"] for c in detail["columns"]] == ["grant_no", "applicant_name"]

    edit = officer.get(f"{server}/console/resources/440310-RS-0009/edit", timeout=30)
    assert edit.status_code == 200 and "就业补贴发放信息" in text(edit)
    change = {"form_token": form_token(edit.text), "name": "就业补贴发放明细", "abstract_text": "按月发放",
              "update_cycle": "monthly", "share_attr": "conditional", "share_conditions": "经审批",
              "open_attr": "unconditional", "open_conditions": ""}
    refused = officer.post(f"{server}/console/resources/440310-RS-0009/edit", data=change,
                           allow_redirects=False, timeout=30)
    assert refused.status_code == 422 and "applicant_name" in text(refused), text(refused)[:300]
    change["open_attr"] = "not_open"
    saved = officer.post(f"{server}/console/resources/440310-RS-0009/edit", data=change,
                         allow_redirects=False, timeout=30)
    assert saved.status_code == 303
    found = text(officer.get(f"{server}/console/catalogue", params={"q": "发放明细"}, timeout=30))
    assert "440310-RS-0009" in found
    # Another department may not edit it; the public may not even see it.
    gaj = signed_in(server, creds, "gaj_officer")
    assert gaj.get(f"{server}/console/resources/440310-RS-0009/edit", timeout=30).status_code in (403, 404)
    assert signed_in(server, creds, "public_user").get(f"{server}/console/resources/new",
                                                       timeout=30).status_code == 403


def test_a_grade_change_needs_a_reason_and_keeps_it(lake):
    server, creds, _ = lake
    officer = signed_in(server, creds, "gaj_officer")
    page = officer.get(f"{server}/console/resources/{PERSONS}", timeout=30).text
    assert 'id="grade-form"' in page
    form = {"form_token": form_token(page), "column": "mobile", "category": "personal", "grade": "L4", "reason": ""}
    none = officer.post(f"{server}/console/resources/{PERSONS}/classify", data=form, allow_redirects=False, timeout=30)
    assert none.status_code == 400 and "say why" in text(none)
    form["reason"] = "手机号码与身份信息关联，按个人敏感信息管理"
    ok = officer.post(f"{server}/console/resources/{PERSONS}/classify", data=form, allow_redirects=False, timeout=30)
    assert ok.status_code == 303
    changes = text(signed_in(server, creds, "auditor").get(f"{server}/console/audit/changes", timeout=30))
    assert "手机号码与身份信息关联" in changes
    # Another department may not grade the persons' columns.
    other = signed_in(server, creds, "scjg_officer")
    assert 'id="grade-form"' not in other.get(f"{server}/console/resources/{PERSONS}", timeout=30).text
    form["form_token"] = token_of(other, server)
    assert other.post(f"{server}/console/resources/{PERSONS}/classify", data=form, allow_redirects=False,
                      timeout=30).status_code in (403, 404)


def test_recent_accesses_are_for_audit_readers(lake):
    server, creds, _ = lake
    sql(server, creds, "gaj_officer", "SELECT count(*) FROM base.persons")
    auditor = text(signed_in(server, creds, "auditor").get(f"{server}/console/resources/{PERSONS}", timeout=30))
    assert 'id="accesses-table"' in auditor and "gaj_officer" in auditor
    officer = text(signed_in(server, creds, "gaj_officer").get(f"{server}/console/resources/{PERSONS}", timeout=30))
    assert 'id="accesses"' not in officer
    # Every reader who discovers it sees the tables' versions, without their parameters.
    history = re.search(r'id="history-table">(.*?)</table>', officer, re.S).group(1)
    assert "WRITE" in history or "MERGE" in history, history[:500]


def test_the_audit_searches_by_table_and_time_and_records_what_was_asked(lake):
    server, creds, _ = lake
    sql(server, creds, "gaj_officer", "SELECT count(*) FROM base.persons")
    auditor = signed_in(server, creds, "auditor")

    def count(**search):
        page = text(auditor.get(f"{server}/console/audit", params=search, timeout=30))
        return len(re.findall(r"<tr>\s*<td", page)), page

    persons, _ = count(table="base.persons", principal="gaj_officer")
    assert persons > 0
    assert count(table="base.person", principal="gaj_officer")[0] == 0  # a table is matched whole
    assert count(table="base.persons", principal="gaj_officer", **{"from": "2999-01-01"})[0] == 0
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert count(table="base.persons", principal="gaj_officer", to=today)[0] == persons  # a date takes its day
    # The auditor's own searches are on record with the values searched for, not only `$1`.
    exported = auditor.get(f"{server}/console/audit/export.csv", params={"principal": "auditor"}, timeout=30)
    assert exported.status_code == 200
    assert "$5 = 'base.person'" in exported.text and "$6 = '2999-01-01'" in exported.text, exported.text[:2000]


# ---- every new page, in both languages ---------------------------------------------------------

NEW_PAGES = [
    ("50-standards", "/console/standards", "dictionary-form"),
    ("51-codelist", "/console/standards/lists/gb4754-sections", "codes-table"),
    ("52-systems", "/console/systems", "systems-table"),
    ("53-ranking", "/console/quality", "ranking-table"),
    ("54-incidents", "/console/quality?tab=incidents", "main"),
    ("55-rules", "/console/quality?tab=rules", "rules-table"),
    ("56-report", f"/console/quality/report/{PERSONS}", "report-results"),
    ("57-register", "/console/resources/new", "resource-form"),
    ("58-resource", f"/console/resources/{PERSONS}", "accesses-table"),  # the auditor's
]


def test_every_new_page_in_chinese_and_in_english(lake, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, creds, _ = lake
    b = browser
    for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
        for name, path, element in NEW_PAGES:
            if name in ("50-standards", "58-resource"):
                browser_sign_in(b, server, creds, "auditor" if name == "58-resource" else "admin")
                b.get(f"{server}/console/lang?to={lang}&next=/console/")
            b.get(f"{server}{path}")
            WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, element) or d.find_elements(By.TAG_NAME, element))
            assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang, path
            main = b.find_element(By.TAG_NAME, "main").text
            assert not re.search(r"\b(standards|systems|quality|report|register|resource)\.[a-z_]+\b", main), (path, lang)
            shot(b, f"{name}-{suffix}")
