//! Running a job: one run lands its files in one Delta commit (plus one for quarantine), or
//! nothing.
//!
//! Exactly-once rests on three records:
//! - the run number, allocated in the catalog before anything is written and reused when an
//!   interrupted run is resumed;
//! - the Delta transaction identifier (`txn`) of each commit, `(job, run)` on the target and
//!   `(job:quarantine, run)` on the quarantine table, so a resumed run skips commits that
//!   already happened;
//! - the run's inputs (paths, sizes, SHA-256), saved before the first commit, so a resumed run
//!   reads exactly the files the interrupted one did.
//!
//! Files are landed once: a file whose path and checksum are in the job's ledger is skipped.

use crate::checks::UniqueKey;
use crate::derive::Derivation;
use crate::error::InputError;
pub use crate::error::RunError;
use crate::lander::{Lander, map_header};
use crate::rows::{RowCheck, TargetRows};
use crate::source::{PlanContext, Source, WATERMARK, source_for, type_fits};
use crate::spec::{ExtraColumns, JobSpec, Mode, SourceSpec};
use arrow::array::RecordBatch;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use zhongshu_catalog::{
    Actor, CatalogStore, Column, IngestJob, IngestRun, JobId, ResourceDetail, ResourceId, RunInput,
    RunStatus,
};
use zhongshu_engine::{Lake, RunData, StreamingAppend, schema::arrow_schema};

/// What a run needs.
pub struct IngestContext {
    /// The catalog.
    pub store: Arc<dyn CatalogStore>,
    /// The lake.
    pub lake: Lake,
    /// Base for relative source directories.
    pub data_dir: PathBuf,
    /// Quality rules at ingest (row checks, evaluation after each commit); none in tests of
    /// ingest alone.
    pub quality: Option<Arc<dyn QualityHooks>>,
}

/// What the quality crate adds to a run. Ingest and quality are siblings, so whoever assembles
/// the context (the CLI) supplies this: the rules on the target resource as row checks, and an
/// evaluation after each committed run.
#[async_trait::async_trait]
pub trait QualityHooks: Send + Sync {
    /// Row checks for the target's columns: `error` rules quarantine, `warn` rules flag
    /// ([`RowCheck::flags_only`]). Rules on `derived` columns (computed after the checks) are
    /// left out. An error fails the run before anything is read.
    async fn row_checks(
        &self,
        resource: &ResourceId,
        columns: &[Column],
        derived: &[String],
    ) -> Result<Vec<Box<dyn RowCheck>>, String>;

    /// Called once a run has committed and been recorded; failures are the hook's to report
    /// (the run stands).
    async fn after_commit(&self, job: &IngestJob, run: &IngestRun);
}

/// The lake path of a target's flag table (rows landed despite failing a `warn` rule).
pub fn flag_path(target_path: &str) -> String {
    format!("flags/{target_path}")
}

/// Progress of a run, for progress bars.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Rows read so far.
    pub rows: u64,
    /// Bytes read so far.
    pub bytes: u64,
    /// Bytes to read in all.
    pub total_bytes: u64,
}

