//! `zhongshu serve`: the HTTP door (health, the catalog API and `POST /api/v1/sql`), the
//! PostgreSQL wire and Flight SQL doors, the ingest scheduler and the scheduled quality
//! evaluation.

use crate::cli::ServeArgs;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use std::io::Write;
use std::sync::Arc;
use zhongshu_catalog::CatalogStore as _;
use zhongshu_console::router;

/// Serves until Ctrl-C.
pub async fn serve(d: &Deployment, args: &ServeArgs) -> CliResult {
    let addr = args
        .http
        .as_deref()
        .unwrap_or(&d.config.http.addr)
        .to_owned();
    let core = d.core()?;
    let service = core.query().clone();
    d.sync_search().await?;
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        CliError::Usage(format!(
            "cannot listen on {addr}: {e}; choose another address with --http"
        ))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    println!("zhongshu serving {}", d.data_dir.display());
    println!(
        "  HTTP      http://{local}  (GET /healthz, /api/v1/resources, /api/v1/elements, /api/v1/search?q=; POST /api/v1/sql)"
    );
    println!("  console   http://{local}/console/  (sign in with a catalog principal's password)");
    let pgwire = args
        .pgwire
        .clone()
        .unwrap_or_else(|| d.config.gateway.pgwire_addr.clone());
    if pgwire.is_empty() {
        println!("  pgwire    off");
    } else {
        let listener = tokio::net::TcpListener::bind(&pgwire).await.map_err(|e| {
            CliError::Usage(format!(
                "cannot listen on {pgwire}: {e}; choose another address with --pgwire"
            ))
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::Failed(e.to_string()))?;
        println!(
            "  pgwire    postgresql://USER@{local}/zhongshu  (SCRAM-SHA-256; SET zhongshu.purpose = '…')"
        );
        tokio::spawn(zhongshu_sql_gateway::pgwire::serve(
            listener,
            service.clone(),
        ));
    }
    let flight = args
        .flight
        .clone()
        .unwrap_or_else(|| d.config.gateway.flight_addr.clone());
    if flight.is_empty() {
        println!("  flight    off");
    } else {
        let listener = tokio::net::TcpListener::bind(&flight).await.map_err(|e| {
            CliError::Usage(format!(
                "cannot listen on {flight}: {e}; choose another address with --flight"
            ))
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::Failed(e.to_string()))?;
        println!(
            "  flight    grpc://{local}  (Arrow Flight SQL; authorization: Bearer TOKEN, x-zhongshu-purpose)"
        );
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = zhongshu_sql_gateway::flight::serve(listener, service).await {
                tracing::error!("Flight SQL server: {e}");
            }
        });
    }
    let scheduled = d
        .store
        .list_jobs()
        .await?
        .iter()
        .filter(|j| {
            zhongshu_ingest::JobSpec::from_toml(&j.spec).is_ok_and(|s| s.schedule.is_some())
        })
        .count();
    println!("  scheduler {scheduled} scheduled ingest job(s), times in China Standard Time");
    core.scheduler()
        .add(Arc::new(zhongshu_ingest::schedule::ScheduledJobs::new(
            crate::commands::ingest::context(d),
        )));
    let schedule = d.config.quality.schedule.trim();
    if schedule.is_empty() {
        println!("  quality   evaluated after each ingest run; no schedule");
    } else {
        let cron = zhongshu_engine::scheduler::parse_schedule(schedule)
            .map_err(|e| CliError::Usage(format!("[quality] {e}")))?;
        println!(
            "  quality   evaluated after each ingest run and on schedule `{schedule}` (China Standard Time)"
        );
        core.scheduler().add(Arc::new(
            zhongshu_quality::schedule::ScheduledEvaluation::new(d.catalog(), d.lake.clone(), cron),
        ));
    }
    let scheduler = core.scheduler().clone();
    tokio::spawn(async move { scheduler.run(std::time::Duration::from_secs(1)).await });
    println!("press Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    // Browser sessions of the console (in memory: people sign in again after a restart).
    let sessions = Arc::new(zhongshu_web::Sessions::new(
        zhongshu_web::SessionConfig::default(),
    ));
    let console = zhongshu_console::pages::router(
        core.clone(),
        sessions,
        crate::commands::ingest::context(d),
    )
    .map_err(|e| CliError::Failed(format!("console templates: {e}")))?;
    let app = router(core.clone())
        .merge(zhongshu_sql_gateway::http::router(core))
        .merge(console);
    // Streamed SQL results end in small frames that would otherwise wait for delayed ACKs.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| CliError::Failed(format!("HTTP server: {e}")))
}
