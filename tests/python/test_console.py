"""The console at /console/ (issue 16): sign-in, sessions and form tokens, pages that obey the
same decisions as SQL, the two languages, and a real browser (headless Chromium through
Debian's chromium-driver) with screenshots of every page in tests/python/artifacts/console/."""

import html
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from conftest import serving

ARTIFACTS = Path(__file__).parent / "artifacts" / "console"
PERSONS = "440310-GA-0001"


def signed_in(server, creds, user):
    """A requests session signed in to the console as `user`."""
    s = requests.Session()
    answer = s.post(f"{server}/console/signin",
                    data={"user": user, "password": creds[user]["password"], "next": "/console/"},
                    allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text[:500]
    return s


def form_token(html):
    return re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)


def api(server, creds, user, path):
    return requests.get(f"{server}/api/v1{path}", timeout=30,
                        headers={"Authorization": f"Bearer {creds[user]['token']}"})


def test_pages_ask_for_a_sign_in_and_come_back(server):
    answer = requests.get(f"{server}/console/catalogue?q=%E4%BA%BA", allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/signin?next=%2Fconsole%2Fcatalogue%3Fq%3D%25E4%25BA%25BA"
    page = requests.get(f"{server}/console/signin", timeout=30)
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text and "登录" in page.text
    assert 'for="user"' in page.text and 'for="password"' in page.text  # labelled fields


def test_a_session_cookie_is_http_only_same_site_strict(server, credentials):
    answer = requests.post(f"{server}/console/signin",
                           data={"user": "cdo", "password": credentials["cdo"]["password"], "next": "/console/catalogue"},
                           allow_redirects=False, timeout=30)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/catalogue"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("zs_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie


def test_sign_in_goes_back_only_within_the_console(server, credentials):
    answer = requests.post(f"{server}/console/signin",
                           data={"user": "cdo", "password": credentials["cdo"]["password"],
                                 "next": "https://evil.example/console/"},
                           allow_redirects=False, timeout=30)
    assert answer.headers["location"] == "/console/"
    answer = requests.get(f"{server}/console/lang?to=en&next=//evil.example/", allow_redirects=False, timeout=30)
    assert answer.headers["location"] == "/console/"


def test_a_wrong_password_and_an_unknown_name_are_answered_alike(server, credentials):
    def attempt(user):
        started = time.monotonic()
        answer = requests.post(f"{server}/console/signin",
                               data={"user": user, "password": "not-the-password", "next": "/console/"},
                               allow_redirects=False, timeout=30)
        return answer, time.monotonic() - started
    known, known_s = attempt("rsj_user")
    unknown, unknown_s = attempt("no_such_person")
    assert known.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in known.text
    assert known.text.replace("rsj_user", "NAME") == unknown.text.replace("no_such_person", "NAME")
    assert known_s >= 0.9 and unknown_s >= 0.9  # every failure waits


def test_repeated_failures_lock_a_name_known_or_not(demo, credentials):
    with serving(demo) as own:  # its own server: the lock-out is per server, in memory
        for user in ("gaj_officer", "nobody_here"):
            for _ in range(5):
                requests.post(f"{own}/console/signin", data={"user": user, "password": "guess"}, timeout=30)
        right = requests.post(f"{own}/console/signin",
                              data={"user": "gaj_officer", "password": credentials["gaj_officer"]["password"]},
                              allow_redirects=False, timeout=30)
        assert right.status_code == 429 and "分钟后再试" in right.text
        unknown = requests.post(f"{own}/console/signin", data={"user": "nobody_here", "password": "x"},
                                allow_redirects=False, timeout=30)
        assert unknown.status_code == 429
        other = requests.post(f"{own}/console/signin",
                              data={"user": "cdo", "password": credentials["cdo"]["password"]},
                              allow_redirects=False, timeout=30)
        assert other.status_code == 303  # another name is not locked


def test_sign_out_needs_the_form_token_and_ends_the_session(server, credentials):
    s = signed_in(server, credentials, "rsj_officer")
    home = s.get(f"{server}/console/", timeout=30)
    assert home.status_code == 200
    forged = s.post(f"{server}/console/signout", data={"form_token": "0" * 64}, allow_redirects=False, timeout=30)
    assert forged.status_code == 403
    assert s.get(f"{server}/console/", allow_redirects=False, timeout=30).status_code == 200
    cookie = s.cookies.get("zs_session")
    out = s.post(f"{server}/console/signout", data={"form_token": form_token(home.text)},
                 allow_redirects=False, timeout=30)
    assert out.status_code == 303 and out.headers["location"] == "/console/signin?out=1"
    replay = requests.get(f"{server}/console/", cookies={"zs_session": cookie}, allow_redirects=False, timeout=30)
    assert replay.status_code == 303  # the old cookie opens nothing


def test_sign_ins_are_in_the_access_audit(server, credentials):
    signed_in(server, credentials, "privacy")
    requests.post(f"{server}/console/signin", data={"user": "privacy", "password": "wrong"}, timeout=30)
    s = signed_in(server, credentials, "auditor")
    del s
    import psycopg
    with psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user="auditor",
                         password=credentials["auditor"]["password"]) as conn:
        rows = conn.execute("SELECT principal, outcome FROM audit.queries WHERE protocol = 'console' "
                            "AND sql_text = 'sign in' AND principal = 'privacy' ORDER BY seq").fetchall()
    assert ("privacy", "ok") in rows and ("privacy", "denied") in rows


