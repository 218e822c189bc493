//! Ingest end to end through the binary: row conservation, quarantine, exactly-once re-runs,
//! crashes at several points, and schema drift.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use zhongshu_tests::{ok, zhongshu};

/// A small demo deployment plus an ingest job for more social-insurance deliveries (GBK CSV
/// with the department's own column name for the ID number).
fn setup(dir: &Path) -> String {
    let data = dir.to_str().unwrap().to_owned();
    ok(zhongshu(&[
        "demo",
        "--no-serve",
        "--scale",
        "0.02",
        "--data-dir",
        &data,
    ]));
    std::fs::create_dir_all(dir.join("incoming/rsj")).unwrap();
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        r#"
id = "rsj-monthly"
resource = "440310-RS-0001"
mode = "append"
[source]
kind = "files"
dir = "incoming/rsj"
glob = "*.csv"
format = "csv"
encoding = "gbk"
[columns]
id_no = "SFZH"
"#,
    )
    .unwrap();
    ok(zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        &data,
    ]));
    data
}

const HEADER: &str = "SFZH,name,insurance_type,employer_uscc,status,enrolled_on,monthly_base\n";

fn write_gbk(path: &Path, text: &str) {
    std::fs::write(path, encoding_rs_gbk(text)).unwrap();
}

fn encoding_rs_gbk(text: &str) -> Vec<u8> {
    // GBK bytes of the text, as a department's export tool writes them.
    let out = std::process::Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = out.expect("iconv is part of every glibc system");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    output.stdout
}

/// Runs a job to success; returns its output.
fn run_job(data: &str, job: &str) -> String {
    ok(zhongshu(&["ingest", "run", job, "--data-dir", data]))
}

fn history(data: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&ok(zhongshu(&[
        "ingest",
        "history",
        "rsj-monthly",
        "--json",
        "--data-dir",
        data,
    ])))
    .unwrap()
    .as_array()
    .unwrap()
    .clone()
}

/// The job's quarantined rows, as `zhongshu ingest quarantine JOB --json` lists them.
fn quarantine(data: &str, job: &str) -> serde_json::Value {
    serde_json::from_str(&ok(zhongshu(&[
        "ingest",
        "quarantine",
        job,
        "--json",
        "--data-dir",
        data,
    ])))
    .unwrap()
}

/// Saves the set-up job again with `from` replaced by `to` in its specification.
fn recreate_job(dir: &std::path::Path, data: &str, from: &str, to: &str) {
    let job = dir.join("job.toml");
    let spec = std::fs::read_to_string(&job).unwrap().replace(from, to);
    std::fs::write(&job, spec).unwrap();
    ok(zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        data,
    ]));
}

fn table(data: &str) -> (i64, i64) {
    let r: serde_json::Value = serde_json::from_str(&ok(zhongshu(&[
        "catalog",
        "resource",
        "440310-RS-0001",
        "--json",
        "--data-dir",
        data,
    ])))
    .unwrap();
    (
        r["tables"][0]["version"].as_i64().unwrap(),
        r["tables"][0]["row_count"].as_i64().unwrap(),
    )
}

