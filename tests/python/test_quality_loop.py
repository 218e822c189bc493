"""The quality loop: rules applied at ingest (error quarantines, warn flags) with an evaluation
after every run; incidents when a metric jumps; profiling with suggested rules; the per-resource
report (read in headless Chromium); and objections (数据纠错) travelling over HTTP from filing to
a corrected table version, read back with the deltalake package."""

import json
import os
import shutil
import subprocess
import tempfile

import polars as pl
import pytest
import requests
from deltalake import DeltaTable

from conftest import serving, zhongshu_bin

ENROLMENTS = "440310-RS-0001"
CREDIT = "440310-FG-0001"


def zs(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU__")}
    return subprocess.run([zhongshu_bin(), *args], capture_output=True, text=True, env=env, timeout=300)


def ok(*args):
    out = zs(*args)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def id_no(n: int, valid: bool = True) -> str:
    body = f"44031019900101{n:03d}"[:17]
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    if not valid:
        check = "10X98765432"[("10X98765432".index(check) + 1) % 11]
    return body + check


@pytest.fixture()
def data(tmp_path):
    data = tmp_path / "data"
    ok("demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data))
    return data


def location(data, resource):
    detail = json.loads(ok("catalog", "resource", resource, "--json", "--data-dir", str(data)))
    return [t["location"] for t in detail["tables"] if t["name"] == "main"][0]


def table(data, resource) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(location(data, resource)).to_pyarrow_table())


def test_error_rules_quarantine_and_warn_rules_flag_at_ingest(tmp_path, data):
    rules = tmp_path / "rules.toml"
    rules.write_text(f'''
[[rules]]
id = "rs-id-digit"
resource = "{ENROLMENTS}"
column = "id_no"
kind = "check_digit"
validator = "resident_id"
severity = "error"

[[rules]]
id = "rs-base-cap"
resource = "{ENROLMENTS}"
column = "monthly_base"
kind = "range"
max = 6000
severity = "warn"
''')
    ok("quality", "add", str(rules), "--data-dir", str(data))
    rows = (
        [(id_no(n), 5000) for n in range(5)]              # clean
        + [(id_no(n), 7000) for n in range(5, 8)]         # high base: landed and flagged
        + [(id_no(n, False), 5000) for n in range(8, 10)]  # bad check digit: quarantined
        + [(id_no(10, False), 7000)]                      # both: quarantined, not flagged
    )
    (data / "incoming/loop").mkdir(parents=True)
    (data / "incoming/loop/a.csv").write_text(
        "id_no,name,insurance_type,employer_uscc,status,enrolled_on,monthly_base\n"
        + "".join(f"{i},测试,失业保险,,正常参保,2026-11-01,{b}\n" for i, b in rows))
    job = tmp_path / "job.toml"
    job.write_text(f'''
id = "loop"
resource = "{ENROLMENTS}"
[source]
kind = "files"
dir = "incoming/loop"
format = "csv"
encoding = "utf8"
''')
    ok("ingest", "create", str(job), "--data-dir", str(data))
    before = table(data, ENROLMENTS).height
    out = ok("ingest", "run", "loop", "--data-dir", str(data))
    assert "quality:" in out and "rs-base-cap" in out, out

    run = json.loads(ok("ingest", "history", "loop", "--json", "--data-dir", str(data)))[0]
    assert (run["rows_read"], run["rows_written"], run["rows_quarantined"]) == (11, 8, 3)
    assert run["rows_read"] == run["rows_written"] + run["rows_quarantined"]
    # Every landed row lacks an employer, which the demo's warn rule flags.
    assert run["rows_flagged"] == 8 and run["flag_version"] is not None
    assert table(data, ENROLMENTS).height == before + 8

    quarantined = json.loads(ok("ingest", "quarantine", "loop", "--json", "--data-dir", str(data)))
    assert sorted(q["line"] for q in quarantined) == ["10", "11", "12"]
    assert {q["rule"] for q in quarantined} == {"rule:rs-id-digit"}
    assert all(q["column"] == "id_no" for q in quarantined), quarantined
    flagged = json.loads(ok("ingest", "quarantine", "loop", "--flagged", "--json", "--data-dir", str(data)))
    by_rule = {}
    for f in flagged:
        by_rule.setdefault(f["rule"], []).append(int(f["line"]))
    assert sorted(by_rule["rule:rs-base-cap"]) == [7, 8, 9]
    assert len(by_rule["rule:enrolments-employer-present"]) == 8

    # The evaluation after the commit covers the whole table, recorded with the run's trigger.
    history = json.loads(ok("quality", "results", ENROLMENTS, "--history", "--json", "--data-dir", str(data)))
    after = {r["rule"]: r for r in history if r["trigger"] == "ingest:loop#1"}
    landed = table(data, ENROLMENTS)
    assert after["rs-base-cap"]["rows_failed"] == landed.filter(pl.col("monthly_base") > 6000).height
    assert after["rs-base-cap"]["rows_checked"] == landed.height


def deliver(tmp_path, data, name, rows):
    """Lands `rows` enrolments (no employer) through a new append job `name`."""
    (data / f"incoming/{name}").mkdir(parents=True)
    (data / f"incoming/{name}/a.csv").write_text(
        "id_no,name,insurance_type,employer_uscc,status,enrolled_on,monthly_base\n"
        + "".join(f"{id_no(n)},测试,工伤保险,,正常参保,2026-11-01,5000\n" for n in rows))
    job = tmp_path / f"{name}.toml"
    job.write_text(f'''
id = "{name}"
resource = "{ENROLMENTS}"
[source]
kind = "files"
dir = "incoming/{name}"
format = "csv"
encoding = "utf8"
''')
    ok("ingest", "create", str(job), "--data-dir", str(data))
    ok("ingest", "run", name, "--data-dir", str(data))


def test_a_jump_in_row_count_raises_an_incident(tmp_path, data):
    # Evaluations of an unchanged table add nothing to the series.
    for _ in range(3):
        ok("quality", "check", ENROLMENTS, "--data-dir", str(data))
    # Four steady deliveries of 5 rows (each evaluated after its run): no incident.
    for k in range(4):
        deliver(tmp_path, data, f"steady{k}", range(100 + 5 * k, 105 + 5 * k))
    assert json.loads(ok("quality", "incidents", ENROLMENTS, "--json", "--data-dir", str(data))) == []
    current = table(data, ENROLMENTS).height
    extra = max(current // 2, 50)
    deliver(tmp_path, data, "jump", range(200, 200 + extra))
    incidents = json.loads(ok("quality", "incidents", ENROLMENTS, "--json", "--data-dir", str(data)))
    counts = [i for i in incidents if i["metric"] == "row_count"]
    assert len(counts) == 1, incidents
    assert counts[0]["observed"] == current + extra and counts[0]["expected"] == current + 5
    assert counts[0]["observed"] > counts[0]["high"]
    # The new rows have no employer: if anything else jumped, it is that column's null rate.
    landed = table(data, ENROLMENTS)
    for i in incidents:
        if i["metric"] == "null_rate":
            assert i["column"] == "employer_uscc", incidents
            assert abs(i["observed"] - landed["employer_uscc"].null_count() / landed.height) < 1e-9
    for i in incidents:
        ok("quality", "resolve", str(i["id"]), "--data-dir", str(data))
    assert json.loads(ok("quality", "incidents", ENROLMENTS, "--json", "--data-dir", str(data))) == []
    # A check of the unchanged table judges nothing, so nothing reopens.
    ok("quality", "check", ENROLMENTS, "--data-dir", str(data))
    assert json.loads(ok("quality", "incidents", ENROLMENTS, "--json", "--data-dir", str(data))) == []


def test_profile_suggests_rules_that_can_be_accepted(tmp_path, data):
    profile = json.loads(ok("quality", "profile", CREDIT, "--json", "--data-dir", str(data)))
    credit = table(data, CREDIT)
    columns = {c["column"]: c for c in profile["columns"]}
    assert profile["rows"] == credit.height
    level = columns["credit_level"]
    assert level["distinct"] == credit["credit_level"].drop_nulls().n_unique()
    assert level["nulls"] == credit["credit_level"].null_count()
    top = credit.drop_nulls("credit_level").group_by("credit_level").len().sort("len", descending=True)
    assert level["top_values"][0]["count"] == top["len"][0]
    # Patterns: digit → 9, Latin letter → A, Han → 汉.
    def shape(v):
        return "".join("9" if c.isdigit() else "A" if c.isascii() and c.isalpha()
                       else "汉" if "\u4e00" <= c <= "\u9fff" else c for c in v)
    shapes = credit["uscc"].drop_nulls().map_elements(shape, return_dtype=pl.Utf8).value_counts(sort=True)
    assert columns["uscc"]["patterns"][0]["count"] == shapes["count"][0]
    assert columns["uscc"]["patterns"][0]["value"] == shapes["uscc"][0]
    kinds = {(s.get("column"), s["kind"]) for s in profile["suggestions"]}
    assert ("credit_level", "code_list") in kinds, kinds
    assert all(s["severity"] == "warn" for s in profile["suggestions"])

    suggested = tmp_path / "suggested.toml"
    ok("quality", "profile", CREDIT, "--rules", str(suggested), "--data-dir", str(data))
    ok("quality", "add", str(suggested), "--data-dir", str(data))
    rules = json.loads(ok("quality", "rules", "--json", "--data-dir", str(data)))
    assert {s["id"] for s in profile["suggestions"]} <= {r["id"] for r in rules}
    # Accepted suggestions hold on the data they were suggested from.
    results = json.loads(ok("quality", "check", CREDIT, "--json", "--data-dir", str(data)))["results"]
    suggested_ids = {s["id"] for s in profile["suggestions"]}
    assert all(r["rows_failed"] == 0 for r in results if r["rule"] in suggested_ids), results


def test_report_in_markdown_and_in_a_browser(tmp_path, data):
    md = ok("quality", "report", ENROLMENTS, "--data-dir", str(data))
    assert md.startswith(f"# 数据质量报告 · {ENROLMENTS}")
    assert "enrolments-unique" in md and "## 规则结果 Rule results" in md
    page = tmp_path / "report.html"
    ok("quality", "report", ENROLMENTS, "--format", "html", "-o", str(page), "--data-dir", str(data))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is installed by scripts/test.sh"
    with tempfile.TemporaryDirectory() as profile_dir:
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile_dir}", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    scores = json.loads(ok("quality", "score", ENROLMENTS, "--json", "--data-dir", str(data)))
    assert f'id="score">{scores[0]["score"]:.1f}<' in dom.stdout
    results = json.loads(ok("quality", "results", ENROLMENTS, "--json", "--data-dir", str(data)))
    rows = dom.stdout.split('<table id="results">')[1].split("</table>")[0].count("<tr>") - 1
    assert rows == len(results)
    # Examples are masked: no full resident ID number of the table appears in the page.
    ids = table(data, ENROLMENTS)["id_no"].to_list()
    assert not any(i in dom.stdout for i in ids if i)


def test_an_objection_travels_from_filing_to_a_corrected_version(data):
    creds = {p["username"]: p["token"] for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}
    credit = table(data, CREDIT)
    uscc = credit["uscc"][0]
    old_level = credit["credit_level"][0]
    new_level = "Z-更正" if old_level != "Z-更正" else "Y-更正"
    version_before = DeltaTable(location(data, CREDIT)).version()
    with serving(data) as base:
        def call(method, path, user, **kw):
            return requests.request(method, base + "/api/v1" + path,
                                    headers={"Authorization": f"Bearer {creds[user]}"}, timeout=60, **kw)
        body = {"resource": CREDIT, "record_key": {"uscc": uscc}, "column": "credit_level",
                "current_value": old_level, "proposed_value": new_level,
                "evidence": "深圳市公共信用中心 2026-11-20 复核结论"}
        # 社会保险参保信息 is conditionally shared: another department cannot see its records.
        refused = call("POST", "/objections", "scjg_officer",
                       json={**body, "resource": ENROLMENTS, "record_key": {"id_no": "x", "insurance_type": "y"}})
        assert refused.status_code == 403, refused.text
        key_column = call("POST", "/objections", "scjg_officer", json={**body, "column": "uscc"})
        assert key_column.status_code == 400 and "key column" in key_column.json()["error"]["message"]
        missing = call("POST", "/objections", "scjg_officer", json={**body, "record_key": {"uscc": "NOPE"}})
        assert missing.status_code == 400 and "no record" in missing.json()["error"]["message"]
        filed = call("POST", "/objections", "scjg_officer", json=body)
        assert filed.status_code == 201, filed.text
        first = filed.json()
        assert first["owner"] == "440310-fgj" and first["status"] == "open"
        second = call("POST", "/objections", "scjg_officer", json={**body, "proposed_value": "A"}).json()

        # Open objections count against the owning department.
        rank = {d["department"]: d for d in call("GET", "/quality/rank", "cdo").json()["items"]}
        assert rank["440310-fgj"]["open_objections"] == 2 and rank["440310-fgj"]["objection_penalty"] == 2
        # The filer sees their objections; an unrelated department sees none.
        assert {o["id"] for o in call("GET", "/objections", "scjg_officer").json()["items"]} == {first["id"], second["id"]}
        assert call("GET", "/objections", "rsj_officer").json()["items"] == []
        # Only the owner (or an administrator) decides; the filer may read but not decide, and
        # to another department the objection does not exist.
        assert call("POST", f"/objections/{first['id']}/accept", "scjg_officer", json={}).status_code == 403
        assert call("POST", f"/objections/{first['id']}/accept", "rsj_officer", json={}).status_code == 404
        accepted = call("POST", f"/objections/{first['id']}/accept", "admin", json={"note": "已核实"})
        assert accepted.status_code == 200, accepted.text
        accepted = accepted.json()
        assert accepted["status"] == "accepted" and accepted["table_version"] == version_before + 1
        again = call("POST", f"/objections/{first['id']}/accept", "admin", json={})
        assert again.status_code == 400 and "already" in again.json()["error"]["message"]
        assert call("POST", f"/objections/{second['id']}/reject", "admin", json={"reason": ""}).status_code == 400
        rejected = call("POST", f"/objections/{second['id']}/reject", "admin", json={"reason": "原记录有效"}).json()
        assert rejected["status"] == "rejected" and rejected["decision_reason"] == "原记录有效"
        rank = {d["department"]: d for d in call("GET", "/quality/rank", "cdo").json()["items"]}
        assert rank["440310-fgj"]["open_objections"] == 0
        # The report shows a reader only the objections they may read.
        report = call("GET", f"/quality/report/{CREDIT}?format=json", "rsj_officer").json()
        assert report["objections"] == []
        report = call("GET", f"/quality/report/{CREDIT}?format=json", "scjg_officer").json()
        assert {o["id"] for o in report["objections"]} == {first["id"], second["id"]}
        # Profiles are for the owning department, administrators and CDOs.
        assert call("GET", f"/quality/profile/{CREDIT}", "scjg_officer").status_code == 403
        assert call("GET", f"/quality/profile/{CREDIT}", "cdo").json()["rows"] == credit.height

    corrected = DeltaTable(location(data, CREDIT))
    assert corrected.version() == accepted["table_version"]
    after = pl.from_arrow(corrected.to_pyarrow_table())
    assert after.height == credit.height
    assert after.filter(pl.col("uscc") == uscc)["credit_level"].to_list() == [new_level]
    # Only that record changed.
    unchanged = after.filter(pl.col("uscc") != uscc).sort("uscc")
    assert unchanged.equals(credit.filter(pl.col("uscc") != uscc).sort("uscc"))
    # The catalog follows the new version, and the decision is in the change log.
    detail = json.loads(ok("catalog", "resource", CREDIT, "--json", "--data-dir", str(data)))
    assert [t["version"] for t in detail["tables"] if t["name"] == "main"] == [accepted["table_version"]]
    listed = json.loads(ok("objection", "list", "--json", "--data-dir", str(data)))
    # The demo's own objection (filed by the street on a late grid event) stays open.
    mine = [o["status"] for o in listed if o["resource"] == CREDIT]
    assert mine == ["accepted", "rejected"]
    assert [o["status"] for o in listed if o["resource"] != CREDIT] == ["open"]


def test_objections_from_the_cli(data):
    credit = table(data, CREDIT)
    source = table(data, "440310-SC-0001").select("uscc", pl.col("org_name").alias("source_name"))
    agreeing = credit.join(source, on="uscc").filter(pl.col("org_name") == pl.col("source_name"))
    uscc = agreeing["uscc"][0]
    def conflicts():
        results = json.loads(ok("quality", "results", CREDIT, "--json", "--data-dir", str(data)))
        return [r for r in results if r["rule"].startswith("consistency:") and r["column"] == "org_name"][0]["rows_failed"]
    before = conflicts()
    out = zs("objection", "file", CREDIT, "--key", f"uscc={uscc}", "--column", "org_name",
             "--value", "新名称有限公司", "--evidence", "营业执照变更", "--as", "scjg_officer",
             "--json", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    o = json.loads(out.stdout)
    denied = zs("objection", "accept", str(o["id"]), "--as", "scjg_officer", "--data-dir", str(data))
    assert denied.returncode != 0 and "cannot decide" in denied.stderr
    hidden = zs("objection", "accept", str(o["id"]), "--as", "rsj_officer", "--data-dir", str(data))
    assert hidden.returncode != 0 and "does not exist" in hidden.stderr, hidden.stderr
    done = json.loads(ok("objection", "accept", str(o["id"]), "--json", "--data-dir", str(data)))
    assert done["status"] == "accepted"
    after = table(data, CREDIT)
    assert after.filter(pl.col("uscc") == uscc)["org_name"].to_list() == ["新名称有限公司"]
    # The correction now disagrees with 法人库, the source of 企业名称: consistency finds it.
    ok("quality", "check", CREDIT, "--data-dir", str(data))
    assert conflicts() == before + 1


def test_serve_evaluates_on_its_quality_schedule(data):
    config = data / "zhongshu.toml"
    text = config.read_text() if config.exists() else ""
    if "[quality]" in text:
        text = "\n".join(l for l in text.splitlines() if not l.startswith("schedule ="))
        text = text.replace("[quality]", '[quality]\nschedule = "*/2 * * * * *"')
    else:
        text += '\n[quality]\nschedule = "*/2 * * * * *"\n'
    config.write_text(text)
    import time
    with serving(data):
        deadline = time.monotonic() + 30
        scheduled = []
        while time.monotonic() < deadline and not scheduled:
            time.sleep(1)
            history = json.loads(ok("quality", "results", "--history", "--json", "--data-dir", str(data)))
            scheduled = [r for r in history if r["trigger"] == "schedule"]
    assert scheduled, "no scheduled evaluation within 30 s"
    # A scheduled evaluation covers every rule, like `quality check`.
    rules = {r["id"] for r in json.loads(ok("quality", "rules", "--json", "--data-dir", str(data)))}
    evaluation = scheduled[0]["evaluation"]
    assert rules <= {r["rule"] for r in scheduled if r["evaluation"] == evaluation}
