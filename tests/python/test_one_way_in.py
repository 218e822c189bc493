"""One way in (issue 14): every door decides access with the same Cedar authorizer.

- As every demo principal, the resources the HTTP catalogue lists, search finds and quality
  results and reports cover are exactly those whose tables `information_schema` shows over
  pgwire; a hidden resource answers 404 like a missing one.
- A custom Cedar policy that forbids a data officer from deciding objections is obeyed over
  HTTP and the CLI.
- Filing an objection on a record the filer's row filter hides answers exactly as for a key
  that does not exist.
- System reads name their reason in the access audit log.
"""

import json

import polars as pl
import psycopg
import pytest
import requests
from deltalake import DeltaTable

from conftest import run as zs
from conftest import serving

PERSONS = "440310-GA-0001"
ENROLMENTS = "440310-RS-0001"


def ok(*args):
    out = zs(*args)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    data = tmp_path_factory.mktemp("one-way-in") / "data"
    ok("demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data))
    return data


@pytest.fixture(scope="module")
def creds(data):
    return {p["username"]: p for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}


def http(base, creds, user):
    def call(method, path, **kw):
        return requests.request(method, base + "/api/v1" + path,
                                headers={"Authorization": f"Bearer {creds[user]['token']}"}, timeout=60, **kw)
    return call


def pg_tables(server, creds, user):
    with psycopg.connect(host=server.pg_host, port=server.pg_port, dbname="zhongshu", user=user,
                         password=creds[user]["password"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog', 'audit')").fetchall()
    return {f"{s}.{t}" for s, t in rows}


def table_names(detail):
    """The governed names (`schema.name`) of a resource's tables: its path's first and last parts."""
    return {f"{t['path'].split('/')[0]}.{t['path'].split('/')[-1]}" for t in detail["tables"]}


def test_every_door_shows_each_principal_the_same_resources(data, creds):
    with serving(data) as server:
        admin = http(server, creds, "admin")
        everything = {}
        page = 1
        while True:
            listed = admin("GET", f"/resources?page={page}&page_size=10").json()
            for r in listed["items"]:
                everything[r["id"]] = admin("GET", f"/resources/{r['id']}").json()
            if page * 10 >= listed["total"]:
                break
            page += 1
        assert len(everything) >= 10
        compared = 0
        for user in creds:
            call = http(server, creds, user)
            listed = call("GET", "/resources?page_size=500").json()
            visible = {r["id"] for r in listed["items"]}
            assert listed["total"] == len(visible), user
            tables = set().union(*(table_names(everything[r]) for r in visible)) if visible else set()
            assert tables == pg_tables(server, creds, user), user
            hidden = set(everything) - visible
            for rid in hidden:
                missing = call("GET", f"/resources/{rid}")
                assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", (user, rid)
                assert call("GET", f"/resources/{rid}X").json() == {
                    "error": {"code": "not_found", "message": missing.json()["error"]["message"].replace(rid, rid + "X")}}
                assert call("GET", f"/quality/report/{rid}?format=json").status_code == 404, (user, rid)
                assert call("GET", f"/quality/results?resource={rid}").status_code == 404, (user, rid)
                # Searching for a hidden resource by its own name finds nothing of it.
                hits = call("GET", "/search", params={"q": everything[rid]["name"]}).json()["hits"]
                assert rid not in {h["id"] for h in hits}, (user, rid)
            for rid in visible:
                assert call("GET", f"/resources/{rid}").status_code == 200, (user, rid)
            results = call("GET", "/quality/results").json()["items"]
            assert {r["resource"] for r in results} <= visible, user
            # Failing examples only where the principal may read.
            scores = {s["resource"] for s in call("GET", "/quality/scores").json()["items"]}
            assert scores <= visible, user
            incidents = {i["resource"] for i in call("GET", "/quality/incidents?all=true").json()["items"]}
            assert incidents <= visible, user
            hits = call("GET", "/search", params={"q": "信息", "page_size": 500}).json()
            assert {h["id"] for h in hits["hits"]} <= visible and hits["total"] == len(hits["hits"]), user
            compared += 1
        assert compared == len(creds)
        # The public sees less than a department, which sees less than an administrator.
        public = {r["id"] for r in http(server, creds, "public_user")("GET", "/resources?page_size=500").json()["items"]}
        officer = {r["id"] for r in http(server, creds, "rsj_officer")("GET", "/resources?page_size=500").json()["items"]}
        assert public < officer <= set(everything)
        # Results on a resource the public may discover carry no failing examples unless it may read it.
        results = http(server, creds, "admin")("GET", "/quality/results").json()["items"]
        assert any(r["examples"] for r in results)


def test_the_bearer_scheme_is_case_insensitive(data, creds):
    with serving(data) as base:
        for scheme in ["Bearer", "bearer", "BEARER"]:
            r = requests.get(base + "/api/v1/me", headers={"Authorization": f"{scheme} {creds['cdo']['token']}"}, timeout=30)
            assert r.status_code == 200 and r.json()["id"] == "cdo", scheme
        r = requests.get(base + "/api/v1/me", headers={"Authorization": "Basic abc"}, timeout=30)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


def enrolment_key(data):
    detail = json.loads(ok("catalog", "resource", ENROLMENTS, "--json", "--data-dir", str(data)))
    location = [t["location"] for t in detail["tables"] if t["name"] == "main"][0]
    row = pl.from_arrow(DeltaTable(location).to_pyarrow_table()).row(0, named=True)
    keys = [c["name"] for c in detail["columns"] if c["is_key"]]
    column = next(c["name"] for c in detail["columns"] if not c["is_key"] and c["data_type"] in ("string", "text", "utf8"))
    return {k: str(row[k]) for k in keys}, column


def test_a_custom_policy_forbids_deciding_objections_at_every_door(data, creds, tmp_path):
    key, column = enrolment_key(data)
    body = {"resource": ENROLMENTS, "record_key": key, "column": column, "proposed_value": "更正值",
            "evidence": "人社局窗口核实"}
    policy = tmp_path / "no-decisions.cedar"
    policy.write_text('forbid(principal == Zhongshu::Principal::"rsj_officer", '
                      'action == Zhongshu::Action::"decide_objection", resource);')
    with serving(data) as base:
        filed = http(base, creds, "rsj_user")("POST", "/objections", json=body)
        assert filed.status_code == 201, filed.text
        first = filed.json()["id"]
        second = http(base, creds, "rsj_user")("POST", "/objections", json={**body, "proposed_value": "另一值"}).json()["id"]
    ok("policy", "add", "rsj-officer-decides-nothing", "--file", str(policy), "--data-dir", str(data))
    try:
        with serving(data) as base:
            officer = http(base, creds, "rsj_officer")
            # Still readable (the inbox is the department's), no longer decidable.
            assert officer("GET", f"/objections/{first}").status_code == 200
            refused = officer("POST", f"/objections/{first}/accept", json={})
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "forbidden"
            assert officer("POST", f"/objections/{first}/reject", json={"reason": "无"}).status_code == 403
        cli = zs("objection", "reject", str(second), "--reason", "无", "--as", "rsj_officer", "--data-dir", str(data))
        assert cli.returncode == 1 and "cannot decide" in cli.stderr, cli.stderr
    finally:
        ok("policy", "remove", "rsj-officer-decides-nothing", "--data-dir", str(data))
    # Without the policy the same officer decides.
    done = json.loads(ok("objection", "reject", str(second), "--reason", "原值有效", "--as", "rsj_officer",
                         "--json", "--data-dir", str(data)))
    assert done["status"] == "rejected"


def test_an_objection_on_a_row_hidden_by_the_row_filter_looks_like_a_missing_one(data, creds):
    detail = json.loads(ok("catalog", "resource", PERSONS, "--json", "--data-dir", str(data)))
    location = [t["location"] for t in detail["tables"] if t["name"] == "main"][0]
    persons = pl.from_arrow(DeltaTable(location).to_pyarrow_table())
    with serving(data) as base:
        street = http(base, creds, "pingshan_street")
        jurisdiction = street("GET", "/me").json()["attributes"]["jurisdiction"]
        assert jurisdiction
        inside = persons.filter(pl.col("street_code").is_in(jurisdiction))["id_no"][0]
        outside = persons.filter(~pl.col("street_code").is_in(jurisdiction))["id_no"][0]
        # The street's own grant, with the key unmasked so that its staff can name their records.
        ok("grant", "create", PERSONS, "--principal", "pingshan_street", "--columns", "id_no,name,street_code",
           "--filter", "street_code IN (principal.jurisdiction)", "--mask", "id_no=none", "--data-dir", str(data))

        def file(id_no):
            return street("POST", "/objections", json={"resource": PERSONS, "record_key": {"id_no": id_no},
                                                         "column": "name", "proposed_value": "张三",
                                                         "evidence": "入户核实"})

        assert file(inside).status_code == 201
        hidden, missing = file(outside), file("440310199001019999")
        assert hidden.status_code == missing.status_code == 400
        assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
        assert hidden.json()["error"]["message"].replace(outside, "KEY") == \
            missing.json()["error"]["message"].replace("440310199001019999", "KEY")
    # The lookups ran through the street's governed session, so the audit holds them.
    audit = ok("audit", "queries", "--limit", "100000", "--data-dir", str(data))
    street_lookups = [line for line in audit.splitlines() if "pingshan_street" in line and "workflow" in line]
    assert len(street_lookups) >= 3, audit[-3000:]


def test_system_reads_name_their_reason_in_the_audit_log(data):
    audit = ok("audit", "queries", "--limit", "100000", "--data-dir", str(data))
    assert "system:quality" in audit
    ok("catalog", "scan", PERSONS, "--sample", "50", "--data-dir", str(data))
    audit = ok("audit", "queries", "--limit", "100000", "--data-dir", str(data))
    assert "system:discovery" in audit
    ok("audit", "verify", "--data-dir", str(data))


def test_a_custom_policy_forbids_the_public_to_download_at_every_door(data, creds, tmp_path):
    policy = tmp_path / "no-downloads.cedar"
    policy.write_text('forbid(principal == Zhongshu::Principal::"public_user", '
                      'action == Zhongshu::Action::"download", resource);')

    def http_sql(base, fmt):
        return requests.post(f"{base}/api/v1/sql?format={fmt}", data=f"SELECT * FROM {table} LIMIT 3",
                             headers={"Authorization": f"Bearer {creds['public_user']['token']}"}, timeout=60)

    with serving(data) as server:
        tables = sorted(pg_tables(server, creds, "public_user"))
        assert tables, "the public sees some open data"
        table = tables[0]
        assert http_sql(server, "csv").status_code == 200
    ok("policy", "add", "public-downloads-nothing", "--file", str(policy), "--data-dir", str(data))
    try:
        with serving(data) as server:
            assert http_sql(server, "json").status_code == 200
            for fmt in ["csv", "arrow", "parquet"]:
                refused = http_sql(server, fmt)
                assert refused.status_code == 403, (fmt, refused.text)
                assert "downloaded" in refused.text
            # Another principal is not affected.
            other = requests.post(f"{server}/api/v1/sql?format=csv", data=f"SELECT * FROM {table} LIMIT 3",
                                  headers={"Authorization": f"Bearer {creds['cdo']['token']}"}, timeout=60)
            assert other.status_code == 200, other.text
        cli = zs("sql", "--as", "public_user", "--format", "csv", f"SELECT * FROM {table} LIMIT 3",
                 "--data-dir", str(data))
        assert cli.returncode == 1 and "downloaded" in cli.stderr, cli.stderr
        ok("sql", "--as", "public_user", "--format", "table", f"SELECT * FROM {table} LIMIT 3", "--data-dir", str(data))
    finally:
        ok("policy", "remove", "public-downloads-nothing", "--data-dir", str(data))


def test_management_commands_are_decided_by_cedar(data):
    detail = json.loads(ok("catalog", "resource", PERSONS, "--json", "--data-dir", str(data)))
    column = next(c for c in detail["columns"] if c["name"] == "mobile")
    args = ["catalog", "classify", PERSONS, "mobile", "--category", column["category"], "--grade", column["grade"]]
    # Another department's officer may see the resource but not classify it.
    refused = zs(*args, "--as", "rsj_officer", "--data-dir", str(data))
    assert refused.returncode == 1 and "may not classify" in refused.stderr, refused.stderr
    # The public may not even discover it: it does not exist for them.
    hidden = zs(*args, "--as", "public_user", "--data-dir", str(data))
    assert hidden.returncode == 1 and "does not exist" in hidden.stderr, hidden.stderr
    # The owning department's data officer may.
    ok(*args, "--as", "gaj_officer", "--data-dir", str(data))
    rules = data.parent / "rules.toml"
    rules.write_text(f'[[rules]]\nid = "mobile-present"\nresource = "{PERSONS}"\ncolumn = "mobile"\n'
                     'kind = "not_null"\nseverity = "warn"\n')
    refused = zs("quality", "add", str(rules), "--as", "scjg_officer", "--data-dir", str(data))
    assert refused.returncode == 1 and "may not manage rules" in refused.stderr, refused.stderr
    ok("quality", "add", str(rules), "--as", "gaj_officer", "--data-dir", str(data))


def test_consistency_examples_show_the_source_only_to_its_readers(data, creds):
    with serving(data) as base:
        officer = http(base, creds, "rsj_officer")
        results = officer("GET", f"/quality/results?resource={ENROLMENTS}").json()["items"]
        conflict = next(r for r in results if r["rule"] == "consistency:person_name")
        assert conflict["rows_failed"] > 0 and conflict["examples"], conflict
        # 人力资源局 reads its own replica, not 公安分局's register without the purpose grant.
        assert all("value" in e and "source_value" not in e for e in conflict["examples"]), conflict
        # The register's owner reads the register, but not the bureau's conditional replica.
        hidden = http(base, creds, "gaj_officer")("GET", f"/quality/results?resource={ENROLMENTS}").json()["items"]
        assert all(not r["examples"] for r in hidden), hidden


def test_the_ranking_and_coverage_count_what_each_principal_may_assess(data, creds, tmp_path):
    """Government principals see the district's assessment figures whole; the public sees them
    over what is open; a custom `forbid` on `assess` narrows them to what the principal discovers."""
    def steady(ranking):
        """The ranking without the figures that grow with the age of open objections."""
        return [{k: d[k] for k in ("department", "data_score", "evaluated", "resources", "open_objections")}
                for d in ranking]

    operator_rank = steady(json.loads(ok("quality", "rank", "--json", "--data-dir", str(data))))
    assert len(operator_rank) >= 3
    operator_coverage = ok("catalog", "coverage", "--data-dir", str(data))
    with serving(data) as base:
        admin = http(base, creds, "admin")
        resources = admin("GET", "/resources?page_size=500").json()["items"]
        provider = {r["id"]: r["provider"] for r in resources}
        for user in ["admin", "cdo", "rsj_user", "pingshan_street"]:
            assert steady(http(base, creds, user)("GET", "/quality/rank").json()["items"]) == operator_rank, user
        public = http(base, creds, "public_user")
        open_ids = {r["id"] for r in public("GET", "/resources?page_size=500").json()["items"]}
        public_rank = steady(public("GET", "/quality/rank").json()["items"])
        assert public_rank != operator_rank
        assert {d["department"] for d in public_rank} <= {provider[r] for r in open_ids}
        scored = {s["resource"] for s in public("GET", "/quality/scores").json()["items"]}
        assert sum(d["evaluated"] for d in public_rank) == len(scored)
        assert sum(d["evaluated"] for d in operator_rank) > len(scored)

        whole = admin("GET", "/coverage").json()
        seen = public("GET", "/coverage").json()
        assert whole["elements"] == seen["elements"] > 0
        assert seen["with_source"] < whole["with_source"]
        assert f"({whole['with_source']} of {whole['elements']}" in operator_coverage
    as_public = ok("catalog", "coverage", "--as", "public_user", "--data-dir", str(data))
    assert f"({seen['with_source']} of {seen['elements']}" in as_public
    assert steady(json.loads(ok("quality", "rank", "--as", "public_user", "--json", "--data-dir", str(data)))) == public_rank

    # Hidden from rsj_user, the population register still counts in its figures while it may
    # assess it; forbidden to assess too, it no longer does.
    hide = tmp_path / "hide-persons.cedar"
    hide.write_text('forbid(principal == Zhongshu::Principal::"rsj_user", action == Zhongshu::Action::"discover", '
                    f'resource == Zhongshu::Resource::"{PERSONS}");')
    no_assess = tmp_path / "no-assessment.cedar"
    no_assess.write_text('forbid(principal == Zhongshu::Principal::"rsj_user", '
                         'action == Zhongshu::Action::"assess", resource);')
    ok("policy", "add", "rsj-user-misses-persons", "--file", str(hide), "--data-dir", str(data))
    try:
        with serving(data) as base:
            user = http(base, creds, "rsj_user")
            assert user("GET", f"/resources/{PERSONS}").status_code == 404
            assert steady(user("GET", "/quality/rank").json()["items"]) == operator_rank
            assert user("GET", "/coverage").json() == whole
        ok("policy", "add", "rsj-user-assesses-nothing", "--file", str(no_assess), "--data-dir", str(data))
        with serving(data) as base:
            user = http(base, creds, "rsj_user")
            narrowed = steady(user("GET", "/quality/rank").json()["items"])
            scored = {s["resource"] for s in user("GET", "/quality/scores").json()["items"]}
            assert PERSONS not in scored
            assert narrowed != operator_rank
            assert sum(d["evaluated"] for d in narrowed) == len(scored)
            assert user("GET", "/coverage").json()["with_source"] < whole["with_source"]
    finally:
        for policy in ["rsj-user-assesses-nothing", "rsj-user-misses-persons"]:
            zs("policy", "remove", policy, "--data-dir", str(data))


def test_a_profile_describes_only_what_the_requester_reads(data, creds, tmp_path):
    """A profile runs through the requester's governed session: its row filter, its columns, its
    audit records."""
    detail = json.loads(ok("catalog", "resource", PERSONS, "--json", "--data-dir", str(data)))
    location = [t["location"] for t in detail["tables"] if t["name"] == "main"][0]
    persons = pl.from_arrow(DeltaTable(location).to_pyarrow_table())
    with serving(data) as base:
        jurisdiction = http(base, creds, "pingshan_street")("GET", "/me").json()["attributes"]["jurisdiction"]
    inside = persons.filter(pl.col("street_code").is_in(jurisdiction))
    assert 0 < inside.height < persons.height
    ok("grant", "create", PERSONS, "--principal", "pingshan_street", "--columns", "id_no,name,street_code",
       "--filter", "street_code IN (principal.jurisdiction)", "--mask", "id_no=none", "--data-dir", str(data))
    policy = tmp_path / "street-profiles.cedar"
    policy.write_text('permit(principal == Zhongshu::Principal::"pingshan_street", '
                      f'action == Zhongshu::Action::"profile", resource == Zhongshu::Resource::"{PERSONS}");')
    ok("policy", "add", "street-profiles-persons", "--file", str(policy), "--data-dir", str(data))
    try:
        with serving(data) as base:
            street = http(base, creds, "pingshan_street")("GET", f"/quality/profile/{PERSONS}")
            assert street.status_code == 200, street.text
            street = street.json()
            whole = http(base, creds, "gaj_officer")("GET", f"/quality/profile/{PERSONS}").json()
        assert street["rows"] == inside.height
        assert {c["column"] for c in street["columns"]} == {"id_no", "name", "street_code"}
        codes = next(c for c in street["columns"] if c["column"] == "street_code")
        assert {v["value"] for v in codes["top_values"]} <= set(jurisdiction)
        assert whole["rows"] == persons.height
        assert len(whole["columns"]) > 3
        cli = json.loads(ok("quality", "profile", PERSONS, "--as", "pingshan_street", "--json", "--data-dir", str(data)))
        assert cli["rows"] == inside.height
    finally:
        ok("policy", "remove", "street-profiles-persons", "--data-dir", str(data))
    audit = ok("audit", "queries", "--limit", "100000", "--data-dir", str(data))
    assert any("pingshan_street" in line and "zs_pattern" in line for line in audit.splitlines()), audit[-3000:]
