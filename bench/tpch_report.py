"""Summarises a TPC-H results file (JSON lines from tpch-bench and tpch_duckdb.py): per-query
times and geometric-mean ratios, as a Markdown table.

Tools: zhongshu-plain (DataFusion over the Delta tables), zhongshu-parquet (DataFusion over
tpchgen's files), zhongshu-governed (the query service in process), zhongshu-gateway (the Flight
SQL door over loopback TCP), each also with the decoded column cache (`+cache`); duckdb (over
tpchgen's files) and duckdb-memory (over its own in-memory tables).

    python bench/tpch_report.py RESULTS.jsonl
"""

import json
import math
import sys
from collections import defaultdict

ORDER = ["zhongshu-plain", "zhongshu-parquet", "zhongshu-governed", "zhongshu-gateway",
         "zhongshu-plain+cache", "zhongshu-governed+cache", "zhongshu-gateway+cache",
         "duckdb", "duckdb-memory"]


def main():
    times = defaultdict(dict)
    rows = defaultdict(dict)
    for line in open(sys.argv[1]):
        r = json.loads(line)
        times[r["tool"]][r["query"]] = r["seconds"]
        rows[r["tool"]][r["query"]] = r["rows"]
    tools = [t for t in ORDER if t in times]
    governed = "zhongshu-gateway" if "zhongshu-gateway" in times else "zhongshu-governed"
    short = {t: t.removeprefix("zhongshu-") for t in tools}
    print("| query | " + " | ".join(short[t] for t in tools) + f" | {short[governed]}/plain |")
    print("| --- | " + " | ".join("---" for _ in tools) + " | --- |")
    for q in range(1, 23):
        cells = [f"{times[t].get(q, float('nan')):.3f}" for t in tools]
        ratio = times[governed][q] / times["zhongshu-plain"][q]
        print(f"| Q{q} | " + " | ".join(cells) + f" | {ratio:.2f} |")

    def geomean(tool):
        return math.exp(sum(math.log(times[tool][q]) for q in range(1, 23)) / 22)

    g = {t: geomean(t) for t in tools}
    print()
    print("geometric mean (s): " + ", ".join(f"{short[t]} {g[t]:.3f}" for t in tools))
    for t in ("zhongshu-governed", "zhongshu-gateway"):
        for cache in ("", "+cache"):
            tool, plain = t + cache, "zhongshu-plain" + cache
            if tool in g and plain in g:
                print(f"{short[tool]}/{short[plain]}: {g[tool] / g[plain]:.3f}")
            for duck in ("duckdb", "duckdb-memory"):
                if tool in g and duck in g:
                    print(f"{short[tool]}/{duck}: {g[tool] / g[duck]:.3f}")
    differ = [
        q
        for q in range(1, 23)
        if len({rows[t].get(q) for t in tools}) != 1
    ]
    print(f"queries whose row counts differ between tools: {differ or 'none'}")


if __name__ == "__main__":
    main()
