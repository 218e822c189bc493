//! TPC-H through zhongshu: the 22 queries over the same Delta tables with plain DataFusion and
//! through the governed query service as a principal with a row filter and two masks.
//!
//! ```text
//! tpch-bench load --parquet DIR --data-dir D      # DIR holds tpchgen's <table>.parquet files
//! tpch-bench run --data-dir D --queries bench/tpch --mode plain|parquet|governed|gateway [--runs 3]
//! tpch-bench run … --mode governed --query 18 --explain   # one query's EXPLAIN ANALYZE
//! tpch-bench run … --mode plain,governed --cache-mb 8192  # with the decoded column cache
//! ```
//! `load` registers the eight tables as resources of a department (有条件共享), lands each
//! Parquet file in a Delta table `tpch/<table>`, and grants an analyst's department every
//! table, with a row filter on `customer` and masks on `c_name` (name) and `c_phone` (partial).
//! `run` prints one JSON line per query and mode: the median of the runs, in seconds, and the
//! row count. Several modes (`--mode plain,governed`) run in one process, alternating run by run,
//! so that their ratios are not skewed by the machine's load drifting between them.
//! Modes: `plain` is DataFusion over the Delta tables; `parquet` is DataFusion over tpchgen's
//! files (`--parquet DIR`), which separates the Delta layer's cost from DataFusion's;
//! `governed` is the query service in process; `gateway` is the Flight SQL door over loopback
//! TCP, as a notebook reaches it.

use anyhow::{Context, Result, bail};
use arrow_flight::sql::client::FlightSqlServiceClient;
use clap::Parser;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use zhongshu_catalog::*;
use zhongshu_engine::{
    ClientInfo, Lake, LakeConfig, Limits, PrincipalSession, QueryService, RunData,
};
use zhongshu_policies::MaskKey;

const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];
const OWNER: &str = "tpch-owner";
const DEPARTMENT: &str = "tpch-dept";
const ANALYST: &str = "tpch_analyst";
/// The analyst's bearer token (Flight SQL).
const TOKEN: &str = "zs_tpch_bench";
/// The row filter of the analyst's customer grant: every market segment by name, so every row
/// is tested and kept.
const CUSTOMER_FILTER: &str =
    "c_mktsegment IN ('AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY')";

#[derive(Parser, Debug)]
enum Command {
    /// Register and land the tables, and grant them to the analyst's department.
    Load {
        /// Directory of tpchgen's Parquet files.
        #[arg(long)]
        parquet: PathBuf,
        /// The deployment directory to create.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Run the queries.
    Run {
        /// The deployment directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Directory of q01.sql … q22.sql.
        #[arg(long)]
        queries: PathBuf,
        /// plain, parquet, governed or gateway; several, comma-separated, run alternately.
        #[arg(long)]
        mode: String,
        /// Runs per query (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// tpchgen's Parquet files, for `--mode parquet`.
        #[arg(long)]
        parquet: Option<PathBuf>,
        /// Run only this query (1–22).
        #[arg(long)]
        query: Option<usize>,
        /// Print each query's `EXPLAIN ANALYZE`, with statistics, instead of timing it (plain,
        /// parquet, governed).
        #[arg(long)]
        explain: bool,
        /// The decoded column cache's budget in MiB (0 = off, the Parquet files are read every
        /// time). With a cache, tools are reported as `zhongshu-MODE+cache`.
        #[arg(long, default_value_t = 0)]
        cache_mb: usize,
    },
}

async fn open(data_dir: &Path) -> Result<(SqlCatalogStore, Lake)> {
    std::fs::create_dir_all(data_dir)?;
    let store = SqlCatalogStore::connect(&format!(
        "sqlite://{}",
        data_dir.join("catalog.db").display()
    ))
    .await?;
    let lake = Lake::open(&LakeConfig::default(), data_dir)?;
    Ok((store, lake))
}

fn logical_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "int64",
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => "float64",
        DataType::Date32 | DataType::Date64 => "date",
        _ => "string",
    }
}