#[test]
fn conservation_quarantine_and_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    let (v0, rows0) = table(&data);
    write_gbk(
        &dir.join("incoming/rsj/2026-11.csv"),
        &format!(
            "{HEADER}\
110105194912310029,张三,失业保险,91440310MA5F00001X,正常参保,2026-11-01,5000.00\n\
110105194912310037,李四,工伤保险,,正常参保,2026-11-02,不详\n\
110105194912310045,王五,失业保险,,正常参保,2026-13-01,4000\n\
,赵六,失业保险,,正常参保,2026-11-03,4000\n\
110105194912310053,钱七,失业保险\n\
110105194912310061,孙八,生育保险,,暂停参保,2026-11-04,3100.5\n"
        ),
    );
    let out = run_job(&data, "rsj-monthly");
    assert!(
        out.contains("6 rows read = 2 written + 4 quarantined"),
        "{out}"
    );
    let (v1, rows1) = table(&data);
    assert_eq!(
        (v1, rows1),
        (v0 + 1, rows0 + 2),
        "one commit with the two good rows"
    );

    // Each rejected row keeps its file, line, column, rule and original text.
    let q = quarantine(&data, "rsj-monthly");
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 4);
    let find = |line: &str| {
        q.iter()
            .find(|r| r["line"] == line)
            .unwrap_or_else(|| panic!("line {line}: {q:?}"))
    };
    assert_eq!(
        (find("3")["column"].as_str(), find("3")["rule"].as_str()),
        (Some("monthly_base"), Some("type"))
    );
    assert!(find("3")["raw"].as_str().unwrap().contains("不详"));
    assert_eq!(find("4")["column"], "enrolled_on");
    assert_eq!(find("5")["rule"], "required");
    assert_eq!(find("6")["rule"], "shape");
    assert!(
        find("6")["file"]
            .as_str()
            .unwrap()
            .ends_with("incoming/rsj/2026-11.csv")
    );

    // Re-running lands nothing twice; a new file lands alone.
    let out = run_job(&data, "rsj-monthly");
    assert!(out.contains("0 rows read"), "{out}");
    assert_eq!(table(&data), (v1, rows1));
    write_gbk(
        &dir.join("incoming/rsj/2026-12.csv"),
        &format!("{HEADER}110105194912310070,周九,失业保险,,正常参保,2026-12-01,4200\n"),
    );
    let out = run_job(&data, "rsj-monthly");
    assert!(
        out.contains("1 rows read = 1 written + 0 quarantined"),
        "{out}"
    );
    assert_eq!(table(&data), (v1 + 1, rows1 + 1));

    // Corrected rows are re-submitted from a file outside the job's directory, once.
    let fixed = dir.join("fixed.csv");
    write_gbk(
        &fixed,
        &format!("{HEADER}110105194912310037,李四,工伤保险,,正常参保,2026-11-02,4800\n"),
    );
    let out = ok(zhongshu(&[
        "ingest",
        "resubmit",
        "rsj-monthly",
        fixed.to_str().unwrap(),
        "--data-dir",
        &data,
    ]));
    assert!(
        out.contains("1 rows read = 1 written + 0 quarantined"),
        "{out}"
    );
    assert_eq!(table(&data), (v1 + 2, rows1 + 2));
    let again = zhongshu(&[
        "ingest",
        "resubmit",
        "rsj-monthly",
        fixed.to_str().unwrap(),
        "--data-dir",
        &data,
    ]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already landed"), "{}", again.stderr);

    for run in history(&data) {
        assert_eq!(
            run["rows_read"].as_i64(),
            Some(run["rows_written"].as_i64().unwrap() + run["rows_quarantined"].as_i64().unwrap())
        );
    }
}

#[test]
fn crashes_at_any_point_land_exactly_once() {
    // Appends stream into the commit's files; merge and overwrite runs spool to local Parquet
    // first: each path is killed at each point.
    for (mode, point) in ["append", "merge", "overwrite"].into_iter().flat_map(|m| {
        [
            "before_commit",
            "after_quarantine_commit",
            "after_target_commit",
        ]
        .map(|p| (m, p))
    }) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let data = setup(&dir);
        let job = dir.join("job.toml");
        let spec = std::fs::read_to_string(&job)
            .unwrap()
            .replace("mode = \"append\"", &format!("mode = \"{mode}\""));
        std::fs::write(&job, spec).unwrap();
        ok(zhongshu(&[
            "ingest",
            "create",
            job.to_str().unwrap(),
            "--data-dir",
            &data,
        ]));
        let (v0, rows0) = table(&data);
        let expected = if mode == "overwrite" { 1 } else { rows0 + 1 };
        write_gbk(
            &dir.join("incoming/rsj/a.csv"),
            &format!(
                "{HEADER}110105194912310029,张三,失业保险,,正常参保,2026-11-01,5000\n110105194912310037,李四,工伤保险,,正常参保,bad-date,1\n"
            ),
        );
        let mut cmd = std::process::Command::new(zhongshu_tests::zhongshu_bin());
        cmd.args(["ingest", "run", "rsj-monthly", "--data-dir", &data])
            .env("ZHONGSHU_FAILPOINT", point);
        let crashed = cmd.output().unwrap();
        assert!(
            !crashed.status.success(),
            "{point}: the process should have died"
        );
        if point != "after_target_commit" {
            assert_eq!(
                table(&data),
                (v0, rows0),
                "{point}: the table stays at its previous version"
            );
        }

        let out = run_job(&data, "rsj-monthly");
        assert!(
            out.contains("run #1 succeeded"),
            "{point}: the interrupted run is resumed: {out}"
        );
        let (_, rows) = table(&data);
        assert_eq!(
            rows, expected,
            "{mode} {point}: exactly one good row landed"
        );
        let q = quarantine(&data, "rsj-monthly");
        assert_eq!(
            q.as_array().unwrap().len(),
            1,
            "{point}: exactly one quarantined row"
        );
        let out = run_job(&data, "rsj-monthly");
        assert!(out.contains("0 rows read"), "{point}: {out}");
    }
}

