#!/usr/bin/env bash
# Catalog at scale: 100,000 resources and 1,000,000 columns on SQLite and PostgreSQL.
#   ./bench/catalog.sh [RUNS] [RESOURCES]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-3}"
RESOURCES="${2:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zhongshu/target}"
CACHE="${ZHONGSHU_CACHE:-$HOME/.cache/zhongshu}"
PG_PORT="${ZHONGSHU_TEST_PG_PORT:-5439}"
# Reuse the test script's PostgreSQL set-up.
source <(sed -n '/^log()/p;/^need_apt()/,/^}/p;/^start_postgres()/,/^}/p' "$ROOT/scripts/test.sh")
start_postgres
# Same target set as scripts/test.sh, so the features (and build artifacts) are shared.
PROFILE="${ZHONGSHU_BENCH_PROFILE:-release}"
cargo build --profile "$PROFILE" --workspace --all-targets
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/catalog-$(date +%Y%m%d-%H%M%S).jsonl"
for i in $(seq "$RUNS"); do
  "$CARGO_TARGET_DIR/$PROFILE/catalog-bench" --resources "$RESOURCES" --postgres "$ZHONGSHU_TEST_POSTGRES_URL" | tee -a "$OUT"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["register_resources_per_s", "register_columns_per_s", "get_p50_ms", "get_p99_ms",
        "index_build_seconds", "search_p50_ms", "search_p99_ms",
        "second_source_refusal_p50_ms", "second_source_refusal_p99_ms", "replica_bind_p50_ms", "replica_bind_p99_ms"]
for backend in ("sqlite", "postgres"):
    rs = [r for r in rows if r["backend"] == backend]
    if not rs:
        continue
    print(f"\n{backend} (median of {len(rs)} runs, {rs[0]['resources']} resources, {rs[0]['columns']} columns)")
    for k in keys:
        print(f"  {k:32} {statistics.median(r[k] for r in rs):12.3f}")
PY