async fn load(parquet: &Path, data_dir: &Path) -> Result<()> {
    let (store, lake) = open(data_dir).await?;
    let actor = Actor::system();
    for (id, name) in [
        (OWNER, "TPC-H 数据提供部门"),
        (DEPARTMENT, "TPC-H 分析部门"),
    ] {
        store
            .upsert_org(
                &actor,
                &OrgUnit {
                    id: OrgId::new(id),
                    name: name.into(),
                    kind: OrgKind::DistrictDepartment,
                    parent: None,
                    division_code: None,
                },
            )
            .await?;
    }
    if store
        .get_principal(&PrincipalId::new(ANALYST))
        .await?
        .is_none()
    {
        store
            .create_principal(
                &actor,
                &NewPrincipal {
                    principal: Principal {
                        id: PrincipalId::new(ANALYST),
                        display_name: "TPC-H 分析人员".into(),
                        kind: PrincipalKind::User,
                        org: OrgId::new(DEPARTMENT),
                        roles: vec![Role::Analyst],
                        attributes: PrincipalAttributes::default(),
                    },
                    password: Some("tpch-bench".into()),
                    token: Some(TOKEN.into()),
                },
            )
            .await?;
    }
    for table in TABLES {
        let file = parquet.join(format!("{table}.parquet"));
        let reader = std::fs::File::open(&file).with_context(|| file.display().to_string())?;
        let schema =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)?
                .schema()
                .clone();
        let id = ResourceId::new(format!("TPCH-{}", table.to_uppercase()));
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let sensitive = matches!(f.name().as_str(), "c_name" | "c_phone");
                Column {
                    name: f.name().clone(),
                    title: f.name().clone(),
                    data_type: logical_type(f.data_type()).into(),
                    nullable: true,
                    is_key: false,
                    description: String::new(),
                    category: if sensitive {
                        Category::Personal
                    } else {
                        Category::Public
                    },
                    grade: if sensitive { Grade::L3 } else { Grade::L1 },
                    element: None,
                    binding: None,
                }
            })
            .collect();
        if store.get_resource(&id).await?.is_none() {
            store
                .register_resource(
                    &actor,
                    &NewResource {
                        id: id.clone(),
                        name: format!("TPC-H {table}"),
                        provider: OrgId::new(OWNER),
                        abstract_text: "TPC-H SF1 benchmark table".into(),
                        format: "数据库表".into(),
                        share_attr: ShareAttr::Conditional,
                        share_conditions: None,
                        open_attr: OpenAttr::NotOpen,
                        open_conditions: None,
                        update_cycle: UpdateCycle::Irregular,
                        tier: LibraryTier::Theme,
                        publish_date: None,
                        columns,
                    },
                )
                .await?;
        }
        let path = format!("tpch/{table}");
        let started = Instant::now();
        lake.write_to(&path)
            .named(table)
            .schema(schema)
            .exactly_once("tpch-load", 1)
            .overwrite(RunData::Parquet(file.clone()))
            .await?;
        let record = lake.table_record(&id, "main", &path).await?;
        println!(
            "{table}: {} rows landed in {:.1} s",
            record.row_count,
            started.elapsed().as_secs_f64()
        );
        store.upsert_table(&actor, &record).await?;
        let granted = store.list_grants(Some(&id)).await?;
        if granted.iter().all(|g| g.revoked_at.is_some()) {
            let customer = table == "customer";
            store
                .create_grant(
                    &actor,
                    &NewGrant {
                        resource: id,
                        grantee: Grantee::Org(OrgId::new(DEPARTMENT)),
                        columns: vec![],
                        purpose: None,
                        row_filter: customer.then(|| CUSTOMER_FILTER.to_owned()),
                        masks: if customer {
                            [
                                ("c_name".to_owned(), "name".to_owned()),
                                ("c_phone".to_owned(), "partial".to_owned()),
                            ]
                            .into()
                        } else {
                            Default::default()
                        },
                        expires_at: None,
                    },
                )
                .await?;
        }
    }
    Ok(())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// What a mode runs a query through; each returns the result's row count.
