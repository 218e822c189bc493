//! Catalog integration tests. Every case runs against SQLite and against PostgreSQL; the
//! PostgreSQL runs need `ZHONGSHU_TEST_POSTGRES_URL` (an account that may create databases),
//! which `scripts/test.sh` sets after starting a local server. Each case gets its own database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod cases;
mod elements;
mod fixtures;
mod inventory;
mod migrations;
mod sharing;

use std::future::Future;
use zhongshu_catalog::SqlCatalogStore;

/// A store on a fresh database, and what keeps that database alive.
pub struct TestStore {
    pub store: SqlCatalogStore,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
    TestStore {
        store: SqlCatalogStore::connect(&url).await.unwrap(),
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<TestStore> {
    let Ok(admin_url) = std::env::var("ZHONGSHU_TEST_POSTGRES_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("ZHONGSHU_TEST_POSTGRES_URL must be set in CI (scripts/test.sh sets it)");
        }
        eprintln!("ZHONGSHU_TEST_POSTGRES_URL not set: skipping the PostgreSQL run of this case");
        return None;
    };
    use sqlx::Connection;
    let name = format!("zs_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap();
    let store = SqlCatalogStore::connect(&format!("{base}/{name}"))
        .await
        .unwrap();
    Some(TestStore { store, _dir: None })
}

/// Runs a case on every backend.
pub async fn on_every_backend<F, Fut>(case: F)
where
    F: Fn(SqlCatalogStore) -> Fut,
    Fut: Future<Output = ()>,
{
    // The TestStore (and its temporary directory) outlives the case.
    let sqlite = sqlite().await;
    case(sqlite.store.clone()).await;
    if let Some(pg) = postgres().await {
        case(pg.store.clone()).await;
    }
}
