//! Catalog at scale: bulk registration rate, get-by-id latency, search latency and the cost of
//! the 一数一源 check, on SQLite and PostgreSQL, with the same synthetic catalogue.
//!
//! ```text
//! cargo run --release -p zhongshu-bench --bin catalog-bench -- --resources 100000
//! ```
//! PostgreSQL runs when `--postgres URL` (or `ZHONGSHU_TEST_POSTGRES_URL`) names an account
//! that may create databases; each run uses a fresh database.

use anyhow::{Context, Result};
use clap::Parser;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};
use zhongshu_catalog::*;

#[allow(dead_code)] // each benchmark uses its part
#[path = "synthetic.rs"]
mod synthetic;
use synthetic::{DEPARTMENTS, TOPICS, departments, resource};

#[derive(Parser, Debug)]
struct Args {
    /// Resources to register.
    #[arg(long, default_value_t = 100_000)]
    resources: usize,
    /// Columns per resource.
    #[arg(long, default_value_t = 10)]
    columns: usize,
    /// Lookups and searches to time.
    #[arg(long, default_value_t = 5_000)]
    samples: usize,
    /// PostgreSQL admin URL; empty skips PostgreSQL.
    #[arg(long, env = "ZHONGSHU_TEST_POSTGRES_URL", default_value = "")]
    postgres: String,
    /// Only this backend (sqlite or postgres).
    #[arg(long)]
    only: Option<String>,
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

async fn run(backend: &str, store: SqlCatalogStore, args: &Args) -> Result<serde_json::Value> {
    let actor = Actor::system();
    let mut rng = ChaCha8Rng::seed_from_u64(2260);
    departments(&store, &actor).await?;
    for e in standards::standard_elements() {
        store.upsert_element(&actor, &e).await?;
    }

    // Bulk registration in transactions of 1,000.
    let started = Instant::now();
    let mut registered = 0;
    while registered < args.resources {
        let batch: Vec<NewResource> = (registered..(registered + 1000).min(args.resources))
            .map(|n| resource(n, args.columns, &mut rng))
            .collect();
        registered += store.register_resources(&actor, &batch).await?;
    }
    let register_s = started.elapsed().as_secs_f64();
    eprintln!("[{backend}] registered {registered} resources in {register_s:.1}s");

    // Get by id.
    let mut gets = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let n = rng.random_range(0..args.resources);
        let id = ResourceId::new(format!("B-{:02}-{n:07}", n % DEPARTMENTS.len()));
        let t = Instant::now();
        let r = store.get_resource(&id).await?.context("missing resource")?;
        gets.push(t.elapsed());
        assert_eq!(r.columns.len(), args.columns);
    }

    // Search: build the index, then query.
    let dir = tempfile::tempdir()?;
    let mut index = SearchIndex::open(dir.path())?;
    let t = Instant::now();
    index.sync(&store).await?;
    let index_s = t.elapsed().as_secs_f64();
    let mut searches = Vec::with_capacity(args.samples);
    let queries: Vec<String> = TOPICS
        .iter()
        .map(|t| t.to_string())
        .chain(["社保", "公安 人口", "企业 信用", "物联"].map(String::from))
        .collect();
    let mut hits = 0;
    for _ in 0..args.samples {
        let q = queries.choose(&mut rng).context("no queries")?;
        let t = Instant::now();
        let r = index.search(q, 0, 20)?;
        searches.push(t.elapsed());
        hits += r.hits.len();
    }

    // 一数一源: the check on binding a source (refused: the element has one) and a replica.
    let element = ElementId::new("resident_id");
    store
        .bind_column(
            &actor,
            &ResourceId::new("B-00-0000000"),
            "c0",
            &element,
            BindingRole::Source,
        )
        .await?;
    let checks = args.samples.min(2000);
    let mut refusals = Vec::with_capacity(checks);
    let mut replicas = Vec::with_capacity(checks);
    for k in 0..checks {
        let n = 1 + k * (args.resources - 1) / checks;
        let id = ResourceId::new(format!("B-{:02}-{n:07}", n % DEPARTMENTS.len()));
        let t = Instant::now();
        let refused = store
            .bind_column(&actor, &id, "c0", &element, BindingRole::Source)
            .await;
        refusals.push(t.elapsed());
        anyhow::ensure!(
            matches!(refused, Err(CatalogError::SecondSource(_))),
            "second source not refused"
        );
        let t = Instant::now();
        store
            .bind_column(&actor, &id, "c0", &element, BindingRole::Replica)
            .await?;
        replicas.push(t.elapsed());
    }

    let result = serde_json::json!({
        "backend": backend,
        "resources": args.resources,
        "columns": args.resources * args.columns,
        "register_seconds": register_s,
        "register_resources_per_s": args.resources as f64 / register_s,
        "register_columns_per_s": (args.resources * args.columns) as f64 / register_s,
        "get_p50_ms": percentile(&mut gets, 0.5),
        "get_p99_ms": percentile(&mut gets, 0.99),
        "index_build_seconds": index_s,
        "search_p50_ms": percentile(&mut searches, 0.5),
        "search_p99_ms": percentile(&mut searches, 0.99),
        "search_avg_hits": hits as f64 / args.samples as f64,
        "second_source_refusal_p50_ms": percentile(&mut refusals, 0.5),
        "second_source_refusal_p99_ms": percentile(&mut refusals, 0.99),
        "replica_bind_p50_ms": percentile(&mut replicas, 0.5),
        "replica_bind_p99_ms": percentile(&mut replicas, 0.99),
    });
    println!("{result}");
    Ok(result)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.only.as_deref() != Some("postgres") {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        run("sqlite", SqlCatalogStore::connect(&url).await?, &args).await?;
    }
    if args.only.as_deref() != Some("sqlite") && !args.postgres.is_empty() {
        use sqlx::Connection;
        let name = format!("zs_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&args.postgres).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let base = args
            .postgres
            .rsplit_once('/')
            .map(|(b, _)| b)
            .context("postgres URL needs a database")?;
        let store = SqlCatalogStore::connect(&format!("{base}/{name}")).await?;
        let outcome = run("postgres", store, &args).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        outcome?;
    }
    Ok(())
}
