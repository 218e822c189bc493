"""The governed query path through real clients (the golden file itself is run by the
sqllogictest crate, tests/tests/golden.rs): psql's catalog commands, a database browser's catalog walk (pgjdbc's
DatabaseMetaData, and DBeaver's own navigator statements), the HTTP door in four formats, the
audit log, and many concurrent clients."""

import concurrent.futures
import io
import os
import re
import subprocess
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from conftest import run

JDBC_CLIENT = Path(__file__).resolve().parent.parent / "jdbc" / "JdbcCatalog.java"
PGJDBC = "/usr/share/java/postgresql.jar"


def connect(server, credentials, user, purpose=None):
    conn = psycopg.connect(
        host=server.pg_host,
        port=server.pg_port,
        dbname="zhongshu",
        user=user,
        password=credentials[user]["password"],
        autocommit=True,
    )
    if purpose:
        conn.execute(f"SET zhongshu.purpose = '{purpose}'")
    return conn


def psql(server, credentials, user, command):
    env = dict(os.environ, PGPASSWORD=credentials[user]["password"])
    return subprocess.run(
        [
            "psql",
            "-h", server.pg_host,
            "-p", str(server.pg_port),
            "-U", user,
            "-d", "zhongshu",
            "-v", "ON_ERROR_STOP=1",
            "-c", command,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_psql_connects_with_scram_and_lists_tables(server, credentials):
    out = psql(server, credentials, "gaj_officer", "SELECT count(*) FROM base.persons")
    assert out.returncode == 0, out.stderr
    assert "(1 row)" in out.stdout
    listing = psql(server, credentials, "gaj_officer", r"\dt base.*")
    assert listing.returncode == 0, listing.stderr
    assert "persons" in listing.stdout
    wrong = subprocess.run(
        ["psql", "-h", server.pg_host, "-p", str(server.pg_port), "-U", "gaj_officer",
         "-d", "zhongshu", "-c", "SELECT 1"],
        capture_output=True, text=True, env=dict(os.environ, PGPASSWORD="wrong"), timeout=60,
    )
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr


def test_parameters_and_purpose_over_psycopg(server, credentials):
    with connect(server, credentials, "pingshan_street") as conn:
        row = conn.execute(
            "SELECT count(*) FROM base.persons WHERE community_code LIKE %s", ("440310001%",)
        ).fetchone()
        assert row[0] > 0
        assert conn.execute("SHOW zhongshu.purpose").fetchone()[0] == ""
        conn.execute("SET zhongshu.purpose = '网格巡查'")
        assert conn.execute("SHOW zhongshu.purpose").fetchone()[0] == "网格巡查"


def jdbc(server, credentials, user, table):
    """Runs tests/jdbc/JdbcCatalog.java as `user`; returns its facts by kind."""
    out = subprocess.run(
        ["java", "-cp", PGJDBC, str(JDBC_CLIENT), server.pg_host, str(server.pg_port), user,
         credentials[user]["password"], table],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    facts = {}
    for line in out.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        facts.setdefault(kind, []).append(rest)
    return facts


def test_jdbc_metadata_shows_each_principal_its_own_catalog(server, credentials):
    street = jdbc(server, credentials, "pingshan_street", "base.persons")
    assert street["user"] == ["pingshan_street"]
    assert street["catalog"] == ["zhongshu"]
    assert {"base", "theme"} <= set(street["schema"])
    assert "base.persons\tTABLE" in street["table"]
    columns = [c.split("\t")[0] for c in street["column"]]
    assert "mobile" in columns
    assert "id_no" not in columns, "an L4 column not granted to the street must not be listed"
    assert street["primary_keys"] == ["0"]
    assert street["indexes"] == ["0"]
    assert street["foreign_keys"] == ["0"]
    assert int(street["count"][0]) > 0
    assert len(street["row"]) == 3
    for row in street["row"]:
        assert re.search(r"\tmobile=1\d\d\*{4}\d{4}(\t|$)", row), row
        assert "\tstreet_code=440310001\t" in row, row
    assert [e.split("\t")[:2] for e in street["error"]] == [["delete", "42501"]]

    owner = jdbc(server, credentials, "gaj_officer", "base.persons")
    assert "id_no" in [c.split("\t")[0] for c in owner["column"]]
    assert [e.split("\t")[:2] for e in owner["error"]] == [["delete", "42501"]]

    public = jdbc(server, credentials, "public_user", "base.persons")
    assert "theme" not in public["schema"]
    assert not [t for t in public.get("table", []) if t.startswith("base.persons")]
    assert "column" not in public
    errors = {e.split("\t")[0]: e.split("\t")[1] for e in public["error"]}
    assert errors["count"] == "42P01" and errors["rows"] == "42P01", errors


# What DBeaver (plugins/org.jkiss.dbeaver.ext.postgresql) sends to draw its navigator tree, on
# connect and as the user opens a schema's tables and a table's columns; `?` become parameters.
DBEAVER_CONNECT = [
    "SHOW search_path",
    "SELECT current_schema(),session_user",
    "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=%s",
    "select * from pg_catalog.pg_settings where name=%s",
    "SELECT version()",
    "SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1",
    "SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1",
    "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description\n"
    "FROM pg_catalog.pg_type t\n"
    "LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem \n"
    "LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n"
    "WHERE t.typname IS NOT NULL\n"
    "AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')",
    "SELECT * FROM pg_catalog.pg_enum",
]
DBEAVER_SCHEMAS = (
    "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 "
    "AND d.classoid='pg_namespace'::regclass\n ORDER BY nspname"
)
DBEAVER_TABLES = (
    "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  "
    "pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n"
    "FROM pg_catalog.pg_class c\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
    "AND d.classoid='pg_class'::regclass\n"
    "WHERE c.relnamespace=%s AND c.relkind not in ('i','I','c')"
)
DBEAVER_COLUMNS = (
    "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid\n"
    "FROM pg_catalog.pg_attribute a\n"
    "INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n"
    "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\n"
    "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n"
    "LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' "
    "and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\n"
    "WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=%s\n"
    "ORDER BY a.attnum"
)


def dbeaver_tree(server, credentials, user):
    """Walks DBeaver's navigator as `user`: {schema: {table: [columns]}} for base."""
    params = {"datname": ("zhongshu",), "pg_settings": ("standard_conforming_strings",)}
    with connect(server, credentials, user) as conn:
        for sql in DBEAVER_CONNECT:
            args = next((v for k, v in params.items() if k in sql and "%s" in sql), ())
            conn.execute(sql, args).fetchall()
        assert conn.execute(DBEAVER_CONNECT[1]).fetchone()[1] == user
        cur = conn.execute(DBEAVER_SCHEMAS)
        names = [d.name for d in cur.description]
        schemas = {r[names.index("nspname")]: r[0] for r in cur.fetchall()}
        tree = {}
        if "base" not in schemas:
            return tree
        cur = conn.execute(DBEAVER_TABLES, (schemas["base"],))
        names = [d.name for d in cur.description]
        tables = {r[names.index("relname")]: r[0] for r in cur.fetchall()}
        for table, oid in tables.items():
            cur = conn.execute(DBEAVER_COLUMNS, (oid,))
            names = [d.name for d in cur.description]
            tree[table] = [r[names.index("attname")] for r in cur.fetchall()]
    return tree


def test_dbeaver_navigator_shows_each_principal_its_own_tree(server, credentials):
    street = dbeaver_tree(server, credentials, "pingshan_street")
    assert "persons" in street
    assert "mobile" in street["persons"] and "id_no" not in street["persons"]
    owner = dbeaver_tree(server, credentials, "gaj_officer")
    assert "id_no" in owner["persons"]
    public = dbeaver_tree(server, credentials, "public_user")
    assert "persons" not in public and public, public


def sql_http(server, token, sql, fmt="json", purpose=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if purpose:
        headers["x-zhongshu-purpose"] = purpose.encode("utf-8")
    return requests.post(
        f"{server}/api/v1/sql", params={"format": fmt}, data=sql.encode("utf-8"),
        headers=headers, timeout=60,
    )


def test_http_sql_in_every_format(server, credentials):
    token = credentials["rsj_user"]["token"]
    sql = "SELECT id_no, name, birth_date FROM base.persons ORDER BY id_no LIMIT 50"
    purpose = "就业补贴审核"
    body = sql_http(server, token, sql, "json", purpose)
    assert body.status_code == 200, body.text
    doc = body.json()
    assert [c["name"] for c in doc["columns"]] == ["id_no", "name", "birth_date"]
    assert doc["row_count"] == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", r[0]) for r in doc["rows"])
    csv = sql_http(server, token, sql, "csv", purpose)
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "id_no,name,birth_date"
    assert len(csv.text.splitlines()) == 51
    empty = sql_http(server, token, sql.replace("LIMIT 50", "LIMIT 0"), "csv", purpose)
    assert empty.text.splitlines() == ["id_no,name,birth_date"]
    arrow = pa.ipc.open_stream(sql_http(server, token, sql, "arrow", purpose).content).read_all()
    assert arrow.num_rows == 50 and arrow.column_names == ["id_no", "name", "birth_date"]
    table = pq.read_table(io.BytesIO(sql_http(server, token, sql, "parquet", purpose).content))
    assert table.num_rows == 50
    assert table.column("id_no").to_pylist() == arrow.column("id_no").to_pylist()


def test_http_sql_errors(server, credentials):
    assert sql_http(server, None, "SELECT 1").status_code == 401
    token = credentials["rsj_user"]["token"]
    denied = sql_http(server, token, "SELECT count(*) FROM base.persons")
    assert denied.status_code == 403, denied.text
    error = denied.json()["error"]
    assert "就业补贴审核" in error["message"] and error["code"] == "forbidden" and error["sqlstate"] == "42501"
    refused = sql_http(server, token, "DROP TABLE base.persons")
    assert refused.status_code == 403
    assert sql_http(server, token, "SELEC 1").status_code == 400
    assert sql_http(server, token, "SELECT 1", "xml").status_code == 400


def test_audit_holds_every_query_and_verifies(server, credentials, demo):
    marker = "SELECT 'audit-marker-7' AS m"
    with connect(server, credentials, "scjg_officer") as conn:
        conn.execute(marker).fetchall()
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT count(*) FROM base.persons").fetchall()
    with connect(server, credentials, "auditor") as conn:
        rows = conn.execute(
            "SELECT principal, protocol, outcome, rows_returned FROM audit.queries "
            "WHERE principal = 'scjg_officer' ORDER BY seq DESC LIMIT 2"
        ).fetchall()
    assert rows[0][2] == "denied" and rows[0][1] == "pgwire"
    assert rows[1] == ("scjg_officer", "pgwire", "ok", 1)
    verify = run("audit", "verify", "--data-dir", str(demo))
    assert verify.returncode == 0, verify.stderr
    assert "access audit log intact" in verify.stdout


def test_sixty_four_concurrent_clients(server, credentials):
    users = ["gaj_officer", "pingshan_street", "scjg_officer", "rsj_officer",
             "cdo", "admin", "privacy", "auditor", "public_user"]

    def one(i):
        user = users[i % len(users)]
        with connect(server, credentials, user) as conn:
            return conn.execute("SELECT count(*) FROM base.divisions").fetchone()[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(one, range(64)))
    assert len(results) == 64 and len(set(results)) == 1 and results[0] > 0


def test_cli_sql_is_governed(demo):
    out = run("sql", "--data-dir", str(demo), "--as", "pingshan_street", "--format", "csv",
              "SELECT DISTINCT street_code FROM base.persons")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["street_code", "440310001"]
    denied = run("sql", "--data-dir", str(demo), "--as", "scjg_officer",
                 "SELECT count(*) FROM base.persons")
    assert denied.returncode != 0
    assert "有条件共享" in denied.stderr


def test_flight_sql_with_adbc_into_pandas_and_polars(server, credentials):
    import urllib.parse

    import adbc_driver_flightsql.dbapi as flight_sql
    import polars as pl

    purpose = urllib.parse.quote("就业补贴审核")
    token = credentials["rsj_user"]["token"]
    kwargs = {
        "adbc.flight.sql.authorization_header": f"Bearer {token}",
        "adbc.flight.sql.rpc.call_header.x-zhongshu-purpose": purpose,
    }
    with flight_sql.connect(server.flight, db_kwargs=kwargs, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id_no, name, street_code FROM base.persons ORDER BY id_no LIMIT 100")
            frame = cur.fetch_df()
            assert len(frame) == 100
            assert frame["id_no"].str.fullmatch(r"[0-9a-f]{32}").all()
            cur.execute("SELECT street_code, count(*) AS n FROM base.persons GROUP BY street_code")
            table = cur.fetch_arrow_table()
            polars = pl.from_arrow(table)
            assert polars["n"].sum() > 0
    # Without the purpose the same principal is refused, and the refusal is audited (once,
    # though Flight SQL plans when it describes the statement and never fetches it).
    bare = {"adbc.flight.sql.authorization_header": f"Bearer {token}"}
    refused = "SELECT count(*) AS refused_marker_3 FROM base.persons"
    with flight_sql.connect(server.flight, db_kwargs=bare, autocommit=True) as conn:
        with conn.cursor() as cur:
            with pytest.raises(Exception, match="就业补贴审核"):
                cur.execute(refused)
                cur.fetchall()
    with connect(server, credentials, "auditor") as conn:
        rows = conn.execute(
            "SELECT protocol, outcome, sql_text FROM audit.queries "
            "WHERE principal = 'rsj_user' AND protocol = 'flight-sql' ORDER BY seq"
        ).fetchall()
    assert [r[1] for r in rows if r[2] == refused] == ["denied"]
    answered = [r for r in rows if r[2].startswith("SELECT street_code, count(*) AS n")]
    assert [r[1] for r in answered] == ["started", "ok"]
    with pytest.raises(Exception):
        bad = {"adbc.flight.sql.authorization_header": "Bearer zs_wrong"}
        with flight_sql.connect(server.flight, db_kwargs=bad, autocommit=True) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