def test_the_catalogue_lists_exactly_what_the_api_lists(server, credentials):
    for user in ("public_user", "pingshan_street", "cdo"):
        s = signed_in(server, credentials, user)
        page = s.get(f"{server}/console/catalogue", timeout=30).text
        total = int(re.search(r'<h2 id="results">共 ([0-9,]+) 个资源', page).group(1).replace(",", ""))
        listed = api(server, credentials, user, "/resources?page_size=500").json()
        assert total == listed["total"], user
        codes = set(re.findall(r'<td class="code">([^<]+)</td>', page))
        assert codes == {r["id"] for r in listed["items"][:20]}, user


def test_a_hidden_resource_looks_missing(server, credentials):
    hidden = [r["id"] for r in api(server, credentials, "cdo", "/resources?page_size=500").json()["items"]]
    visible = {r["id"] for r in api(server, credentials, "public_user", "/resources?page_size=500").json()["items"]}
    secret = next(r for r in hidden if r not in visible)
    name = api(server, credentials, "cdo", f"/resources/{secret}").json()["name"]
    s = signed_in(server, credentials, "public_user")
    shown = s.get(f"{server}/console/resources/{secret}", timeout=30)
    missing = s.get(f"{server}/console/resources/NO-SUCH-RESOURCE", timeout=30)
    assert shown.status_code == missing.status_code == 404
    assert name not in shown.text
    assert shown.text.replace(secret, "ID") == missing.text.replace("NO-SUCH-RESOURCE", "ID")
    searched = html.unescape(s.get(f"{server}/console/catalogue", params={"q": name}, timeout=30).text)
    assert f"/console/resources/{secret}" not in searched


def test_facets_filter_and_count(server, credentials):
    s = signed_in(server, credentials, "cdo")
    everything = api(server, credentials, "cdo", "/resources?page_size=500").json()["items"]
    base = [r for r in everything if r["tier"] == "base"]
    page = html.unescape(s.get(f"{server}/console/catalogue?tier=base", timeout=30).text)
    assert f"共 {len(base)} 个资源" in page
    assert re.search(r'<a href="/console/catalogue\?tier=base" aria-current="true">基础库</a> <span class="count">'
                     + str(len(base)) + "</span>", page)
    bad = s.get(f"{server}/console/catalogue?grade=L9", timeout=30)
    assert bad.status_code == 400 and "L3" in bad.text


def test_english_is_a_click_away(server, credentials):
    s = signed_in(server, credentials, "cdo")
    switched = s.get(f"{server}/console/lang?to=en&next=/console/catalogue", allow_redirects=False, timeout=30)
    assert switched.status_code == 303 and "zs_lang=en" in switched.headers["set-cookie"]
    page = s.get(f"{server}/console/catalogue", timeout=30).text
    assert '<html lang="en">' in page and ">Catalogue</a>" in page and "resources</h2>" in page
    assert "数据目录" not in page.split("<main")[1].split("</main>")[0]


def test_the_resource_page_shows_items_grades_and_masked_examples(server, credentials):
    s = signed_in(server, credentials, "gaj_officer")
    page = s.get(f"{server}/console/resources/{PERSONS}", timeout=30)
    assert page.status_code == 200
    assert '<table id="items-table">' in page.text and "badge grade-" in page.text
    ids = re.findall(r"\b\d{17}[\dX]\b", page.text)
    assert not ids, f"a resident ID number in clear on the page: {ids[:3]}"


