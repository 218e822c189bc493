"""The lake on an S3-compatible store: the demo lands in `s3://` through the object_store
options of the configuration, and the Python `deltalake` package reads it back from the same
store. The store is moto's S3 server, a separate process speaking the S3 HTTP protocol on
localhost."""

import json
import os
import socket
import subprocess

import boto3
import pytest
from deltalake import DeltaTable
from moto.server import ThreadedMotoServer

from conftest import zhongshu_bin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket="lake")
    yield endpoint
    server.stop()


def test_demo_lands_in_s3_and_reads_back(s3, tmp_path):
    options = {
        "aws_endpoint": s3,
        "aws_region": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "aws_allow_http": "true",
        "aws_s3_allow_unsafe_rename": "true",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU")}
    env["ZHONGSHU__LAKE__URL"] = "s3://lake/pingshan"
    for k, v in options.items():
        env[f"ZHONGSHU__LAKE__OPTIONS__{k.upper()}"] = v
    data = tmp_path / "data"
    out = subprocess.run([zhongshu_bin(), "demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "s3://lake/pingshan" in out.stdout

    detail = json.loads(subprocess.run(
        [zhongshu_bin(), "catalog", "resource", "440310-GA-0001", "--json", "--data-dir", str(data)],
        capture_output=True, text=True, env=env, timeout=60).stdout)
    table = detail["tables"][0]
    assert table["location"].startswith("s3://lake/pingshan/base/population/persons")
    dt = DeltaTable(table["location"], storage_options=options)
    assert dt.to_pyarrow_table().num_rows == table["row_count"] == 500

    keys = boto3.client("s3", endpoint_url=s3, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test").list_objects_v2(Bucket="lake", Prefix="pingshan/base/")
    assert any(k["Key"].endswith(".parquet") for k in keys.get("Contents", []))
    assert not (data / "lake").exists(), "nothing may land on the local disk"
