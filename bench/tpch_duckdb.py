"""TPC-H with DuckDB over tpchgen's Parquet files (and, for reference, over the same data loaded
into DuckDB's in-memory tables): the same 22 query files as zhongshu, each run N times; prints
one JSON line per query with the median and first run's seconds and the row count.

    python bench/tpch_duckdb.py PARQUET_DIR QUERIES_DIR [RUNS]
"""

import json
import statistics
import sys
import time
from pathlib import Path

import duckdb

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def main():
    parquet, queries = Path(sys.argv[1]), Path(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    # `duckdb` reads the Parquet files in every query (views), as the issue asks; `duckdb-memory`
    # first loads them into DuckDB's own in-memory tables, the reference for zhongshu's cache.
    for tool, kind in (("duckdb", "VIEW"), ("duckdb-memory", "TABLE")):
        con = duckdb.connect()
        con.execute("CREATE SCHEMA tpch")
        for t in TABLES:
            con.execute(f"CREATE {kind} tpch.{t} AS SELECT * FROM read_parquet('{parquet / (t + '.parquet')}')")
        for q in range(1, 23):
            sql = (queries / f"q{q:02}.sql").read_text()
            times = []
            rows = 0
            for _ in range(runs):
                started = time.perf_counter()
                rows = len(con.execute(sql).fetchall())
                times.append(time.perf_counter() - started)
            print(json.dumps({"tool": tool, "query": q, "seconds": statistics.median(times),
                              "first": times[0], "rows": rows}), flush=True)
        con.close()


if __name__ == "__main__":
    main()
