"""Fixtures: a demo deployment built by the real `zhongshu` binary, and a running server."""

import contextlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest


def zhongshu_bin() -> str:
    explicit = os.environ.get("ZHONGSHU_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache/zhongshu/target"))
    return str(Path(target) / "fast" / "zhongshu")


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU__")}
    return subprocess.run([zhongshu_bin(), *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """A demo deployment at scale 0.05 (2,500 persons)."""
    data = tmp_path_factory.mktemp("demo") / "data"
    out = run("demo", "--no-serve", "--scale", "0.05", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    return data


@pytest.fixture(scope="session")
def credentials(demo) -> dict:
    creds = json.loads((demo / "demo-credentials.json").read_text())
    return {p["username"]: p for p in creds["principals"]}


class Server(str):
    """A running server: its base HTTP URL, with the other doors' addresses as attributes."""

    pg_host: str = ""
    pg_port: int = 0
    flight: str = ""
    pid: int = 0


@contextlib.contextmanager
def serving(data: Path, log: Path | None = None):
    """`zhongshu serve` on `data` with free ports; yields a `Server` (its base URL). With `log`,
    the server's standard error goes to that file (for tests that look for panics in it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU__")}
    errors = open(log, "w") if log else subprocess.PIPE
    proc = subprocess.Popen(
        [
            zhongshu_bin(),
            "serve",
            "--data-dir",
            str(data),
            "--http",
            "127.0.0.1:0",
            "--pgwire",
            "127.0.0.1:0",
            "--flight",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=env,
    )
    base = None
    pg = None
    flight = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line or "press Ctrl-C" in line:
            break
        m = re.search(r"HTTP\s+(http://[0-9.:]+)", line)
        if m:
            base = m.group(1)
        m = re.search(r"pgwire\s+postgresql://USER@([0-9.]+):([0-9]+)/", line)
        if m:
            pg = (m.group(1), int(m.group(2)))
        m = re.search(r"flight\s+(grpc://[0-9.:]+)", line)
        if m:
            flight = m.group(1)
    if base is None:
        proc.kill()
        said = proc.stderr.read() if proc.stderr else Path(log).read_text()
        raise RuntimeError("server did not announce its address: " + said)
    server = Server(base)
    if pg:
        server.pg_host, server.pg_port = pg
    server.flight = flight
    server.pid = proc.pid
    try:
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if log:
            errors.close()


@pytest.fixture(scope="session")
def server(demo):
    """`zhongshu serve` on the demo deployment; yields its base URL."""
    with serving(demo) as base:
        yield base