enum Runner {
    /// A plain DataFusion session (over the Delta tables or the Parquet files).
    DataFusion(SessionContext),
    /// The governed query service, in process.
    Service(PrincipalSession),
    /// The Flight SQL door over loopback TCP: gRPC and Arrow IPC as a notebook sees them.
    Gateway(FlightSqlServiceClient<tonic::transport::Channel>),
}

impl Runner {
    /// The `EXPLAIN ANALYZE` of a query, as text, with the planner's statistics of each node.
    async fn explain(&mut self, sql: &str) -> Result<String> {
        let sql = format!("EXPLAIN ANALYZE {sql}");
        let show_statistics = |ctx: &SessionContext| {
            ctx.state_ref()
                .write()
                .config_mut()
                .options_mut()
                .explain
                .show_statistics = true;
        };
        let batches = match self {
            Runner::DataFusion(ctx) => {
                show_statistics(ctx);
                ctx.sql(&sql).await?.collect().await?
            }
            Runner::Service(session) => {
                // The governed session's own context: the same views, masks and row filters.
                // (The session itself refuses EXPLAIN ANALYZE on row-filtered tables, whose
                // scan metrics count hidden rows; the operator running the bench may see them.)
                let governed = session.governed();
                let ctx = governed.context();
                show_statistics(ctx);
                ctx.sql(&sql).await?.collect().await?
            }
            Runner::Gateway(_) => {
                bail!("--explain runs in process: use plain, parquet or governed")
            }
        };
        Ok(datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string())
    }

    async fn rows(&mut self, sql: &str) -> Result<usize> {
        let count = |batches: &[RecordBatch]| batches.iter().map(|b| b.num_rows()).sum();
        match self {
            Runner::DataFusion(ctx) => Ok(count(&ctx.sql(sql).await?.collect().await?)),
            Runner::Service(session) => Ok(count(&session.query(sql).await?.1)),
            Runner::Gateway(client) => {
                let info = client.execute(sql.to_owned(), None).await?;
                let mut rows = 0;
                for endpoint in info.endpoint {
                    let ticket = endpoint.ticket.context("endpoint without a ticket")?;
                    let mut stream = client.do_get(ticket).await?;
                    while let Some(batch) = stream.try_next().await? {
                        rows += batch.num_rows();
                    }
                }
                Ok(rows)
            }
        }
    }
}

/// A plain DataFusion session with the eight tables in schema `tpch`, configured by any
/// `DATAFUSION_*` environment variables (to try settings against the governed session's).
async fn plain_session(lake: &Lake, parquet: Option<&Path>) -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config(datafusion::prelude::SessionConfig::from_env()?);
    let schema = Arc::new(MemorySchemaProvider::new());
    for table in TABLES {
        let provider = match parquet {
            None => {
                let delta = lake.open_table(&format!("tpch/{table}")).await?;
                zhongshu_engine::table_provider(&delta, &ctx.state(), lake.column_cache()).await?
            }
            Some(dir) => {
                let file = dir.join(format!("{table}.parquet"));
                ctx.read_parquet(file.display().to_string(), Default::default())
                    .await?
                    .into_view()
            }
        };
        schema.register_table(table.to_owned(), provider)?;
    }
    ctx.catalog("datafusion")
        .context("default catalog")?
        .register_schema("tpch", schema)?;
    Ok(ctx)
}

