"""Every source behind the one Source trait lands through the same machinery: JSON arrays, XLSX
workbooks, a paginated HTTP API and a PostgreSQL table (both incremental on a watermark), plus
the snapshot-with-history (SCD2) mode, schema evolution, type-change drift, parse formats,
derived columns and element bindings. Landed tables are read back with the deltalake package."""

import datetime as dt
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from conftest import zhongshu_bin

RESOURCE = "440310-RS-0001"
HEADER = ["id_no", "name", "insurance_type", "employer_uscc", "status", "enrolled_on", "monthly_base"]


def zs(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU__")}
    return subprocess.run([zhongshu_bin(), *args], capture_output=True, text=True, env=env, timeout=300)


def ok(*args):
    out = zs(*args)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def id_no(n: int) -> str:
    """A valid resident ID (GB 11643 check digit) for person n."""
    body = f"440310199001{n % 28 + 1:02d}{n:03d}"[:17]
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


@pytest.fixture()
def data(tmp_path):
    data = tmp_path / "data"
    ok("demo", "--no-serve", "--scale", "0.01", "--data-dir", str(data))
    return data


def create_job(tmp_path, data, text):
    path = tmp_path / "job.toml"
    path.write_text(text)
    return zs("ingest", "create", str(path), "--data-dir", str(data))


def run_job(data, job):
    return zs("ingest", "run", job, "--data-dir", str(data))


def quarantine(data, job):
    return json.loads(ok("ingest", "quarantine", job, "--json", "--data-dir", str(data)))


def history(data, job):
    return json.loads(ok("ingest", "history", job, "--json", "--data-dir", str(data)))


def table(data, name="main"):
    """The landed table `name` of the resource, read with the deltalake package."""
    detail = json.loads(ok("catalog", "resource", RESOURCE, "--json", "--data-dir", str(data)))
    location = [t["location"] for t in detail["tables"] if t["name"] == name][0]
    return DeltaTable(location).to_pyarrow_table()


def person(n, **changes):
    row = {
        "id_no": id_no(n),
        "name": f"测试{n}",
        "insurance_type": "失业保险",
        "employer_uscc": None,
        "status": "正常参保",
        "enrolled_on": "2026-11-01",
        "monthly_base": 5000.0 + n,
    }
    row.update(changes)
    return row


def test_json_arrays_stream_and_name_the_bad_element(tmp_path, data):
    (data / "incoming/json").mkdir(parents=True)
    rows = [person(i) for i in range(5)] + [person(9, monthly_base="很多")]
    text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"
    (data / "incoming/json/batch.json").write_text(text)
    out = create_job(tmp_path, data, f'''
id = "json-array"
resource = "{RESOURCE}"
[source]
kind = "files"
dir = "incoming/json"
format = "json"
''')
    assert out.returncode == 0, out.stderr
    out = run_job(data, "json-array")
    assert out.returncode == 0, out.stderr
    assert "6 rows read = 5 written + 1 quarantined" in out.stdout, out.stdout
    q = quarantine(data, "json-array")
    assert [(r["line"], r["column"], r["rule"]) for r in q] == [("7", "monthly_base", "type")]

    (data / "incoming/json/broken.json").write_text(
        "[" + json.dumps(person(11), ensure_ascii=False) + ',\n{"id_no": ')
    out = run_job(data, "json-array")
    assert out.returncode != 0
    assert "broken.json:2:" in out.stderr and "rule: json" in out.stderr, out.stderr


def test_xlsx_workbooks(tmp_path, data):
    openpyxl = pytest.importorskip("openpyxl")
    (data / "incoming/xlsx").mkdir(parents=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "参保"
    sheet.append(["公民身份号码", "name", "insurance_type", "employer_uscc", "status", "enrolled_on", "monthly_base"])
    for i in range(3):
        sheet.append([id_no(i), f"表格{i}", "工伤保险", None, "正常参保", dt.date(2026, 10, i + 1), 4200 + i])
    sheet.append([id_no(7), "坏行", "工伤保险", None, "正常参保", "十月", 4200])
    book.save(data / "incoming/xlsx/2026-10.xlsx")
    out = create_job(tmp_path, data, f'''
id = "xlsx"
resource = "{RESOURCE}"
[source]
kind = "files"
dir = "incoming/xlsx"
format = "xlsx"
sheet = "参保"
[columns]
id_no = "公民身份号码"
''')
    assert out.returncode == 0, out.stderr
    out = run_job(data, "xlsx")
    assert out.returncode == 0, out.stderr
    assert "4 rows read = 3 written + 1 quarantined" in out.stdout, out.stdout
    q = quarantine(data, "xlsx")
    assert [(r["line"], r["column"], r["rule"]) for r in q] == [("5", "enrolled_on", "type")]
    landed = {r["name"]: r for r in table(data).to_pylist() if r["name"].startswith("表格")}
    assert landed["表格1"]["enrolled_on"] == dt.date(2026, 10, 2)
    assert landed["表格2"]["monthly_base"] == 4202.0


class Api:
    """A department's paginated JSON API, recording what it was asked."""

    def __init__(self):
        self.records = []
        self.requests = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                api.requests.append(query)
                if self.headers.get("Authorization") != "Bearer t0ken":
                    self.send_response(401)
                    self.end_headers()
                    return
                rows = [r for r in api.records if r["updated_at"] > query.get("since", "")]
                if url.path == "/paged":
                    page, size = int(query["page"]), int(query["page_size"])
                    body = {"data": {"items": rows[(page - 1) * size:page * size]}}
                else:  # /cursor
                    start = int(query.get("cursor", "0"))
                    nxt = start + 2 if start + 2 < len(rows) else None
                    body = {"items": rows[start:start + 2], "next": nxt}
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_http_api_pages_and_watermark(tmp_path, data):
    api = Api()
    api.records = [dict(person(i), updated_at=f"2026-11-0{1 + i // 3}T08:00:00") for i in range(7)]
    os.environ["ZHONGSHU_TEST_API_TOKEN"] = "t0ken"
    out = create_job(tmp_path, data, f'''
id = "api"
resource = "{RESOURCE}"
[source]
kind = "http"
url = "{api.url}/paged"
records = "data.items"
pagination = {{ style = "page", size = 3 }}
headers = {{ Authorization = "Bearer ${{ZHONGSHU_TEST_API_TOKEN}}" }}
watermark = "updated_at"
[drift]
extra_columns = "ignore"
''')
    assert out.returncode == 0, out.stderr
    out = run_job(data, "api")
    assert out.returncode == 0, out.stderr
    assert "7 rows read = 7 written + 0 quarantined" in out.stdout, out.stdout
    # A short page is no end (an API may cap the page size): the empty page 4 ends them.
    assert [r.get("page") for r in api.requests] == ["1", "2", "3", "4"]
    assert "since" not in api.requests[0]

    # Nothing new: the API is asked from the watermark and nothing lands.
    api.requests.clear()
    out = run_job(data, "api")
    assert out.returncode == 0, out.stderr
    assert api.requests[0]["since"] == "2026-11-03T08:00:00"
    assert history(data, "api")[0]["rows_read"] == 0

    api.records.append(dict(person(20), updated_at="2026-11-05T09:30:00"))
    out = run_job(data, "api")
    assert out.returncode == 0, out.stderr
    assert "1 rows read = 1 written + 0 quarantined" in out.stdout, out.stdout
    runs = history(data, "api")
    assert runs[0]["inputs"][0]["kind"] == "http"
    assert runs[0]["inputs"][1] == {
        "kind": "watermark", "name": f"watermark updated_at of {api.url}/paged",
        "size": 0, "checksum": "2026-11-05T09:30:00", "rows": 0,
    }
    # The spooled pages are kept as the evidence of what was delivered.
    assert os.path.exists(runs[0]["inputs"][0]["name"])


def test_http_api_cursor_pages_and_errors(tmp_path, data):
    api = Api()
    api.records = [dict(person(i), updated_at="2026-11-01") for i in range(5)]
    os.environ["ZHONGSHU_TEST_API_TOKEN"] = "t0ken"
    out = create_job(tmp_path, data, f'''
id = "api-cursor"
resource = "{RESOURCE}"
mode = "overwrite"
path = "shared/api_mirror"
table = "mirror"
[source]
kind = "http"
url = "{api.url}/cursor"
records = "items"
pagination = {{ style = "next", field = "next", cursor_param = "cursor" }}
headers = {{ Authorization = "Bearer ${{ZHONGSHU_TEST_API_TOKEN}}" }}
[drift]
extra_columns = "ignore"
''')
    assert out.returncode == 0, out.stderr
    out = run_job(data, "api-cursor")
    assert out.returncode == 0, out.stderr
    assert "5 rows read = 5 written + 0 quarantined" in out.stdout, out.stdout
    assert [r.get("cursor") for r in api.requests] == [None, "2", "4"]
    assert table(data, "mirror").num_rows == 5

    os.environ["ZHONGSHU_TEST_API_TOKEN"] = "wrong"
    out = run_job(data, "api-cursor")
    assert out.returncode != 0
    assert "401" in out.stderr and "/cursor" in out.stderr, out.stderr


def psql(url, sql):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_postgres_table_incremental_on_a_watermark(tmp_path, data):
    url = os.environ.get("ZHONGSHU_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("ZHONGSHU_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)")
    psql(url, "DROP TABLE IF EXISTS rsj_enrolments")
    psql(url, """CREATE TABLE rsj_enrolments (seq bigint primary key, sfzh text, name text,
        insurance_type text, employer_uscc text, status text, enrolled_on date,
        monthly_base numeric, updated_at timestamp)""")
    values = ",".join(
        f"({i}, '{id_no(i)}', '库{i}', '医疗保险', NULL, '正常参保', '2026-09-0{i % 9 + 1}', {3000 + i}, "
        f"'2026-11-01 08:00:0{i}')" for i in range(6))
    psql(url, f"INSERT INTO rsj_enrolments VALUES {values}")
    psql(url, "INSERT INTO rsj_enrolments VALUES (6, '123', '坏号', '医疗保险', NULL, '正常参保', "
              "'2026-09-01', 3000, '2026-11-01 08:00:06')")
    out = create_job(tmp_path, data, f'''
id = "pg"
resource = "{RESOURCE}"
[source]
kind = "postgres"
url = "{url}"
query = "SELECT seq, sfzh, name, insurance_type, employer_uscc, status, enrolled_on, monthly_base, updated_at FROM rsj_enrolments"
watermark = "updated_at"
[columns]
id_no = "sfzh"
[drift]
extra_columns = "ignore"
[[checks]]
kind = "validator"
column = "id_no"
validator = "resident_id"
''')
    assert out.returncode == 0, out.stderr
    out = run_job(data, "pg")
    assert out.returncode == 0, out.stderr
    assert "7 rows read = 6 written + 1 quarantined" in out.stdout, out.stdout
    q = quarantine(data, "pg")
    assert [(r["column"], r["rule"]) for r in q] == [("id_no", "validator:resident_id")]

    out = run_job(data, "pg")
    assert out.returncode == 0, out.stderr
    assert history(data, "pg")[0]["rows_read"] == 0

    psql(url, f"INSERT INTO rsj_enrolments VALUES (7, '{id_no(7)}', '新增', '医疗保险', NULL, '正常参保', "
              "'2026-09-01', 3100.5, '2026-11-02 09:00:00')")
    out = run_job(data, "pg")
    assert out.returncode == 0, out.stderr
    assert "1 rows read = 1 written + 0 quarantined" in out.stdout, out.stdout
    inputs = history(data, "pg")[0]["inputs"]
    assert inputs[0]["kind"] == "query"
    assert json.loads(inputs[0]["checksum"]) == {"after": "2026-11-01 08:00:06", "through": "2026-11-02 09:00:00"}
    names = [r["name"] for r in table(data).to_pylist()]
    assert names.count("新增") == 1 and names.count("库3") == 1


def test_history_mode_keeps_every_version(tmp_path, data):
    (data / "incoming/snap").mkdir(parents=True)
    out = create_job(tmp_path, data, f'''
id = "snap"
resource = "{RESOURCE}"
table = "history"
path = "base/social_insurance/enrolments_history"
mode = "history"
keys = ["id_no"]
[source]
kind = "files"
dir = "incoming/snap"
format = "json_lines"
''')
    assert out.returncode == 0, out.stderr

    def deliver(name, rows):
        (data / "incoming/snap" / name).write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
        out = run_job(data, "snap")
        assert out.returncode == 0, out.stderr
        return out.stdout

    deliver("day1.jsonl", [person(1), person(2), person(3)])
    out = deliver("day2.jsonl", [person(1), person(2, status="暂停参保"), person(4), person(4, name="重复")])
    assert "4 rows read = 3 written + 1 quarantined" in out, out
    rows = table(data, "history").to_pylist()
    by_key = {}
    for r in rows:
        by_key.setdefault(r["id_no"], []).append(r)
    # Unchanged: one open version.
    assert [(r["valid_to"] is None) for r in by_key[id_no(1)]] == [True]
    # Changed: the old version closed, the new one open, the close time the open time.
    two = sorted(by_key[id_no(2)], key=lambda r: r["valid_from"])
    assert [r["status"] for r in two] == ["正常参保", "暂停参保"]
    assert two[0]["valid_to"] == two[1]["valid_from"] and two[1]["valid_to"] is None
    # Gone from the snapshot: closed. New: opened.
    assert by_key[id_no(3)][0]["valid_to"] is not None
    assert [r["name"] for r in by_key[id_no(4)]] == ["测试4"] and by_key[id_no(4)][0]["valid_to"] is None
    assert len(rows) == 5


def test_schema_evolution_adds_columns_by_policy(tmp_path, data):
    (data / "incoming/evolve").mkdir(parents=True)
    header = ",".join(HEADER)
    (data / "incoming/evolve/a.csv").write_text(
        f"{header},remark\n{id_no(1)},甲,失业保险,,正常参保,2026-11-01,5000,补录\n")
    job = f'''
id = "evolve"
resource = "{RESOURCE}"
[source]
kind = "files"
dir = "incoming/evolve"
format = "csv"
encoding = "utf8"
[drift]
extra_columns = "POLICY"
'''
    assert create_job(tmp_path, data, job.replace("POLICY", "refuse")).returncode == 0
    out = run_job(data, "evolve")
    assert out.returncode != 0 and "unexpected column(s) remark" in out.stderr, out.stderr
    assert create_job(tmp_path, data, job.replace("POLICY", "add")).returncode == 0
    out = run_job(data, "evolve")
    assert out.returncode == 0, out.stderr
    resource = json.loads(ok("catalog", "resource", RESOURCE, "--json", "--data-dir", str(data)))
    remark = [c for c in resource["columns"] if c["name"] == "remark"]
    assert remark and remark[0]["data_type"] == "string"
    assert remark[0]["grade"] == max(c["grade"] for c in resource["columns"])
    landed = table(data)
    assert "remark" in landed.column_names
    values = landed.column("remark").to_pylist()
    assert values.count("补录") == 1 and values.count(None) == len(values) - 1


def test_type_change_fails_naming_column_expected_and_found(tmp_path, data):
    (data / "incoming/pq").mkdir(parents=True)
    assert create_job(tmp_path, data, f'''
id = "typed"
resource = "{RESOURCE}"
[source]
kind = "files"
dir = "incoming/pq"
format = "parquet"
''').returncode == 0
    pq.write_table(pa.table({
        "id_no": [id_no(1)], "name": ["甲"], "insurance_type": ["失业保险"], "employer_uscc": [None],
        "status": ["正常参保"], "enrolled_on": [20261101], "monthly_base": [5000.0],
    }), data / "incoming/pq/typed.parquet")
    out = run_job(data, "typed")
    assert out.returncode != 0
    assert "typed.parquet: column `enrolled_on`" in out.stderr, out.stderr
    assert "expected date, found Int64" in out.stderr, out.stderr
    assert history(data, "typed")[0]["table_version"] is None


def test_cast_formats_derived_columns_and_bindings(tmp_path, data):
    (data / "incoming/cast").mkdir(parents=True)
    (data / "incoming/cast/a.csv").write_text(
        "id_no,name,insurance_type,employer_uscc,enrolled_on,monthly_base\n"
        f"{id_no(1)},甲,失业保险,,2026年11月03日,6000\n"
        f"{id_no(2)},乙,失业保险,,2026年11月04日,4000\n"
        f"{id_no(3)},丙,失业保险,,11/04/2026,4000\n")
    job = f'''
id = "cast"
resource = "{RESOURCE}"
[source]
kind = "files"
dir = "incoming/cast"
format = "csv"
encoding = "utf8"
[cast]
enrolled_on = "%Y年%m月%d日"
[derive]
status = "CASE WHEN monthly_base >= 5000 THEN '正常参保(高基数)' ELSE '正常参保' END"
[bind]
employer_uscc = "统一社会信用代码"
'''
    ok("catalog", "unbind", RESOURCE, "employer_uscc", "--data-dir", str(data))
    out = create_job(tmp_path, data, job)
    assert out.returncode == 0, out.stderr
    resource = json.loads(ok("catalog", "resource", RESOURCE, "--json", "--data-dir", str(data)))
    uscc = [c for c in resource["columns"] if c["name"] == "employer_uscc"][0]
    assert uscc["binding"] == "replica" and uscc["element"]
    out = run_job(data, "cast")
    assert out.returncode == 0, out.stderr
    assert "3 rows read = 2 written + 1 quarantined" in out.stdout, out.stdout
    rows = table(data).to_pylist()
    landed = {r["name"]: r for r in rows if r["name"] in ("甲", "乙")}
    assert landed["甲"]["enrolled_on"] == dt.date(2026, 11, 3)
    assert landed["甲"]["status"] == "正常参保(高基数)" and landed["乙"]["status"] == "正常参保"

    # 一数一源: the job may not make a second authoritative source.
    out = create_job(tmp_path, data, job.replace(
        'employer_uscc = "统一社会信用代码"',
        'employer_uscc = { element = "统一社会信用代码", role = "source" }'))
    assert out.returncode != 0 and "source" in out.stderr, out.stderr
    # Bad specifications are refused when the job is created.
    out = create_job(tmp_path, data, job.replace("monthly_base >= 5000", "no_such_column >= 5000"))
    assert out.returncode != 0 and "[derive] status" in out.stderr, out.stderr
    out = create_job(tmp_path, data, job.replace("[cast]\nenrolled_on", "[cast]\nname"))
    assert out.returncode != 0 and "date and timestamp" in out.stderr, out.stderr


def test_a_delta_source_cannot_append(tmp_path, data):
    out = create_job(tmp_path, data, f'''
id = "city-append"
resource = "{RESOURCE}"
mode = "append"
[source]
kind = "delta"
url = "{data}/nowhere"
''')
    assert out.returncode != 0 and "read whole at its latest version" in out.stderr, out.stderr
