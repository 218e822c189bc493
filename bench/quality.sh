#!/usr/bin/env bash
# Quality benchmark: an N-row (default 10,000,000) population landed once in Delta, then
# checked against the ten rules of bench/quality-rules.toml by `zhongshu quality check`, and by
# the same checks written as DuckDB SQL over the same Parquet files, in the same run. Both must
# report the same failing counts per rule; the script stops if they do not.
#   ./bench/quality.sh [ROWS] [RUNS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS="${1:-10000000}"
RUNS="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zhongshu/target}"
CACHE="${ZHONGSHU_CACHE:-$HOME/.cache/zhongshu}"
WORK="${ZHONGSHU_BENCH_DIR:-$CACHE/bench-quality}"
PY="$CACHE/venv/bin/python"
PROFILE="${ZHONGSHU_BENCH_PROFILE:-release}"
BIN="$CARGO_TARGET_DIR/$PROFILE"

cargo build --profile "$PROFILE" --workspace --all-targets
[ -x "$PY" ] || python3 -m venv "$CACHE/venv"
"$PY" -c 'import duckdb' 2>/dev/null || "$CACHE/venv/bin/pip" install -q duckdb
mkdir -p "$WORK" "$ROOT/bench/results"
SRC="$WORK/pop-$ROWS.csv"
[ -f "$SRC" ] || { echo "generating $SRC"; "$BIN/popgen" --rows "$ROWS" --out "$SRC"; }

DATA="$WORK/zhongshu-data-$ROWS"
if [ ! -f "$DATA/landed" ]; then
  rm -rf "$DATA" "$WORK/incoming"
  mkdir -p "$WORK/incoming"
  ln -s "$SRC" "$WORK/incoming/pop.csv"
  "$BIN/zhongshu" init --data-dir "$DATA" > /dev/null
  "$BIN/zhongshu" catalog register "$ROOT/bench/pop-resource.toml" --data-dir "$DATA" > /dev/null
  cat > "$WORK/job.toml" <<TOML
id = "bench-pop"
resource = "BENCH-POP-0001"
path = "base/bench/population"
[source]
kind = "files"
dir = "$WORK/incoming"
glob = "*.csv"
format = "csv"
encoding = "gbk"
TOML
  "$BIN/zhongshu" ingest create "$WORK/job.toml" --data-dir "$DATA" > /dev/null
  echo "landing $ROWS rows (not timed)"
  "$BIN/zhongshu" ingest run bench-pop --data-dir "$DATA"
  "$BIN/zhongshu" quality add "$ROOT/bench/quality-rules.toml" --data-dir "$DATA" > /dev/null
  touch "$DATA/landed"
fi
TABLE="$DATA/lake/base/bench/population"

OUT="$ROOT/bench/results/quality-$(date +%Y%m%d-%H%M%S).jsonl"
measure() { # name, command...
  local name="$1"; shift
  local t; t="$(mktemp)"
  /usr/bin/time -f "%e %M" -o "$t" "$@" > "$WORK/$name.out" 2> "$WORK/$name.log" || { cat "$WORK/$name.log"; exit 1; }
  read -r secs kb < "$t"
  printf '{"tool":"%s","rows":%s,"seconds":%s,"peak_rss_mb":%s}\n' "$name" "$ROWS" "$secs" "$((kb / 1024))" | tee -a "$OUT"
}

for i in $(seq "$RUNS"); do
  measure zhongshu "$BIN/zhongshu" quality check BENCH-POP-0001 --json --data-dir "$DATA"
  cp "$WORK/zhongshu.out" "$WORK/zhongshu.json"
  measure duckdb "$PY" "$ROOT/bench/quality_duckdb.py" "$TABLE" "$ROOT/catalog/reference/gb2260" "$WORK/duckdb.json"
  # Same answers, or the comparison means nothing.
  "$PY" - "$WORK/zhongshu.json" "$WORK/duckdb.json" <<'PY'
import json, sys
ours = {r["rule"]: r["rows_failed"] for r in json.load(open(sys.argv[1]))["results"]}
peer = json.load(open(sys.argv[2]))["failed"]
diff = {k: (ours.get(k), v) for k, v in peer.items() if ours.get(k) != v}
assert not diff, f"failing counts differ (zhongshu, duckdb): {diff}"
print("same failing counts:", ", ".join(f"{k} {v}" for k, v in sorted(peer.items())))
PY
done

"$PY" - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for tool in ("zhongshu", "duckdb"):
    rs = [r for r in rows if r["tool"] == tool]
    med[tool] = (statistics.median(r["seconds"] for r in rs), statistics.median(r["peak_rss_mb"] for r in rs), rs[0]["rows"])
for tool, (s, mb, n) in med.items():
    print(f"{tool:9} {s:8.2f} s  {n / s:12,.0f} rows/s  peak RSS {mb:6,} MiB")
print(f"throughput zhongshu/duckdb = {med['duckdb'][0] / med['zhongshu'][0]:.2f}")
PY
