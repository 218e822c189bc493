"""Sharing (issue 17, first part): a demand travels from filing to a matched resource to a
request to an approval with conditions to a query through the SQL gateway — masked as the
approval said — and is refused again after revocation; the negative list refuses with its legal
basis; 无条件共享 is granted at once, 不予共享 only by the CDO; the satisfaction rate is computed
over demands. Driven through `zhongshu share --as …` and psycopg, on a demo of its own."""

import json
import re

import psycopg
import pytest

from conftest import run, serving
from test_console import browser  # noqa: F401 (fixture)

PERSONS = "440310-GA-0001"
DIVISIONS = "440310-ZS-0003"
PURPOSE = "市场主体登记核验"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    data = tmp_path_factory.mktemp("sharing") / "data"
    out = run("demo", "--no-serve", "--scale", "0.02", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    creds = {p["username"]: p for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}
    with serving(data) as base:
        yield base, creds, data


def share(data, user, *args):
    return run("share", *args, "--as", user, "--data-dir", str(data))


def ok(out):
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def connect(server, creds, user, purpose=None):
    conn = psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user=user,
                           password=creds[user]["password"], autocommit=True)
    if purpose:
        conn.execute(f"SET zhongshu.purpose = '{purpose}'")
    return conn


def test_a_demand_becomes_a_grant_and_a_revocation_ends_it(lake):
    server, creds, data = lake
    filed = ok(share(data, "scjg_officer", "demand", "企业法定代表人的户籍和联系方式",
                     "--business", PURPOSE, "--basis", "《市场主体登记管理条例》", "--item", "姓名",
                     "--urgency", "urgent"))
    demand = int(re.search(r"demand (\d+) filed", filed).group(1))
    refused = share(data, "public_user", "demand", "x", "--business", "x", "--basis", "x")
    assert refused.returncode != 0 and "may not file sharing demands" in refused.stderr
    ok(share(data, "cdo", "match", str(demand), "--resource", PERSONS))

    # The identity number is on the negative list: asking for every column is refused with its basis.
    assert share(data, "gaj_officer", "negative-add", "resident-id", "--element", "resident_id",
                 "--basis", "x").returncode != 0  # the CDO keeps the list
    ok(share(data, "cdo", "negative-add", "resident-id", "--element", "resident_id",
             "--basis", "《居民身份证法》第十九条"))
    whole = share(data, "scjg_officer", "request", PERSONS, "--purpose", PURPOSE, "--basis", "《市场主体登记管理条例》")
    assert whole.returncode != 0 and "《居民身份证法》第十九条" in whole.stderr, whole.stderr

    asked = ok(share(data, "scjg_officer", "request", PERSONS, "--column", "name", "--column", "mobile",
                     "--column", "street_code", "--purpose", PURPOSE, "--basis", "《市场主体登记管理条例》",
                     "--days", "30", "--demand", str(demand)))
    request = int(re.search(r"request (\d+) on .* is pending", asked).group(1))
    with connect(server, creds, "scjg_officer", PURPOSE) as conn:
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT name FROM base.persons LIMIT 1").fetchall()

    # Only the owning department's data officer (or the CDO) decides; conditions narrow it.
    assert share(data, "rsj_officer", "approve", str(request)).returncode != 0
    approved = ok(share(data, "gaj_officer", "approve", str(request), "--column", "name", "--column", "mobile",
                        "--mask", "mobile=mobile", "--days", "7"))
    grant = int(re.search(r"granted: grant (\d+)", approved).group(1))
    again = share(data, "gaj_officer", "approve", str(request))
    assert again.returncode != 0 and "already granted" in again.stderr

    with connect(server, creds, "scjg_officer", PURPOSE) as conn:
        rows = conn.execute("SELECT name, mobile FROM base.persons WHERE mobile IS NOT NULL LIMIT 20").fetchall()
        assert rows and all("*" in m for _, m in rows), rows[:3]
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT street_code FROM base.persons LIMIT 1").fetchall()

    demands = json.loads(ok(share(data, "scjg_officer", "demands", "--json")))
    mine = next(d for d in demands if d["id"] == demand)
    assert mine["satisfied"] and mine["status"] == "matched"
    figures = json.loads(ok(share(data, "cdo", "metrics", "--json")))
    district = figures["district"]
    assert district["satisfied"] >= 1 and district["decided"] >= 1
    assert district["satisfaction_rate"] == district["satisfied"] / district["should_share"]
    assert district["grants_by_purpose"].get(PURPOSE) == 1

    # A renewal before expiry is a new request, decided like the first.
    renewed = ok(share(data, "scjg_officer", "renew", str(request)))
    assert "is pending" in renewed

    # Revoked, the grant ends at the next statement.
    out = run("grant", "revoke", str(grant), "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    with connect(server, creds, "scjg_officer", PURPOSE) as conn:
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT name FROM base.persons LIMIT 1").fetchall()
    after = json.loads(ok(share(data, "scjg_officer", "demands", "--json")))
    assert not next(d for d in after if d["id"] == demand)["satisfied"]
    ended = next(r for r in json.loads(ok(share(data, "scjg_officer", "requests", "--json"))) if r["id"] == request)
    assert ended["status"] == "granted" and ended["grant_in_force"] is False


def test_unconditional_is_granted_at_once_and_not_shared_is_the_cdos(lake, tmp_path):
    server, creds, data = lake
    at_once = ok(share(data, "rsj_user", "request", DIVISIONS, "--purpose", "就业补贴审核",
                       "--basis", "《就业促进法》", "--days", "30"))
    assert "granted: grant" in at_once, at_once
    listed = json.loads(ok(share(data, "rsj_user", "requests", "--json")))
    mine = next(r for r in listed if r["resource"] == DIVISIONS)
    assert mine["decided_by"] == "system:unconditional-sharing"

    resource = tmp_path / "restricted.toml"
    resource.write_text(f'''
id = "440310-GA-0099"
name = "在逃人员信息"
provider = "440310-gaj"
abstract_text = "不予共享的数据"
share_attr = "not_shared"
open_attr = "not_open"
update_cycle = "daily"
tier = "special"
[[columns]]
name = "case_no"
title = "案件编号"
data_type = "string"
nullable = false
is_key = true
description = ""
category = "public"
grade = "L2"
''')
    out = run("catalog", "register", str(resource), "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    # Another department may not even see it; the owner's officer may not decide it alone.
    hidden = share(data, "rsj_user", "request", "440310-GA-0099", "--purpose", "x", "--basis", "x")
    assert hidden.returncode != 0 and "does not exist" in hidden.stderr, hidden.stderr
    asked = ok(share(data, "gaj_officer", "request", "440310-GA-0099", "--purpose", "专项核查",
                     "--basis", "《刑事诉讼法》", "--days", "7", "--for-department"))
    request = int(re.search(r"request (\d+)", asked).group(1))
    assert "pending" in asked
    alone = share(data, "gaj_officer", "approve", str(request))
    assert alone.returncode != 0 and "chief data officer" in alone.stderr, alone.stderr
    assert share(data, "cdo", "reject", str(request), "--reason", " ").returncode != 0
    ok(share(data, "cdo", "reject", str(request), "--reason", "无法定依据支持的共享需求"))


def test_the_same_workflow_over_http(lake):
    import requests

    server, creds, _ = lake

    def call(method, user, path, body=None):
        return requests.request(method, f"{server}/api/v1{path}", json=body, timeout=30,
                                headers={"Authorization": f"Bearer {creds[user]['token']}"})

    filed = call("POST", "rsj_officer", "/demands", {"title": "参保人员的居住地址", "business": "社保待遇核查",
                                                     "legal_basis": "《社会保险法》"})
    assert filed.status_code == 200, filed.text
    demand = filed.json()["id"]
    assert call("POST", "public_user", "/demands", {"title": "x", "business": "x",
                                                    "legal_basis": "x"}).status_code == 403
    hidden = call("POST", "public_user", f"/demands/{demand}/decision", {"decision": "match", "resource": PERSONS})
    assert hidden.status_code == 404  # the public does not see another department's demand
    assert call("POST", "rsj_officer", f"/demands/{demand}/decision",
                {"decision": "match", "resource": PERSONS}).status_code == 200

    asked = call("POST", "rsj_officer", "/share-requests", {
        "resource": PERSONS, "columns": ["household_address"], "purpose": "社保待遇核查",
        "legal_basis": "《社会保险法》", "days": 14, "demand": demand, "for_department": True})
    assert asked.status_code == 200, asked.text
    request = asked.json()["request"]
    assert request["status"] == "pending" and request["grantee"] == {"kind": "org", "id": "440310-rsj"}, request
    rid = request["id"]
    # Another department's officer neither decides nor sees it.
    assert call("POST", "scjg_officer", f"/share-requests/{rid}/decision",
                {"decision": "approve"}).status_code == 404
    inbox = call("GET", "gaj_officer", "/share-requests").json()["items"]
    assert any(r["id"] == rid and r["decidable"] for r in inbox)
    approved = call("POST", "gaj_officer", f"/share-requests/{rid}/decision",
                    {"decision": "approve", "conditions": {"masks": {"household_address": "address"}, "days": 3}})
    assert approved.status_code == 200, approved.text
    grant = approved.json()["grant"]
    assert grant["masks"] == {"household_address": "address"} and grant["purpose"] == "社保待遇核查"
    assert any(g["id"] == grant["id"] for g in call("GET", "gaj_officer", "/grants").json()["items"])
    assert call("DELETE", "scjg_officer", f"/grants/{grant['id']}").status_code == 404
    assert call("DELETE", "gaj_officer", f"/grants/{grant['id']}").status_code == 200
    figures = call("GET", "cdo", "/sharing/metrics").json()
    assert figures["district"]["demands"] >= 1 and "departments" in figures


def test_the_owner_decides_in_the_console(lake, browser):  # noqa: F811
    import html
    import requests  # noqa: F401
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from test_console import browser_sign_in, form_token, shot, signed_in

    server, creds, _ = lake
    officer = signed_in(server, creds, "rsj_officer")
    page = officer.get(f"{server}/console/sharing/request", params={"resource": PERSONS}, timeout=30)
    assert page.status_code == 200 and 'value="household_address"' in page.text
    filed = officer.post(f"{server}/console/sharing/requests", allow_redirects=False, timeout=30, data=[
        ("form_token", form_token(page.text)), ("resource", PERSONS), ("columns", "name"),
        ("columns", "sex"), ("purpose", "就业困难人员认定"), ("legal_basis", "《就业促进法》"), ("days", "60")])
    assert filed.status_code == 303 and "done=requested" in filed.headers["location"], filed.text[:300]
    listed = html.unescape(officer.get(f"{server}/console/sharing", timeout=30).text)
    rid = max(int(i) for i in re.findall(r'id="request-(\d+)"', listed))
    assert "name, sex" in listed
    # The public sees none of it, and cannot decide it.
    public = signed_in(server, creds, "public_user")
    mine = public.get(f"{server}/console/sharing", timeout=30).text
    assert f'id="request-{rid}"' not in mine
    assert public.post(f"{server}/console/sharing/requests/{rid}/decision", allow_redirects=False, timeout=30,
                       data={"form_token": form_token(mine), "decision": "approve"}).status_code == 404

    b = browser
    browser_sign_in(b, server, creds, "gaj_officer")
    b.get(f"{server}/console/sharing")
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, f"request-{rid}"))
    row = b.find_element(By.ID, f"request-{rid}")
    row.find_element(By.TAG_NAME, "summary").click()
    b.find_element(By.ID, f"masks-{rid}").send_keys("name=name")
    b.find_element(By.ID, f"days-{rid}").send_keys("30")
    shot(b, "60-sharing-inbox-zh")
    b.find_element(By.ID, f"approve-{rid}").click()
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "notice"))
    assert "已授权" in b.find_element(By.ID, f"request-{rid}").text
    for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
        b.get(f"{server}/console/lang?to={lang}&next=/console/sharing")
        for tab, element in (("requests", "requests-table"), ("demands", "demands-table"), ("metrics", "metrics-table")):
            b.get(f"{server}/console/sharing?tab={tab}")
            WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, element))
            assert not re.search(r"\bsharing\.[a-z_]+\b", b.find_element(By.TAG_NAME, "main").text)
            shot(b, f"61-sharing-{tab}-{suffix}")
    b.get(f"{server}/console/sharing/request?resource={PERSONS}")
    WebDriverWait(b, 20).until(lambda d: d.find_elements(By.ID, "request-form"))
    shot(b, "62-share-request-en")
