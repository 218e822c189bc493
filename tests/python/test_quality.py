"""Data quality on the demo lake: every defect the generator planted (check digits, missing
values, duplicates, unknown codes, unknown references, 一数一源 conflicts) is found with the
planted count and nothing else is reported; scores and the department ranking follow."""

import json
import os
import subprocess

import polars as pl
from deltalake import DeltaTable

from conftest import zhongshu_bin

# Manifest defect kinds → the rule kind that must find them.
KINDS = {
    "check_digit": "check_digit",
    "missing": "not_null",
    "duplicate": "unique",
    "invalid_code": "code_list",
    "conflict": "consistency",
    "unknown_reference": "reference",
}


def zs(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU__")}
    out = subprocess.run([zhongshu_bin(), *args], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def table(data, resource):
    detail = json.loads(zs("catalog", "resource", resource, "--json", "--data-dir", str(data)))
    return pl.from_arrow(DeltaTable(detail["tables"][0]["location"]).to_pyarrow_table())


def test_planted_defects_and_conflicts_are_found_with_their_counts(demo):
    manifest = json.loads((demo / "generated/manifest.json").read_text())
    results = json.loads(zs("quality", "results", "--json", "--data-dir", str(demo)))
    found = {}
    for r in results:
        column = None if r["kind"] == "unique" else r["column"]
        found[(r["resource"], column, r["kind"])] = r

    planted = {}
    for d in manifest["defects"]:
        column = None if d["column"] == "*" else d["column"]
        planted[(d["resource"], column, KINDS[d["kind"]])] = dict(d)
    # The demo's later deliveries carry defects of their own (later.json).
    for d in json.loads((demo / "generated/later.json").read_text())["defects"]:
        planted[(d["resource"], d["column"], KINDS[d["kind"]])]["count"] += d["count"]

    # An owner whose own row in 人口基础信息 carries a corrupted check character (a planted
    # defect of the source; the manifest keys are the corrupted numbers) is missing from it
    # too, correctly: the owner's right number shares the first 17 characters.
    corrupted = {k[:17] for k in next(d for d in manifest["defects"]
                                       if d["resource"] == "440310-GA-0001" and d["kind"] == "check_digit")["keys"]}
    owners = table(demo, "440310-ZJ-0001")
    extra = owners.filter(pl.col("owner_id").str.slice(0, 17).is_in(list(corrupted))).height
    assert extra > 0

    for key, defect in planted.items():
        assert key in found, f"no result for planted {key}: {defect['description']}"
        expected = defect["count"] + (extra if defect["kind"] == "unknown_reference" else 0)
        assert found[key]["rows_failed"] == expected, (key, found[key], defect)
    for key, result in found.items():
        if key not in planted:
            assert result["rows_failed"] == 0, f"unplanted failures: {result}"
    # The checks are real: every rule checked rows.
    assert all(r["rows_checked"] > 0 for r in results)
    conflicts = found[("440310-RS-0001", "name", "consistency")]
    assert conflicts["dimension"] == "consistency" and conflicts["rule"] == "consistency:person_name"
    # Examples are masked by grade: names (L3) keep their first character only.
    assert all(e["value"][1:].strip("*") == "" for e in conflicts["examples"])


def test_scores_and_department_ranking(demo):
    scores = {s["resource"]: s for s in json.loads(zs("quality", "score", "--json", "--data-dir", str(demo)))}
    # A resource without defects scores 100; one with defects scores below, in the dimensions hit.
    assert scores["440310-WJ-0001"]["score"] == 100.0
    rs = scores["440310-RS-0001"]
    assert rs["score"] < 100.0
    assert set(rs["dimensions"]) == {"completeness", "validity", "uniqueness", "consistency"}
    assert rs["dimensions"]["uniqueness"] < 100.0
    ranking = json.loads(zs("quality", "rank", "--json", "--data-dir", str(demo)))
    assert [d["rank"] for d in ranking] == list(range(1, len(ranking) + 1))
    assert all(a["score"] >= b["score"] for a, b in zip(ranking, ranking[1:]))
    rsj = next(d for d in ranking if d["department"] == "440310-rsj")
    assert rsj["score"] == scores["440310-RS-0001"]["score"]
    text = zs("quality", "rank", "--data-dir", str(demo))
    assert "440310-rsj" in text


def test_rules_are_declared_checked_and_kept_in_history(demo, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('''
[[rules]]
id = "persons-born-after-1900"
resource = "440310-GA-0001"
kind = "sql"
predicate = "birth_date >= DATE '1900-01-01'"

[[rules]]
id = "persons-sex-code"
resource = "440310-GA-0001"
column = "sex"
kind = "code_list"
standard = "gb2261"

[[rules]]
id = "enrolment-base-range"
resource = "440310-RS-0001"
column = "monthly_base"
kind = "range"
min = 0
max = 5000
''')
    zs("quality", "add", str(rules), "--data-dir", str(demo))
    out = json.loads(zs("quality", "check", "440310-RS-0001", "--json", "--data-dir", str(demo)))["results"]
    base = next(r for r in out if r["rule"] == "enrolment-base-range")
    enrolments = table(demo, "440310-RS-0001")
    assert base["rows_failed"] == enrolments.filter(pl.col("monthly_base") > 5000).height > 0
    out = json.loads(zs("quality", "check", "440310-GA-0001", "--json", "--data-dir", str(demo)))["results"]
    assert next(r for r in out if r["rule"] == "persons-born-after-1900")["rows_failed"] == 0
    persons = table(demo, "440310-GA-0001")
    bad_sex = persons.filter(~pl.col("sex").is_in(["0", "1", "2", "9"]) & pl.col("sex").is_not_null()).height
    assert next(r for r in out if r["rule"] == "persons-sex-code")["rows_failed"] == bad_sex

    history = json.loads(zs("quality", "results", "440310-RS-0001", "--history", "--json",
                            "--data-dir", str(demo)))
    assert len({r["evaluation"] for r in history}) >= 2

    listed = zs("quality", "rules", "--data-dir", str(demo))
    assert "enrolment-base-range" in listed
    zs("quality", "remove", "enrolment-base-range", "--data-dir", str(demo))
    assert "enrolment-base-range" not in zs("quality", "rules", "--data-dir", str(demo))

    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nresource = "440310-RS-0001"\ncolumn = "nope"\nkind = "not_null"\n')
    out = subprocess.run([zhongshu_bin(), "quality", "add", str(bad), "--data-dir", str(demo)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "no column `nope`" in out.stderr, out.stderr