# ---- the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "chromium and chromium-driver are installed by scripts/test.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1440,1000", f"--user-data-dir={profile}", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def browser_sign_in(b, server, creds, user):
    """Signs `user` in in the browser `b` (cookies cleared first) and waits for the home page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    b.delete_all_cookies()
    b.get(f"{server}/console/signin")
    b.find_element(By.ID, "user").send_keys(user)
    b.find_element(By.ID, "password").send_keys(creds[user]["password"] + Keys.ENTER)
    WebDriverWait(b, 20).until(lambda d: d.current_url.endswith("/console/"))


def shot(driver, name):
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1440, max(1000, min(height + 40, 6000)))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_a_data_officer_works_in_the_browser(server, credentials, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    b = browser
    b.delete_all_cookies()
    b.get(f"{server}/console/")
    assert "/console/signin" in b.current_url
    shot(b, "01-signin")
    b.find_element(By.ID, "user").send_keys("gaj_officer")
    b.find_element(By.ID, "password").send_keys("wrong" + Keys.ENTER)
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "signin-error"))
    assert "用户名或密码不正确" in b.find_element(By.ID, "signin-error").text
    shot(b, "02-signin-refused")
    b.find_element(By.ID, "user").clear()
    b.find_element(By.ID, "user").send_keys("gaj_officer")
    b.find_element(By.ID, "password").send_keys(credentials["gaj_officer"]["password"] + Keys.ENTER)
    WebDriverWait(b, 20).until(lambda d: d.current_url.endswith("/console/"))
    assert "公安分局数据专员" in b.find_element(By.CLASS_NAME, "user").text
    assert b.find_element(By.ID, "coverage-ratio").text.endswith("%")
    shot(b, "03-home")

    # Find a resource by a Chinese abbreviation, with the keyboard.
    b.find_element(By.LINK_TEXT, "数据目录").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "q"))
    search = b.find_element(By.ID, "q")
    search.send_keys("人口" + Keys.ENTER)
    WebDriverWait(b, 20).until(lambda d: "q=" in d.current_url)
    names = [a.text for a in b.find_elements(By.CSS_SELECTOR, "#resources td a")]
    assert any("人口" in n for n in names), names
    shot(b, "04-catalogue-search")
    b.find_element(By.PARTIAL_LINK_TEXT, "人口").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "metadata-list"))
    assert "/console/resources/" in b.current_url
    shot(b, "05-resource")

    # English.
    b.find_element(By.CSS_SELECTOR, "a.lang").click()
    WebDriverWait(b, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    assert b.find_element(By.LINK_TEXT, "Catalogue")
    shot(b, "06-resource-en")
    b.get(f"{server}/console/catalogue")
    shot(b, "07-catalogue-en")
    b.get(f"{server}/console/")
    shot(b, "08-home-en")
    b.find_element(By.CSS_SELECTOR, "a.lang").click()
    WebDriverWait(b, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN")

    # Sign out.
    b.find_element(By.CSS_SELECTOR, "form[action='/console/signout'] button").click()
    WebDriverWait(b, 20).until(lambda d: "/console/signin" in d.current_url)
    assert "已退出登录" in b.page_source


def test_the_public_cannot_open_what_it_may_not_see(server, credentials, browser):
    from selenium.webdriver.common.by import By

    b = browser
    browser_sign_in(b, server, credentials, "public_user")
    b.get(f"{server}/console/resources/{PERSONS}")
    assert "找不到该页面或资源" in b.find_element(By.TAG_NAME, "h1").text
    assert "人口" not in b.find_element(By.TAG_NAME, "main").text
    shot(b, "09-public-not-found")


# ---- objections: a workflow that writes ------------------------------------------------------

CREDIT = "440310-FG-0001"


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    """A demo of its own (these tests correct records), served; yields (server, credentials)."""
    import json

    from conftest import run

    data = tmp_path_factory.mktemp("console-demo") / "data"
    out = run("demo", "--no-serve", "--scale", "0.02", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    creds = {p["username"]: p for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}
    with serving(data) as base:
        yield base, creds


def file_objection(server, creds, proposed):
    """An objection on the first credit record's level, filed over the API by scjg_officer."""
    import psycopg

    with psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user="admin",
                         password=creds["admin"]["password"]) as conn:
        uscc, level = conn.execute("SELECT uscc, credit_level FROM base.ratings ORDER BY uscc LIMIT 1").fetchone()
    body = {"resource": CREDIT, "record_key": {"uscc": uscc}, "column": "credit_level",
            "current_value": level, "proposed_value": proposed, "evidence": "深圳市公共信用中心复核结论"}
    filed = requests.post(f"{server}/api/v1/objections", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {creds['scjg_officer']['token']}"})
    assert filed.status_code == 201, filed.text
    return filed.json()["id"], uscc


def test_objections_are_shown_and_decided_as_cedar_decides(writable):
    server, creds = writable
    oid, _ = file_objection(server, creds, "B-更正")
    filer = signed_in(server, creds, "scjg_officer")
    listed = html.unescape(filer.get(f"{server}/console/objections", timeout=30).text)
    assert f'/console/objections/{oid}"' in listed
    mine = filer.get(f"{server}/console/objections/{oid}", timeout=30)
    assert mine.status_code == 200 and 'id="do-accept"' not in mine.text  # the filer may not decide
    other = signed_in(server, creds, "rsj_officer")
    hidden = other.get(f"{server}/console/objections/{oid}", timeout=30)
    missing = other.get(f"{server}/console/objections/999999", timeout=30)
    assert hidden.status_code == missing.status_code == 404
    assert f"/console/objections/{oid}" not in html.unescape(other.get(f"{server}/console/objections?status=all", timeout=30).text)
    admin = signed_in(server, creds, "admin")
    page = admin.get(f"{server}/console/objections/{oid}", timeout=30).text
    assert 'id="do-reject"' in page
    token = form_token(page)
    forged = admin.post(f"{server}/console/objections/{oid}/reject",
                        data={"form_token": "f" * 64, "reason": "x", "confirm": "yes"}, allow_redirects=False, timeout=30)
    assert forged.status_code == 403
    unconfirmed = admin.post(f"{server}/console/objections/{oid}/reject",
                             data={"form_token": token, "reason": "原记录有效"}, allow_redirects=False, timeout=30)
    assert unconfirmed.status_code == 400
    rejected = admin.post(f"{server}/console/objections/{oid}/reject",
                          data={"form_token": token, "reason": "原记录有效", "confirm": "yes"},
                          allow_redirects=False, timeout=30)
    assert rejected.status_code == 303
    shown = admin.get(f"{server}/console/objections/{oid}?done=rejected", timeout=30).text
    assert "已驳回" in shown and "原记录有效" in shown and 'id="do-reject"' not in shown


def test_an_objection_resolved_in_the_browser_corrects_the_record(writable, browser):
    import psycopg
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, creds = writable
    oid, uscc = file_objection(server, creds, "A-浏览器更正")
    b = browser
    browser_sign_in(b, server, creds, "admin")
    b.find_element(By.LINK_TEXT, "数据纠错").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.LINK_TEXT, f"#{oid}"))
    shot(b, "10-objections")
    b.find_element(By.LINK_TEXT, f"#{oid}").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "proposed"))
    assert b.find_element(By.ID, "proposed").text == "A-浏览器更正"
    shot(b, "11-objection")
    b.find_element(By.ID, "confirm-accept").click()
    b.find_element(By.ID, "do-accept").click()
    WebDriverWait(b, 30).until(lambda d: d.find_elements(By.ID, "notice"))
    assert "已采纳" in b.find_element(By.ID, "notice").text
    shot(b, "12-objection-accepted")
    with psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user="admin",
                         password=creds["admin"]["password"]) as conn:
        (level,) = conn.execute("SELECT credit_level FROM base.ratings WHERE uscc = %s", (uscc,)).fetchone()
    assert level == "A-浏览器更正"