/// Fault injection for the crash tests: `ZHONGSHU_FAILPOINT=<name>` aborts the process at that
/// point, as a power cut would.
fn failpoint(name: &str) {
    if std::env::var("ZHONGSHU_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// The app id of a job's commits to its target table.
pub fn app_id(job: &JobId) -> String {
    format!("zhongshu-ingest:{job}")
}

/// The lake path of a target's quarantine table.
pub fn quarantine_path(target_path: &str) -> String {
    format!("quarantine/{target_path}")
}

/// Parses and checks a job specification against the catalog, returning the stored job.
pub async fn validate(
    store: &dyn CatalogStore,
    spec_text: &str,
) -> Result<(JobSpec, IngestJob), RunError> {
    let (spec, job, _) = validate_with_target(store, spec_text).await?;
    Ok((spec, job))
}

/// [`validate`], also returning the target resource it read.
async fn validate_with_target(
    store: &dyn CatalogStore,
    spec_text: &str,
) -> Result<(JobSpec, IngestJob, ResourceDetail), RunError> {
    let spec = JobSpec::from_toml(spec_text).map_err(|message| RunError::Job {
        job: "?".into(),
        message,
    })?;
    let job_err = |message: String| RunError::Job {
        job: spec.id.clone(),
        message,
    };
    let resource = store
        .get_resource(&ResourceId::new(spec.resource.clone()))
        .await?
        .ok_or_else(|| {
            job_err(format!(
                "resource {} is not in the catalog; register it first",
                spec.resource
            ))
        })?;
    let has_table = resource.tables.iter().any(|t| t.name == spec.table);
    if !has_table && spec.path.is_none() {
        return Err(job_err(format!(
            "resource {} has no table `{}` yet; give its lake path with `path = \"base/…\"`",
            spec.resource, spec.table
        )));
    }
    let delta_source = match &spec.source {
        SourceSpec::Delta { url, .. } => Some(url.as_str()),
        _ => None,
    };
    let tables = store.list_tables().await?;
    let target = &resource.resource.id;
    if let Some(reason) = crate::ownership::overlap(
        target,
        &spec.table,
        spec.path.as_deref(),
        delta_source,
        &tables,
    ) {
        return Err(job_err(reason));
    }
    for check in &spec.checks {
        check.compile(&resource.columns).map_err(&job_err)?;
    }
    if spec.mode == Mode::Append && matches!(spec.source, SourceSpec::Delta { .. }) {
        return Err(job_err(
            "a Delta source is read whole at its latest version; use mode = \"overwrite\" to mirror it, \"merge\" to upsert it or \"history\" to keep its history".into(),
        ));
    }
    if matches!(spec.mode, Mode::Merge | Mode::History)
        && merge_keys(&spec, &resource.columns).is_empty()
    {
        return Err(job_err(format!(
            "{:?} mode needs key columns; mark items of {} as keys or list them in `keys = [...]`",
            spec.mode, spec.resource
        )));
    }
    let column = |name: &str, section: &str| {
        resource
            .columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                job_err(format!(
                    "[{section}] names `{name}`, which resource {} does not have",
                    spec.resource
                ))
            })
    };
    for (name, format) in &spec.cast {
        let c = column(name, "cast")?;
        if !matches!(c.data_type.as_str(), "date" | "timestamp") {
            return Err(job_err(format!(
                "[cast] {name} = \"{format}\": formats apply to date and timestamp columns; `{name}` is {}",
                c.data_type
            )));
        }
    }
    for name in spec.derive.keys() {
        column(name, "derive")?;
    }
    let schema = arrow_schema(&resource.columns)?;
    Derivation::compile(&schema, &spec.derive).map_err(&job_err)?;
    for (name, bind) in &spec.bind {
        column(name, "bind")?;
        if store.get_element(bind.element()).await?.is_none() {
            return Err(job_err(format!(
                "[bind] {name}: no data element `{}`; see `zhongshu catalog elements`",
                bind.element()
            )));
        }
        bind.role()
            .parse::<zhongshu_catalog::BindingRole>()
            .map_err(|e| job_err(format!("[bind] {name}: {e}")))?;
    }
    for key in &spec.keys {
        if !resource.columns.iter().any(|c| &c.name == key) {
            return Err(job_err(format!(
                "key `{key}` is not a column of {}",
                spec.resource
            )));
        }
    }
    if let Some(schedule) = &spec.schedule {
        crate::schedule::parse_schedule(schedule).map_err(&job_err)?;
    }
    for target in spec.columns.keys() {
        if !resource.columns.iter().any(|c| &c.name == target) {
            return Err(job_err(format!(
                "[columns] maps `{target}`, which resource {} does not have",
                spec.resource
            )));
        }
    }
    let job = IngestJob {
        id: JobId::new(spec.id.clone()),
        resource: resource.resource.id.clone(),
        table: spec.table.clone(),
        spec: spec_text.to_owned(),
        created_at: String::new(),
        updated_at: String::new(),
    };
    Ok((spec, job, resource))
}

