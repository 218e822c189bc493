#!/usr/bin/env bash
# The governed path under load for a long time (issue 15): 64 clients at every door mixing
# queries, refusals, hang-ups mid-stream, reconnections and revocations; see bench/soak.py.
#   ./bench/soak.sh [MINUTES] [CLIENTS] [SCALE]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES="${1:-10}"
CLIENTS="${2:-64}"
SCALE="${3:-0.2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zhongshu/target}"
CACHE="${ZHONGSHU_CACHE:-$HOME/.cache/zhongshu}"
# Reuse the test script's Python clients (psycopg, requests, ADBC) in its venv.
source <(sed -n '/^log()/p;/^python_env()/,/^}/p' "$ROOT/scripts/test.sh")
python_env
PROFILE="${ZHONGSHU_BENCH_PROFILE:-release}"
cargo build --profile "$PROFILE" --workspace --all-targets
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/soak-$(date +%Y%m%d-%H%M%S).json"
"$ZHONGSHU_PYTHON" "$ROOT/bench/soak.py" "$CARGO_TARGET_DIR/$PROFILE/zhongshu" \
  --minutes "$MINUTES" --clients "$CLIENTS" --scale "$SCALE" | tee "$OUT"
