"""Peers of the ingest benchmark, each run as its own process under /usr/bin/time:

  python peers.py polars SRC.csv OUT_DIR   # decode GBK, polars.read_csv, write_delta
  python peers.py duckdb SRC.csv OUT_DIR   # iconv GBK→UTF-8, DuckDB COPY … TO parquet

Neither validates anything; both must first turn GBK into UTF-8, which neither reads natively.
"""

import os
import subprocess
import sys


def polars_run(src: str, out: str) -> int:
    import polars as pl

    with open(src, "rb") as f:
        text = f.read().decode("gbk")
    df = pl.read_csv(text.encode("utf-8"), infer_schema_length=10000)
    del text
    df.write_delta(out, mode="overwrite")
    return df.height


def duckdb_run(src: str, out: str) -> int:
    import duckdb

    os.makedirs(out, exist_ok=True)
    utf8 = os.path.join(out, "utf8.csv")
    subprocess.run(["iconv", "-f", "GBK", "-t", "UTF-8", src, "-o", utf8], check=True)
    con = duckdb.connect()
    con.sql(f"COPY (SELECT * FROM read_csv('{utf8}')) TO '{os.path.join(out, 'out.parquet')}' (FORMAT parquet)")
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{os.path.join(out, 'out.parquet')}')").fetchall()[0][0]
    os.remove(utf8)
    return rows


if __name__ == "__main__":
    tool, src, out = sys.argv[1:4]
    rows = {"polars": polars_run, "duckdb": duckdb_run}[tool](src, out)
    print(f"{tool} rows={rows}")