/// Validates and stores a job, and binds the columns its `[bind]` section names to their
/// data elements (a second source of an element is refused, per 一数一源).
pub async fn create_job(
    store: &dyn CatalogStore,
    actor: &Actor,
    spec_text: &str,
) -> Result<IngestJob, RunError> {
    let (spec, job, resource) = validate_with_target(store, spec_text).await?;
    store.upsert_job(actor, &job).await?;
    for (name, bind) in &spec.bind {
        let element = store
            .get_element(bind.element())
            .await?
            .ok_or_else(|| RunError::Job {
                job: spec.id.clone(),
                message: format!("[bind] {name}: no data element `{}`", bind.element()),
            })?;
        let role: zhongshu_catalog::BindingRole =
            bind.role().parse().map_err(|e| RunError::Job {
                job: spec.id.clone(),
                message: format!("[bind] {name}: {e}"),
            })?;
        let current = resource.columns.iter().find(|c| &c.name == name);
        if current
            .is_some_and(|c| c.element.as_ref() == Some(&element.id) && c.binding == Some(role))
        {
            continue;
        }
        store
            .bind_column(actor, &job.resource, name, &element.id, role)
            .await?;
    }
    Ok(job)
}

/// The key columns of a merge: the job's `keys`, or the resource's key items.
fn merge_keys(spec: &JobSpec, columns: &[Column]) -> Vec<String> {
    if spec.keys.is_empty() {
        columns
            .iter()
            .filter(|c| c.is_key)
            .map(|c| c.name.clone())
            .collect()
    } else {
        spec.keys.clone()
    }
}

/// Runs (or resumes) a job now.
pub async fn run_job(
    ctx: &IngestContext,
    job_id: &JobId,
    progress: impl FnMut(Progress),
) -> Result<IngestRun, RunError> {
    run_job_on(ctx, job_id, None, progress).await
}

/// Runs a job on the given files instead of its source directory: how corrected rows from
/// quarantine are re-submitted. The files must be in the job's format and encoding; the run is
/// an ordinary run with all its guarantees.
pub async fn resubmit(
    ctx: &IngestContext,
    job_id: &JobId,
    files: &[PathBuf],
    progress: impl FnMut(Progress),
) -> Result<IngestRun, RunError> {
    run_job_on(ctx, job_id, Some(files), progress).await
}

async fn run_job_on(
    ctx: &IngestContext,
    job_id: &JobId,
    explicit: Option<&[PathBuf]>,
    mut progress: impl FnMut(Progress),
) -> Result<IngestRun, RunError> {
    let started = Instant::now();
    let store = ctx.store.as_ref();
    let job = store.get_job(job_id).await?.ok_or_else(|| RunError::Job {
        job: job_id.to_string(),
        message: "no such job; see `zhongshu ingest list`".into(),
    })?;
    let (spec, _, resource) = validate_with_target(store, &job.spec).await?;
    let path = resource
        .tables
        .iter()
        .find(|t| t.name == job.table)
        .map(|t| t.path.clone())
        .or(spec.path.clone())
        .ok_or_else(|| RunError::Job {
            job: job.id.to_string(),
            message: "target table has no lake path".into(),
        })?;
    let mut run = store.begin_run(&job.id).await?;
    let outcome = execute(
        ctx,
        &job,
        &spec,
        &resource.columns,
        &path,
        &mut run,
        explicit,
        &mut progress,
    )
    .await;
    run.duration_ms = started.elapsed().as_millis() as i64;
    run.finished_at = Some(chrono::Utc::now().to_rfc3339());
    match outcome {
        Ok(()) => {
            run.status = RunStatus::Succeeded;
            store.finish_run(&run).await?;
            if let (Some(quality), Some(_)) = (&ctx.quality, run.table_version) {
                quality.after_commit(&job, &run).await;
            }
            Ok(run)
        }
        Err(e) => {
            run.status = RunStatus::Failed;
            run.error = Some(e.to_string());
            store.finish_run(&run).await?;
            Err(e)
        }
    }
}

/// Where accepted rows go while inputs are read.
#[allow(clippy::large_enum_variant)] // one sink per run; boxing would buy nothing
enum Sink {
    /// Streamed into Parquet files of one pending append commit (opened at the first batch).
    Append {
        lake: Lake,
        path: String,
        name: String,
        app_id: String,
        version: i64,
        open: Option<Box<StreamingAppend>>,
        /// The commit already exists (a resumed run): rows are counted, not written again.
        committed: bool,
    },
    /// Spooled to a local Parquet file for an overwrite, merge or history commit, which reads
    /// it back as a stream: memory stays bounded whatever the run's size.
    Spool {
        file: PathBuf,
        writer: Option<parquet::arrow::ArrowWriter<std::fs::File>>,
    },
}

