#!/usr/bin/env python3
"""Fails when a zhongshu crate depends against the direction of docs/architecture.md.

Tiers, low to high: catalog <- policies <- engine <- domain crates <- doors <- cli. A crate may
depend on crates of lower tiers; within the domain tier only on the edges listed in DOMAIN_EDGES;
doors never on each other. `tests` and `bench` sit above everything.
"""

import json
import subprocess
import sys

TIER = {
    "zhongshu-catalog": 0,
    "zhongshu-policies": 1,
    "zhongshu-engine": 2,
    "zhongshu-ingest": 3,
    "zhongshu-quality": 3,
    "zhongshu-lineage": 3,
    "zhongshu-sharing": 3,
    "zhongshu-products": 3,
    "zhongshu-web": 3.5,
    "zhongshu-sql-gateway": 4,
    "zhongshu-console": 4,
    "zhongshu-open-data": 4,
    "zhongshu": 5,
    "zhongshu-tests": 6,
    "zhongshu-bench": 6,
}

# Domain-to-domain edges docs/architecture.md allows (from -> to).
DOMAIN_EDGES = {
    ("zhongshu-ingest", "zhongshu-sharing"),
    ("zhongshu-products", "zhongshu-quality"),
    ("zhongshu-products", "zhongshu-lineage"),
    ("zhongshu-sharing", "zhongshu-lineage"),
    ("zhongshu-ingest", "zhongshu-lineage"),
    ("zhongshu-quality", "zhongshu-lineage"),
}


def main() -> int:
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"]))
    problems = []
    for package in meta["packages"]:
        name = package["name"]
        if name not in TIER:
            problems.append(f"{name}: not in any tier; add it to docs/architecture.md and {__file__}")
            continue
        for dep in package["dependencies"]:
            target = dep["name"]
            if not target.startswith("zhongshu") or dep.get("kind") == "dev":
                continue
            if target not in TIER:
                problems.append(f"{name} -> {target}: {target} is in no tier")
            elif TIER[target] > TIER[name]:
                problems.append(f"{name} -> {target}: depends upward (tier {TIER[name]} -> {TIER[target]})")
            elif TIER[target] == TIER[name] and (name, target) not in DOMAIN_EDGES:
                problems.append(f"{name} -> {target}: an edge within a tier that docs/architecture.md does not allow")
    for p in problems:
        print(f"dependency direction: {p}", file=sys.stderr)
    if not problems:
        print(f"dependency direction: {len(meta['packages'])} crates follow docs/architecture.md")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
