"""The governed path under load for a long time (issue 15): many clients at every door mixing
queries, statements the server must refuse, clients that hang up mid-stream, reconnections and
grants revoked while they read; one more principal measures that it is served throughout.

    python bench/soak.py ZHONGSHU_BIN [--minutes 10] [--clients 64] [--scale 0.2]

Prints one JSON line and fails (exit 1) when anything below does not hold:
- no statement breaks its connection (a refusal is an answer; a dropped connection is not);
- no read of the revoked principal answers rows once the revocation has been committed;
- the sentinel principal is answered every second at every door;
- the server's memory stops growing after the first minute (its caches and allocator arenas
  fill in that minute and stay: what would grow with time is a leak), and its open files come
  back to the baseline when the clients stop;
- every statement the audit recorded as started has its completion, and the hash chains verify.

Every client connects from 127.0.0.1, and the probing limit counts per principal and host: with
it on, the reader's refusals between grants would soon refuse all its statements as probing, and
the revocation check would test nothing. So the soak turns it off (the tests attack it).
"""

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import psycopg
import requests

STREET, RSJ, PURPOSE = "pingshan_street", "rsj_user", "就业补贴审核"
READER, PERSONS = "scjg_officer", "440310-GA-0001"  # reads persons only while granted
SENTINEL = "gaj_officer"  # owns the persons register; no client uses it
LONG = "SELECT count(*) FROM generate_series(1, 20000000000) AS t(v) WHERE v % 7 = 3"
GOOD = [
    "SELECT count(*) FROM base.persons",
    "SELECT street_code, count(*) FROM base.persons GROUP BY street_code ORDER BY 2 DESC",
    "SELECT * FROM base.persons LIMIT 1000",
    "SELECT sex, street_code FROM base.persons WHERE sex = '2' ORDER BY street_code LIMIT 500",
    "SELECT d.code, count(*) FROM base.persons p JOIN base.divisions d ON p.street_code = d.code "
    "GROUP BY d.code",
    "SELECT count(*) FROM base.divisions",
]
BAD = [
    "SELEC 1", "SELECT * FROM base.nothing_here", "SELECT secret FROM base.persons",
    "SELECT " + "+".join(["1"] * 20000), "SELECT length(repeat('x', 1000000000))",
    "DROP TABLE base.persons", "SET datafusion.execution.batch_size = 1", "SELECT 1/0",
]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.broken = []
        self.leaks = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n


