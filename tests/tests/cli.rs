//! The `zhongshu` command end to end: demo build, 一数一源, 分类分级, discovery, search and
//! change-log verification, through the binary as an operator runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use zhongshu_tests::{ok, zhongshu};

fn demo(dir: &Path) {
    let data = dir.to_str().unwrap();
    let out = ok(zhongshu(&[
        "demo",
        "--no-serve",
        "--scale",
        "0.05",
        "--data-dir",
        data,
    ]));
    assert!(out.contains("13 resources"), "{out}");
}

#[test]
fn demo_catalog_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    demo(&dir);
    let data = dir.to_str().unwrap();

    // Credentials for every demo role.
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("demo-credentials.json")).unwrap())
            .unwrap();
    let principals = creds["principals"].as_array().unwrap();
    for (user, role, org) in [
        ("admin", "admin", "440310-zsj"),
        ("gaj_officer", "data_officer", "440310-gaj"),
        ("rsj_user", "analyst", "440310-rsj"),
        ("pingshan_street", "analyst", "440310001"),
        ("auditor", "auditor", "440310-zsj"),
    ] {
        let p = principals
            .iter()
            .find(|p| p["username"] == user)
            .unwrap_or_else(|| panic!("no {user}"));
        assert_eq!(p["role"], role);
        assert_eq!(p["organisation"], org);
        assert!(p["token"].as_str().unwrap().starts_with("zs_"));
        assert!(p["password"].as_str().unwrap().len() >= 12);
    }

    // Every resource is classified and every table landed.
    let list: serde_json::Value = serde_json::from_str(&ok(zhongshu(&[
        "catalog",
        "resources",
        "--json",
        "--data-dir",
        data,
    ])))
    .unwrap();
    assert_eq!(list["total"], 13);
    for r in list["items"].as_array().unwrap() {
        assert!(r["grade"].is_string(), "{r}");
        let id = r["id"].as_str().unwrap();
        let detail: serde_json::Value = serde_json::from_str(&ok(zhongshu(&[
            "catalog",
            "resource",
            id,
            "--json",
            "--data-dir",
            data,
        ])))
        .unwrap();
        let tables = detail["tables"].as_array().unwrap();
        assert_eq!(tables.len(), 1, "{id}");
        assert!(tables[0]["row_count"].as_i64().unwrap() > 0, "{id}");
    }

    // 一数一源: the source and replicas of 公民身份号码, and a refused second source.
    let out = ok(zhongshu(&[
        "catalog",
        "element",
        "公民身份号码",
        "--data-dir",
        data,
    ]));
    assert!(out.contains("440310-GA-0001"), "{out}");
    assert!(out.contains("深圳市公安局坪山分局"), "{out}");
    assert!(out.contains("440310-RS-0001"), "{out}");
    let refused = zhongshu(&[
        "catalog",
        "bind",
        "440310-RS-0001",
        "id_no",
        "公民身份号码",
        "--data-dir",
        data,
    ]);
    assert_eq!(refused.code, 1, "{refused:?}");
    for needle in [
        "公民身份号码",
        "440310-GA-0001",
        "人口基础信息",
        "深圳市公安局坪山分局",
    ] {
        assert!(
            refused.stderr.contains(needle),
            "{needle} missing: {}",
            refused.stderr
        );
    }
    let coverage = ok(zhongshu(&["catalog", "coverage", "--data-dir", data]));
    assert!(coverage.contains("12 of 14"), "{coverage}");

    // 分类分级: an L4 resource cannot be opened unconditionally.
    let refused = zhongshu(&[
        "catalog",
        "set",
        "440310-GA-0001",
        "--open-attr",
        "无条件开放",
        "--data-dir",
        data,
    ]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("L4"), "{}", refused.stderr);

    // Search with Chinese abbreviations.
    let out = ok(zhongshu(&[
        "catalog",
        "search",
        "社保",
        "--json",
        "--data-dir",
        data,
    ]));
    let hits: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"440310-RS-0001"), "{out}");
    assert!(ids.contains(&"4403-RS-0001"), "{out}");

    // Discovery finds the ID, credit-code and name columns of the GBK social-insurance file.
    let out = ok(zhongshu(&[
        "catalog",
        "scan",
        "440310-RS-0001",
        "--data-dir",
        data,
    ]));
    let sug: serde_json::Value = serde_json::from_str(&ok(zhongshu(&[
        "catalog",
        "suggestions",
        "--resource",
        "440310-RS-0001",
        "--json",
        "--data-dir",
        data,
    ])))
    .unwrap();
    let found = |column: &str| {
        sug.as_array()
            .unwrap()
            .iter()
            .find(|s| s["column"] == column)
            .map(|s| s["element"].as_str().unwrap().to_owned())
    };
    assert_eq!(found("id_no").as_deref(), Some("resident_id"), "{out}");
    assert_eq!(found("employer_uscc").as_deref(), Some("uscc"), "{out}");
    assert_eq!(found("name").as_deref(), Some("person_name"), "{out}");
    let persons = ok(zhongshu(&[
        "catalog",
        "scan",
        "440310-GA-0001",
        "--data-dir",
        data,
    ]));
    assert!(persons.contains("mobile"), "{persons}");

    // A data officer registers a resource from a file; grading and search see it at once.
    // The checkout as the test runner sees it now (a shared build cache may have compiled
    // this binary in another checkout).
    let manifest_dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let example = format!("{manifest_dir}/../examples/resource.toml");
    ok(zhongshu(&[
        "catalog",
        "register",
        &example,
        "--as",
        "gaj_officer",
        "--data-dir",
        data,
    ]));
    let out = ok(zhongshu(&[
        "catalog",
        "resource",
        "440310-SW-0001",
        "--json",
        "--data-dir",
        data,
    ]));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["grade"], "L3", "{out}");
    let out = ok(zhongshu(&[
        "catalog",
        "search",
        "排水",
        "--json",
        "--data-dir",
        data,
    ]));
    assert!(out.contains("440310-SW-0001"), "{out}");
    let log = ok(zhongshu(&[
        "audit",
        "log",
        "--limit",
        "100000",
        "--data-dir",
        data,
    ]));
    assert!(log.contains("gaj_officer"), "the actor is recorded");
    ok(zhongshu(&["audit", "verify", "--data-dir", data]));
}

