#!/usr/bin/env bash
# Runs every zhongshu test. Idempotent: installs what the tests need when it is missing
# (PostgreSQL, Chromium for pages, pgjdbc, a Python venv with the outside clients), starts a private PostgreSQL on port 5439,
# builds once with the `fast` profile (dependencies optimised, our crates at opt-level 1) and runs
# the Rust and Python suites.
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh --rust     Rust tests only
#
# CARGO_TARGET_DIR defaults to ~/.cache/zhongshu/target so builds survive fresh checkouts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ZHONGSHU_CACHE:-$HOME/.cache/zhongshu}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
PG_PORT="${ZHONGSHU_TEST_PG_PORT:-5439}"
ONLY="${1:-all}"

log() { printf '\n== %s\n' "$*"; }

need_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_postgres() {
  need_apt postgresql
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  local data="$CACHE/pg/data"
  local run_as=()
  if [ "$(id -u)" -eq 0 ]; then run_as=(runuser -u postgres --); fi
  mkdir -p "$CACHE/pg"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$CACHE/pg" && chmod o+x "$CACHE" "$HOME/.cache" "$HOME" 2>/dev/null || true
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $data"
    "${run_as[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! "${run_as[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    "${run_as[@]}" "$bin/pg_ctl" -D "$data" -l "$CACHE/pg/server.log" -w \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  fi
  export ZHONGSHU_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

python_env() {
  local venv="$CACHE/venv"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating Python venv $venv"
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c 'import deltalake, polars, pytest, requests, moto.server, boto3, openpyxl, psycopg, adbc_driver_flightsql, pandas, selenium' 2>/dev/null; then
    log "installing Python test clients"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$ROOT/tests/python/requirements.txt"
  fi
  export ZHONGSHU_PYTHON="$venv/bin/python"
}

cd "$ROOT"
start_postgres

log "formatting, lints and the dependency direction of docs/architecture.md"
cargo fmt --all -- --check
python3 scripts/check_deps.py
cargo clippy --profile fast --workspace --all-targets -- -D warnings

log "building (fast profile)"
cargo build --profile fast --workspace --all-targets

log "Rust tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --cargo-profile fast --workspace --no-fail-fast
else
  cargo test --profile fast --workspace --no-fail-fast
fi

if [ "$ONLY" != "--rust" ]; then
  # Headless Chromium, its WebDriver and CJK fonts for the console's browser tests.
  need_apt chromium chromium-driver fonts-noto-cjk
  # pgjdbc, the driver of DBeaver and other Java tools, for tests/jdbc (run by the Python tests).
  need_apt libpostgresql-jdbc-java
  command -v java >/dev/null 2>&1 || need_apt default-jre-headless
  python_env
  log "Python tests with outside clients"
  export ZHONGSHU_BIN="$CARGO_TARGET_DIR/fast/zhongshu"
  "$ZHONGSHU_PYTHON" -m pytest -q tests/python
fi
