"""The quality benchmark's peer: the ten rules of bench/quality-rules.toml written as DuckDB SQL
over the Parquet files of the landed Delta table (a fresh append, so every file is live).

  python quality_duckdb.py TABLE_DIR GB2260_DIR OUT.json

Row rules share one scan (one SUM per rule), the uniqueness rule is a GROUP BY, as a data
engineer would write them. GB 11643 check digits, dates and GB/T 2260 codes are checked exactly
as zhongshu's validators do, so both must report the same failing counts.
"""

import json
import sys

import duckdb

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def main(table_dir: str, gb2260: str, out: str) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{table_dir}/*.parquet')")
    con.execute(
        "CREATE TABLE divisions AS SELECT CAST(code AS VARCHAR) AS code FROM read_csv("
        f"['{gb2260}/provinces.csv', '{gb2260}/cities.csv', '{gb2260}/counties.csv', "
        f"'{gb2260}/shenzhen-streets.csv', '{gb2260}/shenzhen-communities.csv'], "
        "union_by_name = true, all_varchar = true)")
    weighted = " + ".join(f"CAST(substr(v, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(WEIGHTS))
    con.execute(f"""
        CREATE MACRO valid_id(v) AS (
            regexp_full_match(v, '[0-9]{{17}}[0-9Xx]')
            AND CAST(substr(v, 7, 4) AS INTEGER) BETWEEN 1900 AND 2100
            AND try_strptime(substr(v, 7, 8), '%Y%m%d') IS NOT NULL
            AND upper(substr(v, 18, 1)) = substr('10X98765432', (({weighted}) % 11) + 1, 1))""")
    rules = {
        "id-check-digit": "id_no IS NOT NULL AND NOT valid_id(id_no)",
        "id-agreement": """id_no IS NOT NULL AND valid_id(id_no) AND (
            (birth_date IS NOT NULL AND strftime(birth_date, '%Y-%m-%d')
                <> substr(id_no, 7, 4) || '-' || substr(id_no, 11, 2) || '-' || substr(id_no, 13, 2))
            OR (sex IS NOT NULL AND (CASE sex WHEN '男' THEN '1' WHEN '女' THEN '2' ELSE sex END)
                <> (CASE WHEN CAST(substr(id_no, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END)))""",
        "sex-code": "sex IS NOT NULL AND sex NOT IN ('0', '1', '2', '9')",
        "native-division": "native_division IS NOT NULL AND native_division NOT IN (SELECT code FROM divisions)",
        "mobile-valid": "mobile IS NOT NULL AND NOT regexp_full_match(mobile, '1[3-9][0-9]{9}')",
        "mobile-present": "mobile IS NULL OR trim(mobile) = ''",
        "name-present": "name IS NULL OR trim(name) = ''",
        "income-range": "monthly_income IS NOT NULL AND (monthly_income < 0 OR monthly_income > 1000000)",
        "street-code": "street_code IS NOT NULL AND NOT regexp_matches(street_code, '^440310[0-9]{3}$')",
    }
    sums = ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in rules.values())
    row = con.execute(f"SELECT COUNT(*), {sums} FROM t").fetchone()
    failed = {name: int(row[i + 1] or 0) for i, name in enumerate(rules)}
    failed["id-unique"] = int(con.execute(
        "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM t GROUP BY id_no)").fetchone()[0])
    with open(out, "w") as f:
        json.dump({"rows": int(row[0]), "failed": failed}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
