"""Back-flow (回流) through a Delta source: the city's share is a Delta table written by another
system (here the Python `deltalake` package); a job mirrors its latest version into the
district's resource, once per source version, with rows that break the target's rules in
quarantine."""

import json
import os
import subprocess

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from conftest import zhongshu_bin


def zs(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU")}
    return subprocess.run([zhongshu_bin(), *args], capture_output=True, text=True, env=env, timeout=300)


def test_city_share_is_mirrored_once_per_version(tmp_path):
    data = tmp_path / "data"
    assert zs("demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data)).returncode == 0
    share = tmp_path / "city" / "registrations"
    batch = pa.table({
        "uscc": ["91440310MA5F00001X", "91440310MA5F00002X", None],
        "org_name": ["深圳市甲公司", "深圳市乙公司", "无代码公司"],
        "change_type": ["设立登记", "变更登记", "设立登记"],
        "registered_on": ["2026-11-01", "2026-11-02", "2026-11-03"],
    })
    write_deltalake(str(share), batch)

    job = tmp_path / "job.toml"
    job.write_text(f'''
id = "city-registrations"
resource = "4403-SC-0001"
mode = "overwrite"
[source]
kind = "delta"
url = "{share}"
''')
    out = zs("ingest", "create", str(job), "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    out = zs("ingest", "run", "city-registrations", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    assert "3 rows read = 2 written + 1 quarantined" in out.stdout, out.stdout

    detail = json.loads(zs("catalog", "resource", "4403-SC-0001", "--json", "--data-dir", str(data)).stdout)
    target = DeltaTable(detail["tables"][0]["location"]).to_pyarrow_table()
    assert sorted(target.column("org_name").to_pylist()) == ["深圳市乙公司", "深圳市甲公司"]

    # The same source version is not landed twice; a new version is mirrored whole.
    out = zs("ingest", "run", "city-registrations", "--data-dir", str(data))
    assert "0 rows read" in out.stdout, out.stdout
    write_deltalake(str(share), pa.table({
        "uscc": ["91440310MA5F00003X"], "org_name": ["深圳市丙公司"],
        "change_type": ["设立登记"], "registered_on": ["2026-11-04"]}), mode="append")
    out = zs("ingest", "run", "city-registrations", "--data-dir", str(data))
    assert "4 rows read = 3 written + 1 quarantined" in out.stdout, out.stdout
    target = DeltaTable(detail["tables"][0]["location"]).to_pyarrow_table()
    assert target.num_rows == 3

    quarantine = json.loads(zs("ingest", "quarantine", "city-registrations", "--json", "--data-dir", str(data)).stdout)
    assert {q["rule"] for q in quarantine} == {"required"}
    assert all(q["file"].startswith(str(share)) for q in quarantine)


def test_a_job_cannot_reach_into_another_departments_table(tmp_path):
    """A Delta source or a `path` inside another resource's table would read or overwrite it
    around its grants and masks; both are refused when the job is created, without naming it."""
    data = tmp_path / "data"
    assert zs("demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data)).returncode == 0
    persons = json.loads(zs("catalog", "resource", "440310-GA-0001", "--json", "--data-dir", str(data)).stdout)
    location = persons["tables"][0]["location"]
    lake_path = persons["tables"][0]["path"]
    local = location.removeprefix("file://")

    def create(body):
        job = tmp_path / "job.toml"
        job.write_text('id = "probe"\nresource = "4403-SC-0001"\n' + body)
        return zs("ingest", "create", str(job), "--data-dir", str(data))

    for url in (location, local, local.rstrip("/") + "/../" + local.rstrip("/").rsplit("/", 1)[1]):
        out = create(f'mode = "overwrite"\n[source]\nkind = "delta"\nurl = "{url}"\n')
        assert out.returncode != 0 and "by its files" in out.stderr, (url, out.stderr)
        assert "440310-GA-0001" not in out.stderr and lake_path not in out.stderr

    for path in (lake_path, lake_path + "/x", lake_path.rsplit("/", 1)[0]):
        out = create(f'table = "other"\npath = "{path}"\nmode = "overwrite"\n[source]\nkind = "delta"\nurl = "{tmp_path}/city"\n')
        assert out.returncode != 0 and "does not own" in out.stderr, (path, out.stderr)
        assert "440310-GA-0001" not in out.stderr
