#!/usr/bin/env bash
# The console's pages with 100,000 resources in the catalog: server-side time per page and
# pages per second with 20 signed-in people.
#   ./bench/console.sh [RUNS] [RESOURCES]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-3}"
RESOURCES="${2:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zhongshu/target}"
PROFILE="${ZHONGSHU_BENCH_PROFILE:-release}"
cd "$ROOT"
# Same target set as scripts/test.sh, so the features (and build artifacts) are shared.
cargo build --profile "$PROFILE" --workspace --all-targets
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/console-$(date +%Y%m%d-%H%M%S).jsonl"
for i in $(seq "$RUNS"); do
  "$CARGO_TARGET_DIR/$PROFILE/console-bench" --resources "$RESOURCES" | tee -a "$OUT"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print(f"\nmedian of {len(runs)} runs, {runs[0]['resources']} resources")
for i, page in enumerate(runs[0]["pages"]):
    med = lambda k: statistics.median(r["pages"][i][k] for r in runs)
    print(f"  {page['page']:60} p50 {med('p50_ms'):8.1f}  p95 {med('p95_ms'):8.1f}  p99 {med('p99_ms'):8.1f} ms")
print(f"  worst p95 {statistics.median(r['worst_p95_ms'] for r in runs):.1f} ms")
print(f"  {runs[0]['users']} users: {statistics.median(r['pages_per_s'] for r in runs):.1f} pages/s, "
      f"p95 {statistics.median(r['concurrent_p95_ms'] for r in runs):.1f} ms")
PY