impl Sink {
    async fn write(&mut self, batch: RecordBatch) -> Result<(), RunError> {
        match self {
            Sink::Spool { file, writer } => {
                if writer.is_none() {
                    let spool_err =
                        |e: std::io::Error| RunError::Internal(format!("{}: {e}", file.display()));
                    if let Some(dir) = file.parent() {
                        std::fs::create_dir_all(dir).map_err(spool_err)?;
                    }
                    let handle = std::fs::File::create(&*file).map_err(spool_err)?;
                    *writer = Some(
                        parquet::arrow::ArrowWriter::try_new(handle, batch.schema(), None)
                            .map_err(|e| RunError::Internal(format!("{}: {e}", file.display())))?,
                    );
                }
                if let Some(w) = writer {
                    w.write(&batch)
                        .map_err(|e| RunError::Internal(format!("{}: {e}", file.display())))?;
                }
            }
            Sink::Append {
                lake,
                path,
                name,
                app_id,
                version,
                open,
                committed,
            } => {
                if *committed {
                    return Ok(());
                }
                if open.is_none() {
                    match lake
                        .write_to(path)
                        .named(name)
                        .schema(batch.schema())
                        .exactly_once(app_id, *version)
                        .streaming()
                        .await?
                    {
                        Some(append) => *open = Some(Box::new(append)),
                        None => {
                            *committed = true;
                            return Ok(());
                        }
                    }
                }
                if let Some(append) = open {
                    append.write(batch).await?;
                }
            }
        }
        Ok(())
    }
}

/// The column a drifted source column becomes when the job's policy adds it: nullable text,
/// classified like the resource's most sensitive column until a data officer decides.
fn added_column(name: &str, columns: &[Column]) -> Result<Column, String> {
    let snake = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !snake {
        return Err(format!(
            "column `{name}` cannot be added automatically: a column name must be ASCII snake_case; \
             register it on the resource under such a name and map it in [columns]"
        ));
    }
    let strictest = columns.iter().max_by_key(|c| c.grade);
    Ok(Column {
        name: name.to_owned(),
        title: name.to_owned(),
        data_type: "string".into(),
        nullable: true,
        is_key: false,
        description: "added by schema drift of an ingest job; classify it".into(),
        category: strictest.map_or(zhongshu_catalog::Category::Public, |c| c.category),
        grade: strictest.map_or(zhongshu_catalog::Grade::L1, |c| c.grade),
        element: None,
        binding: None,
    })
}

/// Checks each input's columns against the target before any row is read: a type change or
/// a missing required column fails the run naming input, column, expected and found; unknown
/// columns are refused, ignored or returned to be added, per the job's drift policy.
async fn check_drift(
    source: &dyn Source,
    inputs: &[RunInput],
    spec: &JobSpec,
    columns: &[Column],
) -> Result<Vec<String>, RunError> {
    let mut added: Vec<String> = Vec::new();
    for input in inputs {
        let found = source.columns(input).await?;
        if found.is_empty() {
            continue;
        }
        let names: Vec<String> = found.iter().map(|c| c.name.clone()).collect();
        map_header(&input.name, &names, spec, columns)?;
        for f in &found {
            let Some(found_type) = &f.data_type else {
                continue;
            };
            let target = columns
                .iter()
                .find(|c| spec.source_column(&c.name) == f.name.trim());
            if let Some(c) = target
                && !type_fits(&c.data_type, found_type)
            {
                return Err(InputError::new(
                    &input.name,
                    format!("expected {}, found {found_type}", c.data_type),
                )
                .column(f.name.as_str())
                .rule("schema drift — type change")
                .into());
            }
        }
        if spec.drift.extra_columns == ExtraColumns::Add {
            for name in names {
                let name = name.trim().to_owned();
                let known = columns.iter().any(|c| spec.source_column(&c.name) == name);
                if !known && !added.contains(&name) {
                    added.push(name);
                }
            }
        }
    }
    Ok(added)
}

