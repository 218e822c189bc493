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
use crate::files::{DecodingReader, Encoding, FileFormat};
use crate::rows::{QuarantineRows, Rejection, RowCheck, TargetRows};
use crate::spec::{ExtraColumns, JobSpec, Mode, SourceSpec};
use arrow::array::RecordBatch;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use zhongshu_catalog::{
    Actor, CatalogError, CatalogStore, Column, IngestJob, IngestRun, JobId, ResourceDetail,
    ResourceId, RunInput, RunStatus,
};
use zhongshu_engine::{EngineError, Lake, StreamingAppend, WriteMode, schema::arrow_schema};

/// A run failed; the message names the file, line or column and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The job or its specification is wrong.
    #[error("job {job}: {message}")]
    Job {
        /// Job id.
        job: String,
        /// What is wrong.
        message: String,
    },
    /// A delivered file does not fit the target (encoding, header, drift).
    #[error("{0}")]
    Input(String),
    /// Catalog failure.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Storage failure.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<arrow::error::ArrowError> for RunError {
    fn from(e: arrow::error::ArrowError) -> Self {
        RunError::Engine(EngineError::Arrow(e))
    }
}

/// What a run needs.
pub struct IngestContext {
    /// The catalog.
    pub store: Arc<dyn CatalogStore>,
    /// The lake.
    pub lake: Lake,
    /// Base for relative source directories.
    pub data_dir: PathBuf,
    /// Row checks applied before landing (quality rules).
    pub checks: Vec<Box<dyn RowCheck>>,
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

fn sha256_file(path: &Path) -> Result<(u64, String), RunError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)
        .map_err(|e| RunError::Input(format!("{}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| RunError::Input(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
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
    for check in &spec.checks {
        check.compile(&resource.columns).map_err(&job_err)?;
    }
    if spec.mode == Mode::Merge && merge_keys(&spec, &resource.columns).is_empty() {
        return Err(job_err(format!(
            "merge needs key columns; mark items of {} as keys or list them in `keys = [...]`",
            spec.resource
        )));
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

struct FileInput {
    path: PathBuf,
    size: u64,
    checksum: String,
}

/// The files of this run: those the interrupted run recorded, or the new ones matching the
/// glob that the ledger has not seen.
async fn plan_inputs(
    ctx: &IngestContext,
    spec: &JobSpec,
    run: &IngestRun,
    explicit: Option<&[PathBuf]>,
) -> Result<Vec<FileInput>, RunError> {
    let SourceSpec::Files { dir, glob, .. } = &spec.source else {
        return Ok(Vec::new());
    };
    if !run.inputs.is_empty() && explicit.is_some() {
        return Err(RunError::Job {
            job: spec.id.clone(),
            message: format!(
                "run {} was interrupted; finish it first with `zhongshu ingest run {}`",
                run.run, spec.id
            ),
        });
    }
    if !run.inputs.is_empty() {
        let mut out = Vec::new();
        for input in &run.inputs {
            let path = PathBuf::from(&input.name);
            let (size, checksum) = sha256_file(&path)?;
            if checksum != input.checksum {
                return Err(RunError::Input(format!(
                    "{}: changed since interrupted run {} read it; restore the file or remove the run's inputs",
                    path.display(),
                    run.run
                )));
            }
            out.push(FileInput {
                path,
                size,
                checksum,
            });
        }
        return Ok(out);
    }
    let landed: HashSet<(String, String)> = ctx
        .store
        .landed_files(&run.job)
        .await?
        .into_iter()
        .map(|(p, _, c)| (p, c))
        .collect();
    if let Some(explicit) = explicit {
        let mut out = Vec::new();
        for path in explicit {
            let path = std::fs::canonicalize(path)
                .map_err(|e| RunError::Input(format!("{}: {e}", path.display())))?;
            let (size, checksum) = sha256_file(&path)?;
            if landed.contains(&(path.display().to_string(), checksum.clone())) {
                return Err(RunError::Input(format!(
                    "{}: this exact file has already landed",
                    path.display()
                )));
            }
            out.push(FileInput {
                path,
                size,
                checksum,
            });
        }
        return Ok(out);
    }
    let base = if Path::new(dir).is_absolute() {
        PathBuf::from(dir)
    } else {
        ctx.data_dir.join(dir)
    };
    let pattern = base.join(glob);
    let pattern = pattern.to_string_lossy();
    let mut paths: Vec<PathBuf> = glob::glob(&pattern)
        .map_err(|e| RunError::Job {
            job: spec.id.clone(),
            message: format!("glob `{pattern}`: {e}"),
        })?
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let (size, checksum) = sha256_file(&path)?;
        if !landed.contains(&(path.display().to_string(), checksum.clone())) {
            out.push(FileInput {
                path,
                size,
                checksum,
            });
        }
    }
    Ok(out)
}

/// Maps the target columns to field positions of a header; fails on missing columns and, by
/// policy, on extra ones.
fn map_header(
    file: &str,
    header: &[String],
    spec: &JobSpec,
    columns: &[Column],
) -> Result<Vec<Option<usize>>, RunError> {
    let mut positions = Vec::with_capacity(columns.len());
    let mut missing = Vec::new();
    for c in columns {
        let source = spec.source_column(&c.name);
        let pos = header.iter().position(|h| h.trim() == source);
        if pos.is_none() && !c.nullable {
            missing.push(format!("{source} ({})", c.title));
        }
        positions.push(pos);
    }
    let expected: Vec<&str> = columns
        .iter()
        .map(|c| spec.source_column(&c.name))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Input(format!(
            "{file}:1: required column(s) {} missing (rule: schema); expected {}, found {}",
            missing.join(", "),
            expected.join(","),
            header.join(",")
        )));
    }
    let extra: Vec<&String> = header
        .iter()
        .filter(|h| !expected.contains(&h.trim()))
        .collect();
    if !extra.is_empty() && spec.drift.extra_columns == ExtraColumns::Refuse {
        return Err(RunError::Input(format!(
            "{file}:1: unexpected column(s) {} (rule: schema drift); register them on the resource, or set [drift] extra_columns = \"ignore\"",
            extra
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(positions)
}

/// Where accepted rows go while files are read.
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
    /// Collected for an overwrite or merge, which commits once at the end.
    Collect(Vec<RecordBatch>),
}

impl Sink {
    async fn write(&mut self, batch: RecordBatch) -> Result<(), RunError> {
        match self {
            Sink::Collect(batches) => batches.push(batch),
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
                        .streaming_append(path, name, batch.schema(), app_id, *version)
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

const BATCH_ROWS: usize = 64 * 1024;

/// Hands a batch to the writer task; fails when the writer has stopped (its error is reported
/// when it is joined).
async fn send(
    sink: &tokio::sync::mpsc::Sender<RecordBatch>,
    batch: RecordBatch,
) -> Result<(), RunError> {
    sink.send(batch)
        .await
        .map_err(|_| RunError::Input("the table writer stopped".into()))
}

/// Reads one file, streaming accepted rows into the sink and rejected ones into quarantine.
/// Returns the rows read.
#[allow(clippy::too_many_arguments)] // the run's state, passed explicitly
async fn parse_file(
    file: &FileInput,
    format: FileFormat,
    encoding: Encoding,
    spec: &JobSpec,
    columns: &[Column],
    checks: &[&dyn RowCheck],
    target: &mut TargetRows,
    quarantine: &mut QuarantineRows,
    sink: &tokio::sync::mpsc::Sender<RecordBatch>,
) -> Result<u64, RunError> {
    let name = file.path.display().to_string();
    let handle =
        std::fs::File::open(&file.path).map_err(|e| RunError::Input(format!("{name}: {e}")))?;
    if format == FileFormat::Parquet {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(handle)
            .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
            .map_err(|e| RunError::Input(format!("{name}: not a readable Parquet file: {e}")))?;
        let mut positions = None;
        let mut rows_read = 0;
        for batch in reader {
            let batch = batch?;
            rows_read += land_batch(
                &name,
                &batch,
                rows_read,
                &mut positions,
                spec,
                columns,
                checks,
                target,
                quarantine,
                sink,
            )
            .await?;
        }
        return Ok(rows_read);
    }

    let reader = DecodingReader::new(
        std::io::BufReader::with_capacity(1 << 20, handle),
        encoding,
        &name,
    )
    .map_err(|e| RunError::Input(format!("{name}: {e}")))?;
    let mut rows_read = 0u64;
    let land = |target: &mut TargetRows,
                quarantine: &mut QuarantineRows,
                line: u64,
                raw: &str,
                values: &[Option<&str>]| {
        if let Err(why) = target.push(values, checks) {
            quarantine.push(&name, line, raw, &why);
        }
    };
    match format {
        FileFormat::Csv | FileFormat::Tsv => {
            let delimiter = if format == FileFormat::Csv {
                b','
            } else {
                b'\t'
            };
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_reader(reader);
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| RunError::Input(format!("{name}:1: {e} (rule: csv)")))?
                .iter()
                .map(str::to_owned)
                .collect();
            let positions = map_header(&name, &header, spec, columns)?;
            let separator = (delimiter as char).to_string();
            let mut record = csv::StringRecord::new();
            loop {
                let line = reader.position().line();
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        rows_read += 1;
                        if record.len() != header.len() {
                            let raw = record.iter().collect::<Vec<_>>().join(&separator);
                            let why = Rejection {
                                column: String::new(),
                                rule: "shape".into(),
                                reason: format!(
                                    "{} fields where the header has {}",
                                    record.len(),
                                    header.len()
                                ),
                            };
                            quarantine.push(&name, line, &raw, &why);
                            continue;
                        }
                        let values: Vec<Option<&str>> = positions
                            .iter()
                            .map(|p| {
                                p.and_then(|i| record.get(i))
                                    .map(str::trim)
                                    .filter(|v| !v.is_empty())
                            })
                            .collect();
                        if let Err(why) = target.push(&values, checks) {
                            let raw = record.iter().collect::<Vec<_>>().join(&separator);
                            quarantine.push(&name, line, &raw, &why);
                        }
                    }
                    // An undecodable file is wrong as a whole: fail the run, naming the line.
                    Err(e) if e.is_io_error() => {
                        return Err(RunError::Input(e.to_string().replace("I/O error: ", "")));
                    }
                    Err(e) => {
                        rows_read += 1;
                        let why = Rejection {
                            column: String::new(),
                            rule: "csv".into(),
                            reason: e.to_string(),
                        };
                        quarantine.push(&name, line, "", &why);
                    }
                }
                if target.len() >= BATCH_ROWS {
                    send(sink, target.take_batch()?).await?;
                }
            }
        }
        FileFormat::Parquet => unreachable!("handled above"),
        FileFormat::JsonLines => {
            use std::io::BufRead;
            let mut checked_header = false;
            for (i, line_text) in std::io::BufReader::new(reader).lines().enumerate() {
                let line_text = line_text.map_err(|e| RunError::Input(e.to_string()))?;
                if line_text.trim().is_empty() {
                    continue;
                }
                rows_read += 1;
                let line = i as u64 + 1;
                let object = match serde_json::from_str::<serde_json::Value>(&line_text) {
                    Ok(serde_json::Value::Object(o)) => o,
                    Ok(_) | Err(_) => {
                        let why = Rejection {
                            column: String::new(),
                            rule: "json".into(),
                            reason: "not a JSON object".into(),
                        };
                        quarantine.push(&name, line, &line_text, &why);
                        continue;
                    }
                };
                if !checked_header {
                    let keys: Vec<String> = object.keys().cloned().collect();
                    map_header(&name, &keys, spec, columns)?;
                    checked_header = true;
                }
                let texts: Vec<Option<String>> = columns
                    .iter()
                    .map(|c| match object.get(spec.source_column(&c.name)) {
                        None | Some(serde_json::Value::Null) => None,
                        Some(serde_json::Value::String(s)) => Some(s.clone()),
                        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                        Some(other) => Some(other.to_string()),
                    })
                    .collect();
                let values: Vec<Option<&str>> = texts
                    .iter()
                    .map(|t| t.as_deref().map(str::trim).filter(|v| !v.is_empty()))
                    .collect();
                land(target, quarantine, line, &line_text, &values);
                if target.len() >= BATCH_ROWS {
                    send(sink, target.take_batch()?).await?;
                }
            }
        }
    }
    Ok(rows_read)
}

/// Lands one typed batch (from Parquet or a Delta source): values are rendered as text and
/// typed and checked exactly like file rows; `line` is the row's position in the input.
/// Returns the rows read.
#[allow(clippy::too_many_arguments)] // the run's state, passed explicitly
async fn land_batch(
    name: &str,
    batch: &RecordBatch,
    offset: u64,
    positions: &mut Option<Vec<Option<usize>>>,
    spec: &JobSpec,
    columns: &[Column],
    checks: &[&dyn RowCheck],
    target: &mut TargetRows,
    quarantine: &mut QuarantineRows,
    sink: &tokio::sync::mpsc::Sender<RecordBatch>,
) -> Result<u64, RunError> {
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if positions.is_none() {
        *positions = Some(map_header(name, &names, spec, columns)?);
    }
    let positions = positions.as_deref().unwrap_or_default();
    let texts: Vec<arrow::array::ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
        .collect::<Result<_, _>>()?;
    let texts: Vec<&arrow::array::StringArray> = texts
        .iter()
        .map(|a| arrow::array::AsArray::as_string::<i32>(a.as_ref()))
        .collect();
    for row in 0..batch.num_rows() {
        let values: Vec<Option<&str>> = positions
            .iter()
            .map(|p| {
                p.and_then(|i| {
                    let a = texts[i];
                    arrow::array::Array::is_valid(a, row).then(|| a.value(row))
                })
                .map(str::trim)
                .filter(|v| !v.is_empty())
            })
            .collect();
        if let Err(why) = target.push(&values, checks) {
            let raw = values
                .iter()
                .map(|v| v.unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",");
            quarantine.push(name, offset + row as u64 + 1, &raw, &why);
        }
        if target.len() >= BATCH_ROWS {
            send(sink, target.take_batch()?).await?;
        }
    }
    Ok(batch.num_rows() as u64)
}

/// Reads one version of a Delta source, streaming accepted rows into the sink. Values are
/// typed and checked exactly like file rows; `line` in quarantine is the row's position.
#[allow(clippy::too_many_arguments)] // the run's state, passed explicitly
async fn read_delta(
    url: &str,
    options: &std::collections::HashMap<String, String>,
    version: u64,
    spec: &JobSpec,
    columns: &[Column],
    checks: &[&dyn RowCheck],
    target: &mut TargetRows,
    quarantine: &mut QuarantineRows,
    sink: &tokio::sync::mpsc::Sender<RecordBatch>,
) -> Result<u64, RunError> {
    use futures::StreamExt;
    let name = format!("{url}@v{version}");
    let mut stream = Lake::scan_external(url, options, version).await?;
    let mut positions: Option<Vec<Option<usize>>> = None;
    let mut rows_read = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(EngineError::from)?;
        rows_read += land_batch(
            &name,
            &batch,
            rows_read,
            &mut positions,
            spec,
            columns,
            checks,
            target,
            quarantine,
            sink,
        )
        .await?;
    }
    Ok(rows_read)
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
    // Plan the inputs and save the plan before any commit, so that a resumed run reads the
    // same files (or the same source table version).
    let mut files = Vec::new();
    match &spec.source {
        SourceSpec::Files { .. } => {
            files = plan_inputs(ctx, spec, run, explicit).await?;
            run.inputs = files
                .iter()
                .map(|f| RunInput {
                    kind: "file".into(),
                    name: f.path.display().to_string(),
                    size: f.size,
                    checksum: f.checksum.clone(),
                    rows: 0,
                })
                .collect();
        }
        SourceSpec::Delta { url, options } => {
            if spec.mode == Mode::Append {
                return Err(RunError::Job {
                    job: job.id.to_string(),
                    message: "a Delta source is read whole at its latest version; use mode = \"overwrite\" to mirror it or \"merge\" to upsert it".into(),
                });
            }
            if run.inputs.is_empty() {
                let options = options.clone().into_iter().collect();
                let version = Lake::external_version(url, &options).await?;
                let checksum = format!("v{version}");
                let landed = ctx.store.landed_files(&job.id).await?;
                if !landed.iter().any(|(p, _, c)| p == url && *c == checksum) {
                    run.inputs = vec![RunInput {
                        kind: "file".into(),
                        name: url.clone(),
                        size: 0,
                        checksum,
                        rows: 0,
                    }];
                }
            }
        }
    }
    store.finish_run(run).await?;
    if run.inputs.is_empty() {
        return Ok(());
    }

    let schema = arrow_schema(columns)?;
    let mut checks: Vec<&dyn RowCheck> = ctx.checks.iter().map(|c| c.as_ref()).collect();
    let compiled = spec
        .checks
        .iter()
        .map(|c| c.compile(columns))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| RunError::Job {
            job: job.id.to_string(),
            message,
        })?;
    checks.extend(compiled.iter().map(|c| c as &dyn RowCheck));
    let keys = merge_keys(spec, columns);
    let unique = match spec.mode {
        Mode::Merge => Some(
            UniqueKey::new(columns, &keys).map_err(|message| RunError::Job {
                job: job.id.to_string(),
                message,
            })?,
        ),
        _ => None,
    };
    // Last, so that a row another check rejects does not claim its key.
    checks.extend(unique.iter().map(|c| c as &dyn RowCheck));
    let mut target = TargetRows::new(columns, schema);
    let mut quarantine = QuarantineRows::new(job.id.as_str(), run.run);
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
        Mode::Overwrite | Mode::Merge => Sink::Collect(Vec::new()),
    };
    // Parsing and Parquet encoding run on two tasks (two cores), joined by a short queue that
    // keeps memory bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(4);
    let writer = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            sink.write(batch).await?;
        }
        Ok::<Sink, RunError>(sink)
    });
    let total_bytes = files.iter().map(|f| f.size).sum();
    let mut state = Progress {
        rows: 0,
        bytes: 0,
        total_bytes,
    };
    let mut parsed: Result<u64, RunError> = Ok(0);
    if let SourceSpec::Delta { url, options } = &spec.source {
        let version: u64 = run.inputs[0]
            .checksum
            .trim_start_matches('v')
            .parse()
            .unwrap_or_default();
        let options = options.clone().into_iter().collect();
        match read_delta(
            url,
            &options,
            version,
            spec,
            columns,
            &checks,
            &mut target,
            &mut quarantine,
            &tx,
        )
        .await
        {
            Ok(read) => {
                parsed = Ok(read - quarantine.len() as u64);
                run.inputs[0].rows = read;
                state.rows = read;
                progress(state);
            }
            Err(e) => parsed = Err(e),
        }
    }
    let (format, encoding) = match spec.source {
        SourceSpec::Files {
            format, encoding, ..
        } => (format, encoding),
        SourceSpec::Delta { .. } => (FileFormat::Csv, Encoding::Utf8),
    };
    for (i, file) in files.iter().enumerate() {
        let before = quarantine.len() as u64;
        match parse_file(
            file,
            format,
            encoding,
            spec,
            columns,
            &checks,
            &mut target,
            &mut quarantine,
            &tx,
        )
        .await
        {
            Ok(read) => {
                if let Ok(accepted) = parsed.as_mut() {
                    *accepted += read - (quarantine.len() as u64 - before);
                }
                run.inputs[i].rows = read;
                state.rows += read;
                state.bytes += file.size;
                progress(state);
            }
            Err(e) => {
                parsed = Err(e);
                break;
            }
        }
    }
    if parsed.is_ok() && !target.is_empty() {
        match target.take_batch() {
            Ok(batch) => {
                if let Err(e) = send(&tx, batch).await {
                    parsed = Err(e);
                }
            }
            Err(e) => parsed = Err(e.into()),
        }
    }
    drop(tx);
    let joined = writer
        .await
        .map_err(|e| RunError::Input(format!("table writer task: {e}")))?;
    let (accepted, sink) = match (parsed, joined) {
        (Ok(accepted), Ok(sink)) => (accepted, sink),
        // A writer failure explains a parse-side "writer stopped"; report it first.
        (_, Err(e)) | (Err(e), Ok(_)) => return Err(e),
    };
    let quarantined = quarantine.len() as u64;
    run.rows_read = state.rows as i64;
    run.rows_written = accepted as i64;
    run.rows_quarantined = quarantined as i64;
    run.bytes = state.bytes as i64;
    if state.rows != accepted + quarantined {
        return Err(RunError::Job {
            job: job.id.to_string(),
            message: format!(
                "row accounting broke: read {} but {accepted} written + {quarantined} quarantined",
                state.rows
            ),
        });
    }

    // Quarantine first, then the target: each commit carries the run's transaction id, so a
    // resumed run skips whichever already landed.
    failpoint("before_commit");
    if quarantined > 0 {
        let (q, _) = ctx
            .lake
            .write_once(
                &quarantine_path(path),
                "quarantine",
                vec![quarantine.take_batch()?],
                WriteMode::Append,
                &format!("{}:quarantine", app_id(&job.id)),
                run.run,
            )
            .await?;
        run.quarantine_version = Some(q.version as i64);
    }
    failpoint("after_quarantine_commit");
    let version = match sink {
        Sink::Append {
            open: Some(append), ..
        } => Some(append.commit().await?.version),
        Sink::Append {
            committed: true, ..
        } => ctx.lake.open_table(path).await?.version(),
        Sink::Append { .. } => None,
        Sink::Collect(batches) if spec.mode == Mode::Merge => {
            let schema = arrow_schema(columns)?;
            let (version, _, _) = ctx
                .lake
                .merge_once(
                    path,
                    job.resource.as_str(),
                    schema,
                    batches,
                    &keys,
                    &app_id(&job.id),
                    run.run,
                )
                .await?;
            Some(version)
        }
        Sink::Collect(batches) => {
            let (outcome, _) = ctx
                .lake
                .write_once(
                    path,
                    job.resource.as_str(),
                    batches,
                    WriteMode::Overwrite,
                    &app_id(&job.id),
                    run.run,
                )
                .await?;
            Some(outcome.version)
        }
    };
    run.table_version = version.map(|v| v as i64);
    failpoint("after_target_commit");
    if version.is_none() {
        return Ok(());
    }

    let rows = ctx.lake.count(path).await?;
    let record = ctx
        .lake
        .table_record(&job.resource, &job.table, path, rows)
        .await?;
    store
        .upsert_table(&Actor(format!("ingest:{}", job.id)), &record)
        .await?;
    Ok(())
}
