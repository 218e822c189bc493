"""Departments deliver Parquet too: the same job machinery lands it, typing and checking each
value, with bad values in quarantine by row."""

import datetime as dt
import json
import os
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import zhongshu_bin


def zs(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU")}
    return subprocess.run([zhongshu_bin(), *args], capture_output=True, text=True, env=env, timeout=300)


def make_job(tmp_path, data, job_id, folder, fmt):
    (data / folder).mkdir(parents=True, exist_ok=True)
    job = tmp_path / f"{job_id}.toml"
    job.write_text(f'''
id = "{job_id}"
resource = "440310-RS-0001"
[source]
kind = "files"
dir = "{folder}"
format = "{fmt}"
''')
    out = zs("ingest", "create", str(job), "--data-dir", str(data))
    assert out.returncode == 0, out.stderr


def test_parquet_deliveries(tmp_path):
    data = tmp_path / "data"
    assert zs("demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data)).returncode == 0

    make_job(tmp_path, data, "rsj-parquet", "incoming/pq", "parquet")
    pq.write_table(pa.table({
        "id_no": ["11010519491231002X", "110105194912310037", None],
        "name": ["张三", "李四", "王五"],
        "insurance_type": ["失业保险", "工伤保险", "失业保险"],
        "employer_uscc": [None, None, None],
        "status": ["正常参保", "正常参保", "正常参保"],
        "enrolled_on": [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)],
        "monthly_base": [5000.0, 6100.5, 4000.0],
    }), data / "incoming/pq/2026-11.parquet")
    out = zs("ingest", "run", "rsj-parquet", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    assert "3 rows read = 2 written + 1 quarantined" in out.stdout, out.stdout
    q = json.loads(zs("ingest", "quarantine", "rsj-parquet", "--json", "--data-dir", str(data)).stdout)
    assert [(r["line"], r["column"], r["rule"]) for r in q] == [("3", "id_no", "required")]