#[allow(clippy::too_many_arguments)] // the run's state, passed explicitly
async fn execute(
    ctx: &IngestContext,
    job: &IngestJob,
    spec: &JobSpec,
    columns: &[Column],
    path: &str,
    run: &mut IngestRun,
    explicit: Option<&[PathBuf]>,
    progress: &mut impl FnMut(Progress),
) -> Result<(), RunError> {
    let store = ctx.store.as_ref();
    let job_err = |message: String| RunError::Job {
        job: job.id.to_string(),
        message,
    };
    let source = source_for(spec, &ctx.data_dir);
    // Plan the inputs and save the plan before any commit, so that a resumed run reads the
    // same data (files, source table version, watermark range, spooled pages).
    if run.inputs.is_empty() {
        if explicit.is_some() && !matches!(spec.source, SourceSpec::Files { .. }) {
            return Err(job_err(
                "only jobs reading files take re-submitted files".into(),
            ));
        }
        let landed = store.landed_files(&job.id).await?;
        run.inputs = source
            .plan(&PlanContext {
                job: &job.id,
                run: run.run,
                data_dir: &ctx.data_dir,
                landed: &landed,
                explicit,
            })
            .await?;
    } else if explicit.is_some() {
        return Err(job_err(format!(
            "run {} was interrupted; finish it first with `zhongshu ingest run {}`",
            run.run, spec.id
        )));
    } else {
        source.verify(&run.inputs).await?;
    }
    store.finish_run(run).await?;
    let data_inputs: Vec<usize> = (0..run.inputs.len())
        .filter(|i| run.inputs[*i].kind != WATERMARK)
        .collect();
    if data_inputs.is_empty() {
        return Ok(());
    }

    // Schema drift, before any row is read or written.
    let planned: Vec<RunInput> = data_inputs.iter().map(|i| run.inputs[*i].clone()).collect();
    let mut columns = columns.to_vec();
    for name in check_drift(source.as_ref(), &planned, spec, &columns).await? {
        let column = added_column(&name, &columns)
            .map_err(|e| RunError::from(InputError::new(&job.id, e).rule("schema drift")))?;
        store
            .add_column(&Actor(format!("ingest:{}", job.id)), &job.resource, &column)
            .await?;
        tracing::info!(job = %job.id, column = %name, "schema drift: column added");
        columns.push(column);
    }
    let columns = columns.as_slice();

    let schema = arrow_schema(columns)?;
    // Derived columns are computed after the checks, so rules on them wait for the evaluation.
    let derived: Vec<String> = spec.derive.keys().cloned().collect();
    let rules = match &ctx.quality {
        Some(q) => q
            .row_checks(&job.resource, columns, &derived)
            .await
            .map_err(|e| job_err(format!("quality rules: {e}")))?,
        None => Vec::new(),
    };
    let compiled = spec
        .checks
        .iter()
        .map(|c| c.compile(columns))
        .collect::<Result<Vec<_>, _>>()
        .map_err(job_err)?;
    // The job's checks, then the quality rules (their in-run uniqueness last among them).
    let mut checks: Vec<&dyn RowCheck> = compiled.iter().map(|c| c as &dyn RowCheck).collect();
    checks.extend(rules.iter().map(|c| c.as_ref()));
    let keys = merge_keys(spec, columns);
    let unique = match spec.mode {
        Mode::Merge | Mode::History => Some(UniqueKey::new(columns, &keys).map_err(job_err)?),
        _ => None,
    };
    // Last, so that a row another check rejects does not claim its key.
    checks.extend(unique.iter().map(|c| c as &dyn RowCheck));
    let derivation = Derivation::compile(&schema, &spec.derive).map_err(job_err)?;
    let spool = ctx
        .data_dir
        .join("ingest/spool")
        .join(job.id.as_str())
        .join(format!("run-{:06}.parquet", run.run));
    let mut sink = match spec.mode {
        Mode::Append => Sink::Append {
            lake: ctx.lake.clone(),
            path: path.to_owned(),
            name: job.resource.to_string(),
            app_id: app_id(&job.id),
            version: run.run,
            open: None,
            committed: false,
        },
        Mode::Overwrite | Mode::Merge | Mode::History => Sink::Spool {
            file: spool.clone(),
            writer: None,
        },
    };
    // Reading and Parquet encoding run on two tasks (two cores), joined by a short queue that
    // keeps memory bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(4);
    let writer = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            sink.write(batch).await?;
        }
        Ok::<Sink, RunError>(sink)
    });
    let mut lander = Lander::new(
        spec,
        columns,
        &checks,
        &derivation,
        TargetRows::new(columns, schema.clone()),
        (job.id.as_str(), run.run),
        tx,
    );
    let mut state = Progress {
        rows: 0,
        bytes: 0,
        total_bytes: planned.iter().map(|i| i.size).sum(),
    };
    let mut parsed: Result<(), RunError> = Ok(());
    for i in data_inputs {
        match source.read(&run.inputs[i], &mut lander).await {
            Ok(read) => {
                run.inputs[i].rows = read;
                state.rows += read;
                state.bytes += run.inputs[i].size;
                progress(state);
            }
            Err(e) => {
                parsed = Err(e);
                break;
            }
        }
    }
    let finished = match parsed {
        Ok(()) => lander.finish().await,
        Err(e) => {
            drop(lander);
            Err(e)
        }
    };
    let joined = writer
        .await
        .map_err(|e| RunError::Internal(format!("table writer task: {e}")))?;
    let (landed, sink) = match (finished, joined) {
        (Ok(landed), Ok(sink)) => (landed, sink),
        // A writer failure explains a reader-side "writer stopped"; report it first.
        (_, Err(e)) | (Err(e), Ok(_)) => return Err(e),
    };
    let crate::lander::Landed {
        mut quarantine,
        mut flags,
        flagged,
        accepted,
    } = landed;
    let quarantined = quarantine.len() as u64;
    if state.rows != accepted + quarantined {
        return Err(job_err(format!(
            "row accounting broke: read {} but {accepted} written + {quarantined} quarantined",
            state.rows
        )));
    }
    run.rows_read = state.rows as i64;
    run.rows_written = accepted as i64;
    run.rows_quarantined = quarantined as i64;
    run.rows_flagged = flagged as i64;
    run.bytes = state.bytes as i64;

    // Quarantine first, then the target: each commit carries the run's transaction id, so a
    // resumed run skips whichever already landed.
    failpoint("before_commit");
    if quarantined > 0 {
        let q = ctx
            .lake
            .write_to(&quarantine_path(path))
            .named("quarantine")
            .schema(crate::rows::quarantine_schema())
            .exactly_once(&format!("{}:quarantine", app_id(&job.id)), run.run)
            .append(vec![quarantine.take_batch()?])
            .await?;
        run.quarantine_version = Some(q.version as i64);
    }
    if !flags.is_empty() {
        let f = ctx
            .lake
            .write_to(&flag_path(path))
            .named("flags")
            .schema(crate::rows::quarantine_schema())
            .exactly_once(&format!("{}:flags", app_id(&job.id)), run.run)
            .append(vec![flags.take_batch()?])
            .await?;
        run.flag_version = Some(f.version as i64);
    }
    failpoint("after_quarantine_commit");
    let data =
        |writer: Option<parquet::arrow::ArrowWriter<std::fs::File>>| -> Result<RunData, RunError> {
            Ok(match writer {
                Some(w) => {
                    w.close()
                        .map_err(|e| RunError::Internal(format!("{}: {e}", spool.display())))?;
                    RunData::Parquet(spool.clone())
                }
                None => RunData::Batches(Vec::new()),
            })
        };
    let version = match sink {
        Sink::Append {
            open: Some(append), ..
        } => Some(append.commit().await?.version),
        Sink::Append {
            committed: true, ..
        } => ctx.lake.open_table(path).await?.version(),
        Sink::Append { .. } => None,
        Sink::Spool { writer, .. } => {
            let data = data(writer)?;
            let resource = job.resource.as_str();
            let app = app_id(&job.id);
            let write = ctx
                .lake
                .write_to(path)
                .named(resource)
                .schema(schema)
                .exactly_once(&app, run.run);
            let version = match spec.mode {
                Mode::Merge => write.merge(data, &keys).await?.version,
                Mode::History => {
                    write
                        .history(data, &keys, chrono::Utc::now())
                        .await?
                        .version
                }
                _ => write.overwrite(data).await?.version,
            };
            let _ = std::fs::remove_file(&spool);
            Some(version)
        }
    };
    run.table_version = version.map(|v| v as i64);
    failpoint("after_target_commit");
    if version.is_none() {
        return Ok(());
    }

    let record = ctx
        .lake
        .table_record(&job.resource, &job.table, path)
        .await?;
    store
        .upsert_table(&Actor(format!("ingest:{}", job.id)), &record)
        .await?;
    Ok(())
}