#[allow(clippy::too_many_arguments)] // one argument per option of `tpch-bench run`
async fn run(
    data_dir: &Path,
    queries: &Path,
    modes: &str,
    runs: usize,
    parquet: Option<&Path>,
    only: Option<usize>,
    explain: bool,
    cache_mb: usize,
) -> Result<()> {
    let suffix = if cache_mb > 0 { "+cache" } else { "" };
    let (store, lake) = open(data_dir).await?;
    lake.column_cache().set_budget(cache_mb << 20);
    let store: Arc<dyn CatalogStore> = Arc::new(store);
    let mut texts = Vec::new();
    for q in only.map_or(1..=22, |q| q..=q) {
        let file = queries.join(format!("q{q:02}.sql"));
        texts.push((
            q,
            std::fs::read_to_string(&file).with_context(|| file.display().to_string())?,
        ));
    }
    let service = || {
        Ok::<_, anyhow::Error>(Arc::new(QueryService::new(
            lake.clone(),
            store.clone(),
            MaskKey::new(b"tpch-bench-masking-key").map_err(|e| anyhow::anyhow!(e))?,
            Limits {
                timeout: std::time::Duration::from_secs(3600),
                memory_bytes: 16 << 30,
                max_rows: u64::MAX,
                max_concurrent: 4,
                max_probes_per_minute: 0,
            },
        )))
    };
    let mut runners = Vec::new();
    for mode in modes.split(',') {
        let runner = match mode {
            "plain" => Runner::DataFusion(plain_session(&lake, None).await?),
            "parquet" => Runner::DataFusion(
                plain_session(
                    &lake,
                    Some(parquet.context("--mode parquet needs --parquet DIR")?),
                )
                .await?,
            ),
            "governed" => {
                let principal = store
                    .get_principal(&PrincipalId::new(ANALYST))
                    .await?
                    .context("run `tpch-bench load` first")?;
                let session = service()?
                    .open(principal, None, ClientInfo::answering("bench", "cli"))
                    .await?;
                Runner::Service(session)
            }
            "gateway" => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let address = listener.local_addr()?;
                let service = service()?;
                tokio::spawn(async move {
                    if let Err(e) = zhongshu_sql_gateway::flight::serve(listener, service).await {
                        eprintln!("flight: {e}");
                    }
                });
                let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
                    .connect()
                    .await?;
                let mut client = FlightSqlServiceClient::new(channel);
                client.set_token(TOKEN.to_owned());
                Runner::Gateway(client)
            }
            other => bail!("--mode {other}: use plain, parquet, governed or gateway"),
        };
        runners.push((mode, runner));
    }
    for (q, sql) in &texts {
        if explain {
            for (mode, runner) in &mut runners {
                println!("Q{q} ({mode})\n{}", runner.explain(sql).await?);
            }
            continue;
        }
        // Runs alternate between the modes, so that a change in the machine's load falls on
        // all of them alike.
        let mut times = vec![Vec::new(); runners.len()];
        let mut rows = vec![0; runners.len()];
        for _ in 0..runs {
            for (i, (mode, runner)) in runners.iter_mut().enumerate() {
                let started = Instant::now();
                rows[i] = runner
                    .rows(sql)
                    .await
                    .with_context(|| format!("Q{q} ({mode})"))?;
                times[i].push(started.elapsed().as_secs_f64());
            }
        }
        for (i, (mode, _)) in runners.iter().enumerate() {
            let first = times[i][0];
            let mode = format!("{mode}{suffix}");
            report(
                &mode,
                *q,
                median(std::mem::take(&mut times[i])),
                first,
                rows[i],
            );
        }
    }
    let (budget, held) = lake.column_cache().usage();
    if budget > 0 {
        eprintln!(
            "decoded column cache: {} MiB held of {} MiB",
            held >> 20,
            budget >> 20
        );
    }
    Ok(())
}

/// One result line: the median and the first run's seconds (with a cache, the first run fills
/// it), and the row count.
fn report(mode: &str, query: usize, seconds: f64, first: f64, rows: usize) {
    println!(
        "{}",
        serde_json::json!({"tool": format!("zhongshu-{mode}"), "query": query, "seconds": seconds,
                           "first": first, "rows": rows})
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    match Command::parse() {
        Command::Load { parquet, data_dir } => load(&parquet, &data_dir).await,
        Command::Run {
            data_dir,
            queries,
            mode,
            runs,
            parquet,
            query,
            explain,
            cache_mb,
        } => {
            run(
                &data_dir,
                &queries,
                &mode,
                runs,
                parquet.as_deref(),
                query,
                explain,
                cache_mb,
            )
            .await
        }
    }
}
