//! The SQLite and PostgreSQL migrations define the same tables with the same columns, so that
//! a deployment can move between the backends and every query works on both.

use crate::{postgres, sqlite};
use sqlx::Row;
use std::collections::BTreeMap;

type Tables = BTreeMap<String, Vec<String>>;

async fn sqlite_tables() -> Tables {
    let test = sqlite().await;
    let pool = test.store.pool();
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("name"))
    .collect();
    let mut tables = Tables::new();
    for name in names {
        let mut columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{name}')"
        )))
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
        columns.sort();
        tables.insert(name, columns);
    }
    tables
}

async fn postgres_tables() -> Option<Tables> {
    let test = postgres().await?;
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
         ORDER BY table_name, column_name",
    )
    .fetch_all(test.store.pool())
    .await
    .unwrap();
    let mut tables = Tables::new();
    for r in rows {
        tables
            .entry(r.get::<String, _>("t"))
            .or_default()
            .push(r.get::<String, _>("c"));
    }
    Some(tables)
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_tables_and_columns() {
    let sqlite = sqlite_tables().await;
    assert!(sqlite.len() >= 10, "{sqlite:?}");
    let Some(postgres) = postgres_tables().await else {
        return;
    };
    let only_sqlite: Vec<_> = sqlite
        .keys()
        .filter(|t| !postgres.contains_key(*t))
        .collect();
    let only_postgres: Vec<_> = postgres
        .keys()
        .filter(|t| !sqlite.contains_key(*t))
        .collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "tables only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_postgres:?}"
    );
    for (table, columns) in &sqlite {
        assert_eq!(columns, &postgres[table], "columns of `{table}` differ");
    }
}