def test_the_audit_is_for_those_whose_sessions_may_read_it(server, credentials):
    for user in ("rsj_user", "gaj_officer", "public_user"):
        s = signed_in(server, credentials, user)
        for path in ("/console/audit", "/console/audit/export.csv", "/console/audit?verify=1"):
            answer = s.get(f"{server}{path}", timeout=60)
            assert answer.status_code == 404, (user, path)
            assert "sign in" not in answer.text and "audit.queries" not in answer.text
    signed_in(server, credentials, "cdo")
    s = signed_in(server, credentials, "auditor")
    page = s.get(f"{server}/console/audit", params={"principal": "cdo", "protocol": "console"}, timeout=60)
    assert page.status_code == 200
    cells = re.findall(r"<tr><td class=\"n\">\d+</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", page.text)
    assert cells and all(c == ("cdo", "console") for c in cells)
    verified = s.get(f"{server}/console/audit?verify=1", timeout=120).text
    assert verified.count("完整（") == 2
    csv = s.get(f"{server}/console/audit/export.csv", params={"principal": "cdo"}, timeout=120)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("seq,at,principal,protocol,outcome") and len(lines) > 1
    assert all(",cdo," in line for line in lines[1:] if line[:1].isdigit())
    # The auditor's searches are themselves on record, through its governed session.
    again = s.get(f"{server}/console/audit", params={"principal": "auditor", "text": "audit.queries"}, timeout=60).text
    assert "SELECT count(*) FROM audit.queries" in html.unescape(again)


def test_an_auditor_verifies_the_chains_in_the_browser(server, credentials, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    b = browser
    browser_sign_in(b, server, credentials, "auditor")
    b.find_element(By.LINK_TEXT, "访问审计").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "audit-table"))
    shot(b, "13-audit")
    b.find_element(By.ID, "verify").click()
    WebDriverWait(b, 60).until(lambda d: d.find_elements(By.ID, "chain-results"))
    assert b.find_element(By.ID, "chain-results").text.count("完整") == 2
    shot(b, "14-audit-verified")