#[test]
fn schema_drift_fails_the_run_and_names_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    let before = table(&data);
    write_gbk(
        &dir.join("incoming/rsj/extra.csv"),
        "SFZH,name,insurance_type,employer_uscc,status,enrolled_on,monthly_base,remark\n110105194912310029,张三,失业保险,,正常参保,2026-11-01,5000,x\n",
    );
    let run = zhongshu(&["ingest", "run", "rsj-monthly", "--data-dir", &data]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("extra.csv")
            && run.stderr.contains("remark")
            && run.stderr.contains("drift"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.join("incoming/rsj/extra.csv")).unwrap();

    write_gbk(
        &dir.join("incoming/rsj/missing.csv"),
        "name,insurance_type\n张三,失业保险\n",
    );
    let run = zhongshu(&["ingest", "run", "rsj-monthly", "--data-dir", &data]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("missing.csv") && run.stderr.contains("SFZH"),
        "{}",
        run.stderr
    );
    assert_eq!(table(&data), before, "failed runs commit nothing");
    let runs = history(&data);
    assert!(runs.iter().all(|r| r["status"] == "failed"), "{runs:?}");
}

#[test]
fn table_maintenance_keeps_the_catalog_in_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    let (v0, rows0) = table(&data);
    for (i, name) in ["周一", "吴二"].iter().enumerate() {
        write_gbk(
            &dir.join(format!("incoming/rsj/{i}.csv")),
            &format!("{HEADER}11010519491231{i:03}9,{name},失业保险,,正常参保,2026-11-01,5000\n"),
        );
        run_job(&data, "rsj-monthly");
    }
    assert_eq!(table(&data), (v0 + 2, rows0 + 2));

    let out = ok(zhongshu(&[
        "table",
        "optimize",
        "440310-RS-0001",
        "--data-dir",
        &data,
    ]));
    assert!(out.contains("compacted"), "{out}");
    assert_eq!(
        table(&data),
        (v0 + 3, rows0 + 2),
        "optimize changes files, not rows"
    );

    let out = ok(zhongshu(&[
        "table",
        "restore",
        "440310-RS-0001",
        &v0.to_string(),
        "--data-dir",
        &data,
    ]));
    assert!(out.contains(&format!("version {v0} restored")), "{out}");
    assert_eq!(
        table(&data),
        (v0 + 4, rows0),
        "restore is a new version with the old rows"
    );

    let out = ok(zhongshu(&[
        "table",
        "history",
        "440310-RS-0001",
        "--data-dir",
        &data,
    ]));
    assert!(out.contains("RESTORE") && out.contains("OPTIMIZE"), "{out}");
    let out = ok(zhongshu(&[
        "table",
        "vacuum",
        "440310-RS-0001",
        "--retention-hours",
        "0",
        "--dry-run",
        "--data-dir",
        &data,
    ]));
    assert!(out.contains("would delete"), "{out}");
    let missing = zhongshu(&[
        "table",
        "restore",
        "440310-RS-0001",
        "999",
        "--data-dir",
        &data,
    ]);
    assert_eq!(missing.code, 2, "{missing:?}");
}

