"""The demo lake is plain Delta Lake: the Python `deltalake` package and polars read every table
without zhongshu, with the row counts the generator wrote and Chinese text intact (GBK input)."""

import json

import polars as pl
import pytest
from deltalake import DeltaTable

from conftest import run


def tables(demo):
    listing = json.loads(run("catalog", "resources", "--json", "--page-size", "100", "--data-dir", str(demo)).stdout)
    out = []
    for r in listing["items"]:
        detail = json.loads(run("catalog", "resource", r["id"], "--json", "--data-dir", str(demo)).stdout)
        for t in detail["tables"]:
            out.append((r["id"], t))
    return out


def manifest_rows(demo):
    """Rows per resource: the first deliveries' (manifest.json), plus what the later ones
    landed (later.json: rows quarantined at ingest are not in the table)."""
    manifest = json.loads((demo / "generated" / "manifest.json").read_text())
    rows = {f["resource"]: f["rows"] for f in manifest["files"]}
    later = json.loads((demo / "generated" / "later.json").read_text())
    for f in later["files"]:
        rows[f["resource"]] += f["written"]
    return rows


def test_every_table_reads_with_deltalake(demo):
    expected = manifest_rows(demo)
    found = tables(demo)
    assert len(found) == 13
    for resource, t in found:
        dt = DeltaTable(t["location"])
        assert dt.version() == t["version"]
        data = dt.to_pyarrow_table()
        assert data.num_rows == expected[resource] == t["row_count"], resource


def test_every_table_reads_with_polars(demo):
    expected = manifest_rows(demo)
    for resource, t in tables(demo):
        df = pl.read_delta(t["location"])
        assert df.height == expected[resource], resource


def test_gbk_files_land_as_proper_chinese(demo):
    location = dict(tables(demo))["440310-RS-0001"]["location"]
    df = pl.read_delta(location)
    assert set(df["insurance_type"].unique().to_list()) <= {
        "企业职工基本养老保险", "职工基本医疗保险", "失业保险", "工伤保险", "生育保险"}
    names = df["name"].drop_nulls().to_list()
    assert names and all("\ufffd" not in n and 2 <= len(n) <= 4 for n in names)


def test_ids_agree_with_division_birth_date_and_sex(demo):
    location = dict(tables(demo))["440310-GA-0001"]["location"]
    df = pl.read_delta(location)
    assert df.schema["birth_date"] == pl.Date
    ok = df.filter(
        (pl.col("id_no").str.slice(6, 8) == pl.col("birth_date").dt.strftime("%Y%m%d"))
        & ((pl.col("id_no").str.slice(16, 1).cast(pl.Int32) % 2 == 1) == (pl.col("sex") == "1"))
        & (pl.col("id_no").str.slice(0, 6) == pl.col("native_division"))
    )
    assert ok.height == df.height