#[test]
fn change_log_tampering_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let data = dir.to_str().unwrap();
    ok(zhongshu(&["init", "--data-dir", data]));
    let out = ok(zhongshu(&["audit", "verify", "--data-dir", data]));
    assert!(out.contains("intact"), "{out}");

    // Edit the SQLite store behind the catalog's back.
    let db = dir.join("catalog.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("DROP TRIGGER change_log_no_update")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("UPDATE change_log SET actor = 'mallory' WHERE seq = 3")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let broken = zhongshu(&["audit", "verify", "--data-dir", data]);
    assert_eq!(broken.code, 1, "{broken:?}");
    assert!(broken.stderr.contains("entry 3"), "{}", broken.stderr);
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("nothing");
    let run = zhongshu(&["catalog", "resources", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("zhongshu init"), "{}", run.stderr);
    assert_eq!(zhongshu(&["catalog"]).code, 2);
    let help = zhongshu(&["catalog", "scan", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--sample"));

    // Unknown configuration keys are reported, not ignored.
    let dir = tmp.path().join("cfg");
    ok(zhongshu(&["init", "--data-dir", dir.to_str().unwrap()]));
    std::fs::write(dir.join("zhongshu.toml"), "[http]\nadress = \"x\"\n").unwrap();
    let run = zhongshu(&["catalog", "resources", "--data-dir", dir.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("adress"), "{}", run.stderr);
}

#[test]
fn generate_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(zhongshu(&[
        "generate",
        "--scale",
        "0.02",
        "--out",
        a.to_str().unwrap(),
    ]));
    ok(zhongshu(&[
        "generate",
        "--scale",
        "0.02",
        "--out",
        b.to_str().unwrap(),
    ]));
    let ma = std::fs::read(a.join("manifest.json")).unwrap();
    assert_eq!(ma, std::fs::read(b.join("manifest.json")).unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(&ma).unwrap();
    for f in manifest["files"].as_array().unwrap() {
        let file = f["file"].as_str().unwrap();
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    let kinds: Vec<&str> = manifest["defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    for kind in ["check_digit", "missing", "duplicate", "conflict"] {
        assert!(kinds.contains(&kind), "{kind} not planted");
    }
}