#[test]
fn concurrent_runs_on_one_table_both_land() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    std::fs::create_dir_all(dir.join("incoming/rsj-b")).unwrap();
    let job = dir.join("job-b.toml");
    std::fs::write(
        &job,
        "id = \"rsj-other\"\nresource = \"440310-RS-0001\"\n[source]\nkind = \"files\"\ndir = \"incoming/rsj-b\"\nformat = \"csv\"\nencoding = \"gbk\"\n[columns]\nid_no = \"SFZH\"\n",
    )
    .unwrap();
    ok(zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        &data,
    ]));
    let (_, rows0) = table(&data);
    let mut body = String::from(HEADER);
    for i in 0..500 {
        body.push_str(&format!(
            "1101051949123{i:04}9,张三,失业保险,,正常参保,2026-11-01,5000\n"
        ));
    }
    write_gbk(&dir.join("incoming/rsj/a.csv"), &body);
    write_gbk(&dir.join("incoming/rsj-b/b.csv"), &body);
    let spawn = |job: &str| {
        std::process::Command::new(zhongshu_tests::zhongshu_bin())
            .args(["ingest", "run", job, "--data-dir", &data])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("rsj-monthly"));
        let b = s.spawn(|| spawn("rsj-other"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (_, rows) = table(&data);
    assert_eq!(rows, rows0 + 1000, "both runs landed, once each");
}

#[test]
fn declared_checks_quarantine_by_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    let job = dir.join("job.toml");
    let mut spec = std::fs::read_to_string(&job).unwrap();
    spec.push_str(
        "[[checks]]\nkind = \"validator\"\ncolumn = \"id_no\"\nvalidator = \"resident_id\"\n\
         [[checks]]\nkind = \"range\"\ncolumn = \"monthly_base\"\nmin = 0\nmax = 100000\n",
    );
    std::fs::write(&job, spec).unwrap();
    ok(zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        &data,
    ]));
    write_gbk(
        &dir.join("incoming/rsj/c.csv"),
        &format!(
            "{HEADER}11010519491231002X,张三,失业保险,,正常参保,2026-11-01,5000\n110105194912310021,李四,失业保险,,正常参保,2026-11-01,5000\n11010519491231002X,王五,工伤保险,,正常参保,2026-11-01,999999\n"
        ),
    );
    let out = run_job(&data, "rsj-monthly");
    assert!(
        out.contains("3 rows read = 1 written + 2 quarantined"),
        "{out}"
    );
    let q = quarantine(&data, "rsj-monthly");
    let rules: Vec<&str> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["validator:resident_id", "range"]);
    let bad = std::fs::read_to_string(&job)
        .unwrap()
        .replace("resident_id\"", "nonsense\"");
    std::fs::write(&job, bad).unwrap();
    let refused = zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        &data,
    ]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("nonsense"), "{}", refused.stderr);
}

#[test]
fn serve_runs_scheduled_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    let job = dir.join("job.toml");
    let spec = std::fs::read_to_string(&job).unwrap().replace(
        "mode = \"append\"",
        "mode = \"append\"\nschedule = \"*/2 * * * * *\"",
    );
    std::fs::write(&job, spec).unwrap();
    ok(zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        &data,
    ]));
    write_gbk(
        &dir.join("incoming/rsj/s.csv"),
        &format!("{HEADER}11010519491231002X,张三,失业保险,,正常参保,2026-11-01,5000\n"),
    );
    let mut server = std::process::Command::new(zhongshu_tests::zhongshu_bin())
        .args(["serve", "--http", "127.0.0.1:0", "--data-dir", &data])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Poll the run history (bounded) until the scheduler has landed the file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut landed = false;
    while std::time::Instant::now() < deadline && !landed {
        std::thread::sleep(std::time::Duration::from_millis(500));
        landed = history(&data)
            .iter()
            .any(|r| r["status"] == "succeeded" && r["rows_written"] == 1);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        landed,
        "the scheduled job did not run: {:?}",
        history(&data)
    );
    let bad = std::fs::read_to_string(&job)
        .unwrap()
        .replace("*/2 * * * * *", "every now and then");
    std::fs::write(&job, bad).unwrap();
    let refused = zhongshu(&[
        "ingest",
        "create",
        job.to_str().unwrap(),
        "--data-dir",
        &data,
    ]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("schedule"), "{}", refused.stderr);
}

#[test]
fn merge_upserts_on_keys_and_quarantines_repeated_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    recreate_job(&dir, &data, "mode = \"append\"", "mode = \"merge\"");
    let (v0, rows0) = table(&data);

    // One new key, delivered twice in the same file, plus a second new key.
    write_gbk(
        &dir.join("incoming/rsj/m1.csv"),
        &format!(
            "{HEADER}11010519491231002X,张三,失业保险,,正常参保,2026-11-01,5000\n\
             11010519491231002X,张三,失业保险,,暂停参保,2026-11-01,5000\n\
             11010519491231002X,张三,工伤保险,,正常参保,2026-11-01,5000\n"
        ),
    );
    let out = run_job(&data, "rsj-monthly");
    assert!(
        out.contains("3 rows read = 2 written + 1 quarantined"),
        "{out}"
    );
    assert_eq!(table(&data), (v0 + 1, rows0 + 2));
    let q = quarantine(&data, "rsj-monthly");
    assert_eq!(q[0]["rule"], "duplicate_key", "{q}");
    assert_eq!(q[0]["line"], "3");

    // The same keys again update in place: no new rows.
    write_gbk(
        &dir.join("incoming/rsj/m2.csv"),
        &format!(
            "{HEADER}11010519491231002X,张三,失业保险,,终止参保,2026-12-01,6000\n11010519491231002X,张三,工伤保险,,终止参保,2026-12-01,6000\n"
        ),
    );
    let out = run_job(&data, "rsj-monthly");
    assert!(
        out.contains("2 rows read = 2 written + 0 quarantined"),
        "{out}"
    );
    assert_eq!(
        table(&data),
        (v0 + 2, rows0 + 2),
        "merge updated, inserted nothing"
    );
}

