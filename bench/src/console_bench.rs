//! The console's pages at scale: the server-side time of every page with 100,000 resources in
//! the catalog (p50, p95 and p99 per page), and pages per second with 20 signed-in people at
//! once.
//!
//! ```text
//! ./bench/console.sh          # or:
//! cargo run --release -p zhongshu-bench --bin console-bench -- --resources 100000
//! ```
//! It builds the demo at a small scale, registers the synthetic resources beside the demo's,
//! signs demo principals in and asks the console's router for each page in-process, so the
//! time measured is the server's own: routing, the session, Cedar's decisions, the catalog
//! reads and the rendering, with the body read to its end. Then `--users` tasks, each a signed-in
//! person, ask for the pages round and round for `--seconds`.

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use zhongshu_catalog::Actor;

#[allow(dead_code)] // each benchmark uses its part
#[path = "synthetic.rs"]
mod synthetic;

#[derive(Parser, Debug)]
struct Args {
    /// Synthetic resources registered beside the demo's.
    #[arg(long, default_value_t = 100_000)]
    resources: usize,
    /// Columns per synthetic resource.
    #[arg(long, default_value_t = 10)]
    columns: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// Concurrent signed-in people.
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// How long they ask for pages.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Demo scale.
    #[arg(long, default_value_t = 0.02)]
    scale: f64,
}

/// The pages, each with who asks for it.
const PAGES: &[(&str, &str)] = &[
    ("gaj_officer", "/console/"),
    ("gaj_officer", "/console/catalogue"),
    ("gaj_officer", "/console/catalogue?q=%E7%A4%BE%E4%BF%9D"),
    (
        "gaj_officer",
        "/console/catalogue?provider=dept-03&sort=name&page=5",
    ),
    ("gaj_officer", "/console/resources/440310-GA-0001"),
    ("gaj_officer", "/console/elements"),
    ("gaj_officer", "/console/elements/resident_id"),
    ("privacy", "/console/classification"),
    ("privacy", "/console/classification/sensitive"),
    ("admin", "/console/objections?status=all"),
    ("admin", "/console/ingest"),
    ("admin", "/console/ingest/demo-440310-zs-0002-late"),
    ("gaj_officer", "/console/grants?status=all"),
    ("rsj_user", "/console/access"),
    ("auditor", "/console/audit"),
    ("gaj_officer", "/console/standards"),
    ("gaj_officer", "/console/standards/lists/gb4754-sections"),
    ("gaj_officer", "/console/systems"),
    ("gaj_officer", "/console/quality"),
    ("gaj_officer", "/console/quality?tab=incidents"),
    ("gaj_officer", "/console/quality?tab=rules"),
    ("gaj_officer", "/console/quality/report/440310-GA-0001"),
    ("gaj_officer", "/console/resources/new"),
];

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

/// One page for the session `cookie`: the time until its whole body is read.
async fn ask(router: &axum::Router, cookie: &str, path: &str) -> Result<Duration> {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())?;
    let started = Instant::now();
    let answer = router.clone().oneshot(request).await?;
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), 64 * 1024 * 1024).await?;
    let took = started.elapsed();
    if status != StatusCode::OK {
        bail!(
            "{path}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok(took)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let (d, _) = zhongshu_cli::demo::build(&data, None, args.scale, 42).await?;
    let store = d.catalog();
    let actor = Actor::system();
    synthetic::departments(store.as_ref(), &actor).await?;
    let started = Instant::now();
    let mut registered = 0;
    while registered < args.resources {
        let n = 1000.min(args.resources - registered);
        let batch = synthetic::resources(registered, n, args.columns, 2260);
        registered += store.register_resources(&actor, &batch).await?;
    }
    d.sync_search().await?;
    let catalogued = store
        .list_resources(&Default::default(), Default::default())
        .await?
        .total;
    eprintln!(
        "catalog: {catalogued} resources ({registered} synthetic, registered and indexed in {:.0} s)",
        started.elapsed().as_secs_f64()
    );

    let sessions = Arc::new(zhongshu_web::Sessions::new(
        zhongshu_web::SessionConfig::default(),
    ));
    let router = zhongshu_console::pages::router(
        d.core()?,
        sessions.clone(),
        zhongshu_cli::commands::ingest::context(&d),
    )?;
    let credentials: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        data.join(zhongshu_cli::demo::CREDENTIALS_FILE),
    )?)?;
    let mut cookies = std::collections::HashMap::new();
    for p in credentials["principals"]
        .as_array()
        .context("credentials")?
    {
        let (user, password) = (
            p["username"].as_str().context("username")?,
            p["password"].as_str().context("password")?,
        );
        let session = sessions
            .sign_in(store.as_ref(), user, password, "bench")
            .await
            .map_err(|e| anyhow::anyhow!("{user}: {e:?}"))?;
        cookies.insert(user.to_owned(), format!("zs_session={}", session.id));
    }

    let mut pages = Vec::new();
    let mut worst_p95: f64 = 0.0;
    for (user, path) in PAGES {
        let cookie = &cookies[*user];
        ask(&router, cookie, path).await?; // warm: caches, the first decisions
        let mut times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            times.push(ask(&router, cookie, path).await?);
        }
        let (p50, p95, p99) = (
            percentile(&mut times, 0.5),
            percentile(&mut times, 0.95),
            percentile(&mut times, 0.99),
        );
        worst_p95 = worst_p95.max(p95);
        eprintln!("{path:60} p50 {p50:8.1} ms  p95 {p95:8.1} ms  p99 {p99:8.1} ms");
        pages.push(serde_json::json!({"page": path, "as": user, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}));
    }

    // Concurrent people: each its own session, round and round the pages.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for i in 0..args.users {
        let (router, cookies) = (router.clone(), cookies.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut k = i;
            while Instant::now() < deadline {
                let (user, path) = PAGES[k % PAGES.len()];
                times.push(ask(&router, &cookies[user], path).await?);
                k += 1;
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let pages_per_s = all.len() as f64 / elapsed;
    let (c50, c95) = (percentile(&mut all, 0.5), percentile(&mut all, 0.95));
    eprintln!(
        "{} users: {pages_per_s:.1} pages/s, p50 {c50:.1} ms, p95 {c95:.1} ms",
        args.users
    );
    println!(
        "{}",
        serde_json::json!({
            "resources": catalogued,
            "pages": pages,
            "worst_p95_ms": worst_p95,
            "users": args.users,
            "pages_per_s": pages_per_s,
            "concurrent_p50_ms": c50,
            "concurrent_p95_ms": c95,
        })
    );
    Ok(())
}