def zs(binary, data, *args):
    out = subprocess.run([binary, *args, "--data-dir", str(data)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"zhongshu {' '.join(args)}: {out.stderr}")
    return out.stdout


def serve(binary, data):
    proc = subprocess.Popen([binary, "serve", "--data-dir", str(data), "--http", "127.0.0.1:0",
                             "--pgwire", "127.0.0.1:0", "--flight", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=open(data.parent / "server.log", "w"),
                            text=True)
    doors = {}
    while "flight" not in doors or "http" not in doors or "pg" not in doors:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the server ended: " + (data.parent / "server.log").read_text()[-2000:])
        if m := re.search(r"HTTP\s+(http://[0-9.:]+)", line):
            doors["http"] = m.group(1)
        if m := re.search(r"pgwire\s+postgresql://USER@([0-9.]+):([0-9]+)/", line):
            doors["pg"] = (m.group(1), int(m.group(2)))
        if m := re.search(r"flight\s+(grpc://[0-9.:]+)", line):
            doors["flight"] = m.group(1)
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, doors


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def open_files(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Client:
    """One user at one door; `ask` answers ("ok", rows) or ("refused", message) and raises
    ConnectionError when the door broke the connection."""

    def __init__(self, doors, creds, user, door):
        self.doors, self.creds, self.user, self.door = doors, creds, user, door
        self.purpose = PURPOSE if user == RSJ else None
        self.conn = None

    def connect(self):
        self.close()
        c = self.creds[self.user]
        if self.door == "pgwire":
            host, port = self.doors["pg"]
            self.conn = psycopg.connect(host=host, port=port, dbname="zhongshu", user=self.user,
                                        password=c["password"], autocommit=True, connect_timeout=20)
            if self.purpose:
                self.conn.execute(f"SET zhongshu.purpose = '{self.purpose}'")
        elif self.door == "http":
            self.conn = requests.Session()
            self.conn.headers["Authorization"] = f"Bearer {c['token']}"
            if self.purpose:
                self.conn.headers["x-zhongshu-purpose"] = self.purpose.encode()
        else:
            import adbc_driver_flightsql.dbapi as flight_sql

            kwargs = {"adbc.flight.sql.authorization_header": f"Bearer {c['token']}"}
            if self.purpose:
                kwargs["adbc.flight.sql.rpc.call_header.x-zhongshu-purpose"] = urllib.parse.quote(self.purpose)
            self.conn = flight_sql.connect(self.doors["flight"], db_kwargs=kwargs, autocommit=True)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def ask(self, sql):
        if self.conn is None:
            self.connect()
        if self.door == "pgwire":
            try:
                return "ok", self.conn.execute(sql).fetchall()
            except psycopg.Error as e:
                if self.conn.broken or e.sqlstate is None:
                    self.conn = None
                    raise ConnectionError(f"pgwire: {e}") from e
                return "refused", f"{e.sqlstate} {e}"
        if self.door == "http":
            try:
                answer = self.conn.post(f"{self.doors['http']}/api/v1/sql", params={"format": "json"},
                                        data=sql.encode(), timeout=120)
            except requests.RequestException as e:
                raise ConnectionError(f"http: {e}") from e
            if answer.status_code >= 500 and answer.status_code != 503:
                raise ConnectionError(f"http {answer.status_code}: {answer.text[:300]}")
            if answer.status_code != 200:
                return "refused", answer.text
            body = answer.json()
            return ("refused", body["error"]) if body.get("error") else ("ok", body["rows"])
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                return "ok", cur.fetchall()
        except Exception as e:
            text = str(e)
            if re.search(r"UNAVAILABLE|connection reset|broken pipe", text, re.IGNORECASE):
                self.conn = None
                raise ConnectionError(f"flight: {text[:300]}") from e
            return "refused", text

    def hang_up_mid_stream(self):
        """Starts LONG and vanishes without a word (the client's machine is gone)."""
        c = self.creds[self.user]
        if self.door == "http":
            host, port = self.doors["http"].removeprefix("http://").split(":")
            body = LONG.encode()
            request = (f"POST /api/v1/sql?format=json HTTP/1.1\r\nHost: {host}\r\n"
                       f"Authorization: Bearer {c['token']}\r\nContent-Length: {len(body)}\r\n\r\n"
                       ).encode() + body
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(request)
                time.sleep(0.2)
            return
        host, port = self.doors["pg"]
        conn = psycopg.connect(host=host, port=port, dbname="zhongshu", user=self.user,
                               password=c["password"], autocommit=True, connect_timeout=20)
        conn.pgconn.send_query(LONG.encode())
        conn.pgconn.flush()
        time.sleep(0.2)
        # Gone without a Terminate: the connection is shut through a duplicate, so that libpq
        # still closes its own descriptor (closing that one here would let libpq close a number
        # another thread has been given since).
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        conn.pgconn.finish()


def client_loop(doors, creds, tally, stop, revoked_at, seed):
    rng = random.Random(seed)
    user = rng.choice([STREET, RSJ, "public_user", READER, "rsj_officer"])
    door = rng.choices(["pgwire", "http", "flight-sql"], [5, 3, 2])[0]
    client = Client(doors, creds, user, door)
    while not stop.is_set():
        roll = rng.random()
        try:
            if roll < 0.05:
                client.connect()
                tally.add("reconnect")
            elif roll < 0.10:
                client.hang_up_mid_stream()
                tally.add("hung up mid-stream")
            else:
                sql = rng.choice(BAD) if roll < 0.2 else rng.choice(GOOD)
                started = time.monotonic()
                outcome, answer = client.ask(sql)
                tally.add(f"{door} {outcome}")
                if outcome == "refused" and "probing" in str(answer):
                    tally.add("refused as probing")
                if (user == READER and outcome == "ok" and "base.persons" in sql
                        and revoked_at[0] is not None and started > revoked_at[0]):
                    tally.leaks.append((sql, started - revoked_at[0]))
        except ConnectionError as e:
            tally.broken.append((user, door, str(e)[:300]))
        except psycopg.OperationalError as e:  # connecting failed
            tally.broken.append((user, door, f"connect: {e}"[:300]))
        except Exception as e:  # a failure of this client itself: counted and shown, not fatal
            tally.add("client errors")
            if tally.counts["client errors"] <= 5:
                print(f"client error ({user}, {door}): {e!r}"[:300], file=sys.stderr)
    client.close()


def revoker(binary, data, tally, stop, revoked_at):
    """Grants READER the persons register and revokes it, over and over; `revoked_at[0]` is
    when the last revocation was committed (None while a grant stands)."""
    while not stop.is_set():
        revoked_at[0] = None  # before the grant commits: reads may be answered from here on
        out = zs(binary, data, "grant", "create", PERSONS, "--principal", READER,
                 "--columns", "sex,street_code")
        grant = re.search(r"grant (\d+) created", out).group(1)
        tally.add("grants")
        stop.wait(5)
        zs(binary, data, "grant", "revoke", grant)
        revoked_at[0] = time.monotonic()
        tally.add("revocations")
        stop.wait(5)


def sentinel(doors, creds, stop, latencies, misses):
    clients = [Client(doors, creds, SENTINEL, d) for d in ("pgwire", "http", "flight-sql")]
    while not stop.is_set():
        for c in clients:
            started = time.monotonic()
            try:
                outcome, rows = c.ask("SELECT count(*) FROM base.persons")
                if outcome != "ok":
                    misses.append((c.door, str(rows)[:200]))
            except Exception as e:
                misses.append((c.door, str(e)[:200]))
            latencies.append(time.monotonic() - started)
        stop.wait(1)
    for c in clients:
        c.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--scale", default="0.2")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zhongshu-soak-"))
    data = work / "data"
    zs(args.binary, data, "demo", "--no-serve", "--scale", args.scale)
    config = data / "zhongshu.toml"
    config.write_text(re.sub(r"(?m)^max_probes_per_minute = .*$", "max_probes_per_minute = 0",
                             config.read_text()))
    creds = {p["username"]: p for p in json.loads((data / "demo-credentials.json").read_text())["principals"]}
    proc, doors = serve(args.binary, data)
    tally, stop, revoked_at = Tally(), threading.Event(), [None]
    latencies, misses, memory = [], [], []
    try:
        # Baseline: the server warmed by one pass of every statement at every door.
        for door in ("pgwire", "http", "flight-sql"):
            c = Client(doors, creds, STREET, door)
            for sql in GOOD:
                c.ask(sql)
            c.close()
        baseline = (resident_mib(proc.pid), open_files(proc.pid))
        threads = [threading.Thread(target=client_loop, args=(doors, creds, tally, stop, revoked_at, i))
                   for i in range(args.clients)]
        threads.append(threading.Thread(target=revoker, args=(args.binary, data, tally, stop, revoked_at)))
        threads.append(threading.Thread(target=sentinel, args=(doors, creds, stop, latencies, misses)))
        started = time.monotonic()
        for t in threads:
            t.start()
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(5)
            memory.append((time.monotonic() - started, resident_mib(proc.pid)))
            if proc.poll() is not None:
                raise RuntimeError("the server died: " + (work / "server.log").read_text()[-3000:])
        stop.set()
        for t in threads:
            t.join(timeout=180)
        ran = time.monotonic() - started
        time.sleep(15)  # abandoned statements end; idle connections close
        after = (resident_mib(proc.pid), open_files(proc.pid))
        auditor = Client(doors, creds, "auditor", "pgwire")
        _, [(records,)] = auditor.ask("SELECT count(*) FROM audit.queries")
        _, [(started_open,)] = auditor.ask(
            "SELECT count(*) FROM audit.queries s WHERE s.outcome = 'started' AND NOT EXISTS "
            "(SELECT 1 FROM audit.queries c WHERE c.completes = s.seq)")
        auditor.close()
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=30)
    verified = zs(args.binary, data, "audit", "verify")
    statements = sum(v for k, v in tally.counts.items() if k.split()[-1] in ("ok", "refused"))
    first_minute = max(m for t, m in memory if t <= 60)
    peak = max(m for _, m in memory)
    result = {
        "machine": f"{os.cpu_count()} cores", "minutes": round(ran / 60, 1), "clients": args.clients,
        "scale": args.scale, "statements": statements,
        "statements_per_s": round(statements / ran, 1), "counts": tally.counts,
        "broken": len(tally.broken), "broken_examples": tally.broken[:5],
        "reads_after_revocation": len(tally.leaks), "leak_examples": tally.leaks[:5],
        "sentinel_misses": len(misses), "miss_examples": misses[:5],
        "sentinel_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "sentinel_p99_ms": round(sorted(latencies)[int(len(latencies) * 0.99)] * 1000, 1),
        "sentinel_max_ms": round(max(latencies) * 1000, 1),
        "rss_baseline_mib": round(baseline[0]), "rss_first_minute_peak_mib": round(first_minute),
        "rss_peak_mib": round(peak),
        "rss_after_mib": round(after[0]), "open_files_baseline": baseline[1],
        "open_files_after": after[1], "audit_records": records,
        "started_without_completion": started_open,
        "audit_verified": "access audit log intact" in verified and "change log intact" in verified,
    }
    print(json.dumps(result, ensure_ascii=False))
    failures = [
        ("statements broke their connection", result["broken"]),
        ("reads answered after a revocation", result["reads_after_revocation"]),
        ("sentinel statements not answered", result["sentinel_misses"]),
        ("statements started without a completion", started_open),
        ("audit chain broken", not result["audit_verified"]),
        ("memory grew after the first minute", peak > first_minute + 64),
        ("open files not back to the baseline", after[1] > baseline[1] + 4),
    ]
    failed = [f"{what}: {n}" for what, n in failures if n]
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