/// `text` in UTF-16 after `bom`, each code unit as `unit` lays it out (`u16::to_le_bytes`, …).
fn utf16(bom: &[u8], unit: fn(u16) -> [u8; 2], text: &str) -> Vec<u8> {
    let mut bytes = bom.to_vec();
    bytes.extend(text.encode_utf16().flat_map(unit));
    bytes
}

#[test]
fn detect_follows_byte_order_marks_and_undecodable_files_fail_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = setup(&dir);
    recreate_job(&dir, &data, "encoding = \"gbk\"", "encoding = \"detect\"");
    let (v0, rows0) = table(&data);

    // Excel's "Unicode text" export is UTF-16LE with a byte-order mark; UTF-16BE has one too.
    // Each file has a row that lands and one that is quarantined, whose text is read back.
    std::fs::write(
        dir.join("incoming/rsj/le.csv"),
        utf16(
            &[0xFF, 0xFE],
            u16::to_le_bytes,
            &format!(
                "{HEADER}110105194912310029,张三,失业保险,,正常参保,2026-11-01,5000\n\
                 110105194912310037,李四,工伤保险,,正常参保,2026-11-02,不详\n"
            ),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("incoming/rsj/be.csv"),
        utf16(
            &[0xFE, 0xFF],
            u16::to_be_bytes,
            &format!(
                "{HEADER}110105194912310045,王五,失业保险,,正常参保,2026-11-03,4000\n\
                 110105194912310053,钱七,生育保险,,正常参保,2026-11-04,未知\n"
            ),
        ),
    )
    .unwrap();
    let out = run_job(&data, "rsj-monthly");
    assert!(
        out.contains("4 rows read = 2 written + 2 quarantined"),
        "{out}"
    );
    assert_eq!(table(&data), (v0 + 1, rows0 + 2));
    let q = quarantine(&data, "rsj-monthly");
    let raws: Vec<&str> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["raw"].as_str().unwrap())
        .collect();
    for (name, base) in [("李四", "不详"), ("钱七", "未知")] {
        assert!(
            raws.iter().any(|r| r.contains(name) && r.contains(base)),
            "{name} in {raws:?}"
        );
    }

    // A lone surrogate on line 2 fails the run, naming file, line and encoding.
    let mut bad = utf16(
        &[0xFF, 0xFE],
        u16::to_le_bytes,
        &format!("{HEADER}110105194912310061,孙八"),
    );
    bad.extend(0xD800u16.to_le_bytes());
    bad.extend(utf16(
        &[],
        u16::to_le_bytes,
        ",生育保险,,暂停参保,2026-11-04,3100.5\n",
    ));
    std::fs::write(dir.join("incoming/rsj/bad.csv"), bad).unwrap();
    let run = zhongshu(&["ingest", "run", "rsj-monthly", "--data-dir", &data]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("bad.csv:2:")
            && run.stderr.contains("not valid UTF-16LE")
            && run.stderr.contains("rule: encoding"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.join("incoming/rsj/bad.csv")).unwrap();

    // UTF-16 without a byte-order mark is refused, not read as GB18030.
    std::fs::write(
        dir.join("incoming/rsj/nobom.csv"),
        utf16(
            &[],
            u16::to_le_bytes,
            &format!("{HEADER}110105194912310070,周九,失业保险,,正常参保,2026-12-01,4200\n"),
        ),
    )
    .unwrap();
    let run = zhongshu(&["ingest", "run", "rsj-monthly", "--data-dir", &data]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("nobom.csv")
            && run.stderr.contains("UTF-16LE without a byte-order mark"),
        "{}",
        run.stderr
    );
    assert_eq!(
        table(&data),
        (v0 + 1, rows0 + 2),
        "failed runs commit nothing"
    );
}
