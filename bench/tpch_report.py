"""Summarises a TPC-H results file (JSON lines from tpch-bench and tpch_duckdb.py): per-query
times, and geometric-mean ratios governed/plain and governed/DuckDB, as a Markdown table.

    python bench/tpch_report.py RESULTS.jsonl
"""

import json
import math
import sys
from collections import defaultdict


def main():
    times = defaultdict(dict)
    rows = defaultdict(dict)
    for line in open(sys.argv[1]):
        r = json.loads(line)
        times[r["tool"]][r["query"]] = r["seconds"]
        rows[r["tool"]][r["query"]] = r["rows"]
    tools = ["zhongshu-plain", "zhongshu-governed", "duckdb"]
    print("| query | " + " | ".join(tools) + " | governed/plain |")
    print("| --- | " + " | ".join("---" for _ in tools) + " | --- |")
    for q in range(1, 23):
        cells = [f"{times[t].get(q, float('nan')):.3f}" for t in tools]
        ratio = times["zhongshu-governed"][q] / times["zhongshu-plain"][q]
        print(f"| Q{q} | " + " | ".join(cells) + f" | {ratio:.2f} |")

    def geomean(tool):
        return math.exp(sum(math.log(times[tool][q]) for q in range(1, 23)) / 22)

    g = {t: geomean(t) for t in tools}
    print()
    print("geometric mean (s): " + ", ".join(f"{t} {g[t]:.3f}" for t in tools))
    print(f"governed/plain: {g['zhongshu-governed'] / g['zhongshu-plain']:.3f}")
    print(f"governed/DuckDB: {g['zhongshu-governed'] / g['duckdb']:.3f}")
    differ = [q for q in range(1, 23) if rows["zhongshu-plain"].get(q) != rows["duckdb"].get(q)]
    print(f"queries whose row counts differ between plain DataFusion and DuckDB: {differ or 'none'}")


if __name__ == "__main__":
    main()
