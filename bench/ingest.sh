#!/usr/bin/env bash
# Ingest benchmark: an N-row (default 10,000,000), 20-column population CSV in GBK landed in
# Delta by `zhongshu ingest run` with 5 validation rules, against polars (read_csv →
# write_delta) and DuckDB (COPY … TO parquet) on the same file, in the same run.
#   ./bench/ingest.sh [ROWS] [RUNS] [MODE]
# MODE is the job's write mode (append by default; overwrite, merge and history spool the run
# to local Parquet before their commit).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS="${1:-10000000}"
RUNS="${2:-3}"
MODE="${3:-append}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zhongshu/target}"
CACHE="${ZHONGSHU_CACHE:-$HOME/.cache/zhongshu}"
WORK="${ZHONGSHU_BENCH_DIR:-$CACHE/bench-ingest}"
PY="$CACHE/venv/bin/python"
PROFILE="${ZHONGSHU_BENCH_PROFILE:-release}"
BIN="$CARGO_TARGET_DIR/$PROFILE"

cargo build --profile "$PROFILE" --workspace --all-targets
[ -x "$PY" ] || python3 -m venv "$CACHE/venv"
"$PY" -c 'import polars, deltalake, duckdb' 2>/dev/null || "$CACHE/venv/bin/pip" install -q polars deltalake duckdb
mkdir -p "$WORK" "$ROOT/bench/results"
SRC="$WORK/pop-$ROWS.csv"
if [ ! -f "$SRC" ]; then
  echo "generating $SRC"
  "$BIN/popgen" --rows "$ROWS" --out "$SRC"
fi
ls -l "$SRC"

cp "$ROOT/bench/pop-resource.toml" "$WORK/resource.toml"

OUT="$ROOT/bench/results/ingest-$MODE-$(date +%Y%m%d-%H%M%S).jsonl"
measure() { # name, command...
  local name="$1"; shift
  local t; t="$(mktemp)"
  /usr/bin/time -f "%e %M" -o "$t" "$@" > "$WORK/$name.log" 2>&1 || { cat "$WORK/$name.log"; exit 1; }
  read -r secs kb < "$t"
  printf '{"tool":"%s","rows":%s,"seconds":%s,"peak_rss_mb":%s}\n' "$name" "$ROWS" "$secs" "$((kb / 1024))" | tee -a "$OUT"
}

for i in $(seq "$RUNS"); do
  DATA="$WORK/zhongshu-data"
  rm -rf "$DATA" "$WORK/polars-out" "$WORK/duckdb-out" "$WORK/incoming"
  mkdir -p "$WORK/incoming"
  ln -s "$SRC" "$WORK/incoming/pop.csv"
  "$BIN/zhongshu" init --data-dir "$DATA" > /dev/null
  "$BIN/zhongshu" catalog register "$WORK/resource.toml" --data-dir "$DATA" > /dev/null
  cat > "$WORK/job.toml" <<TOML
id = "bench-pop"
resource = "BENCH-POP-0001"
path = "base/bench/population"
mode = "$MODE"
[source]
kind = "files"
dir = "$WORK/incoming"
glob = "*.csv"
format = "csv"
encoding = "gbk"
[[checks]]
kind = "validator"
column = "id_no"
validator = "resident_id"
[[checks]]
kind = "validator"
column = "mobile"
validator = "mobile"
[[checks]]
kind = "validator"
column = "native_division"
validator = "division_code"
[[checks]]
kind = "regex"
column = "street_code"
pattern = "^440310[0-9]{3}$"
[[checks]]
kind = "range"
column = "monthly_income"
min = 0
max = 1000000
TOML
  "$BIN/zhongshu" ingest create "$WORK/job.toml" --data-dir "$DATA" > /dev/null
  measure zhongshu "$BIN/zhongshu" ingest run bench-pop --data-dir "$DATA"
  tail -1 "$WORK/zhongshu.log"
  measure polars "$PY" "$ROOT/bench/peers.py" polars "$SRC" "$WORK/polars-out"
  measure duckdb "$PY" "$ROOT/bench/peers.py" duckdb "$SRC" "$WORK/duckdb-out"
done

"$PY" - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for tool in ("zhongshu", "polars", "duckdb"):
    rs = [r for r in rows if r["tool"] == tool]
    med[tool] = (statistics.median(r["seconds"] for r in rs), statistics.median(r["peak_rss_mb"] for r in rs), rs[0]["rows"])
for tool, (s, mb, n) in med.items():
    print(f"{tool:9} {s:8.1f} s  {n / s:12,.0f} rows/s  peak RSS {mb:6,} MiB")
z = med["zhongshu"][0]
print(f"throughput zhongshu/polars = {med['polars'][0] / z:.2f}, zhongshu/duckdb = {med['duckdb'][0] / z:.2f}")
PY
