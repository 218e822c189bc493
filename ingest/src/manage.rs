//! Ingest jobs as a department's data officer manages them: the jobs on resources it may
//! manage (`manage_jobs`, decided with Cedar as every door decides it), their runs, and the
//! rows their runs quarantined or flagged.
//!
//! A job on a resource the principal may not discover is missing, like the resource. The
//! quarantine holds rows exactly as they arrived, so their original text is shown only to a
//! principal who may read the resource unmasked (its own department); anyone else who manages
//! the job (an administrator) sees where each row failed and why, not what it said. The
//! quarantine is read through the audited system session, whose reason names the job and the
//! principal.

use crate::error::RunError;
use crate::run::quarantine_path;
use crate::{IngestContext, flag_path};
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use zhongshu_catalog::{
    CatalogError, IngestJob, IngestRun, JobId, Principal, ResourceId, RunStatus,
};
use zhongshu_engine::Core;
use zhongshu_policies::Action;

/// A job with its latest run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobSummary {
    /// The job.
    pub job: IngestJob,
    /// Its schedule, if it has one.
    pub schedule: Option<String>,
    /// Its latest run.
    pub last_run: Option<IngestRun>,
}

/// The jobs `principal` may manage, by id, each with its latest run.
pub async fn jobs(core: &Core, principal: &Principal) -> Result<Vec<JobSummary>, RunError> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut out = Vec::new();
    for job in core.store().list_jobs().await? {
        if !(decisions.allows(&job.resource, Action::Discover)
            && decisions.allows(&job.resource, Action::ManageJobs))
        {
            continue;
        }
        let last_run = core.store().list_runs(&job.id, 1).await?.into_iter().next();
        let schedule = crate::JobSpec::from_toml(&job.spec)
            .ok()
            .and_then(|s| s.schedule);
        out.push(JobSummary {
            job,
            schedule,
            last_run,
        });
    }
    out.sort_by(|a, b| a.job.id.cmp(&b.job.id));
    Ok(out)
}

/// Job `id`, when `principal` may manage it; otherwise missing.
pub async fn job(core: &Core, principal: &Principal, id: &JobId) -> Result<IngestJob, RunError> {
    let missing = || RunError::Catalog(CatalogError::not_found("ingest job", id));
    let job = core.store().get_job(id).await?.ok_or_else(missing)?;
    let decisions = core.query().decisions(principal, None).await?;
    if !decisions.allows(&job.resource, Action::Discover) {
        return Err(missing());
    }
    if !decisions.allows(&job.resource, Action::ManageJobs) {
        return Err(RunError::Engine(zhongshu_engine::EngineError::Refused(
            format!(
                "{} may not manage the jobs of {}; ask its department's data officer",
                principal.id, job.resource
            ),
        )));
    }
    Ok(job)
}

/// Runs of job `id` that `principal` may manage, newest first, at most `limit`.
pub async fn runs(
    core: &Core,
    principal: &Principal,
    id: &JobId,
    limit: i64,
) -> Result<Vec<IngestRun>, RunError> {
    let job = job(core, principal, id).await?;
    Ok(core.store().list_runs(&job.id, limit).await?)
}

/// Runs job `id` now for `principal`, reporting progress, with every guarantee of a run.
pub async fn run_now(
    ctx: &IngestContext,
    core: &Core,
    principal: &Principal,
    id: &JobId,
    progress: impl FnMut(crate::Progress),
) -> Result<IngestRun, RunError> {
    let job = job(core, principal, id).await?;
    crate::run_job(ctx, &job.id, progress).await
}

/// Re-submits corrected rows (`files`, in the job's format and encoding) as an ordinary run.
pub async fn resubmit(
    ctx: &IngestContext,
    core: &Core,
    principal: &Principal,
    id: &JobId,
    files: &[std::path::PathBuf],
    progress: impl FnMut(crate::Progress),
) -> Result<IngestRun, RunError> {
    let job = job(core, principal, id).await?;
    crate::resubmit(ctx, &job.id, files, progress).await
}

/// A row a run did not land (or landed flagged), with where and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetAsideRow {
    /// The run.
    pub run: i64,
    /// The input file.
    pub file: String,
    /// Its line (1-based), when the input has lines.
    pub line: Option<i64>,
    /// The column concerned.
    pub column: Option<String>,
    /// The rule it broke.
    pub rule: String,
    /// Why.
    pub reason: String,
    /// The row as it arrived, when the reader may see it.
    pub raw: Option<String>,
}

/// One page of set-aside rows and how many there are.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetAside {
    /// The rows of the page, by run, file and line.
    pub rows: Vec<SetAsideRow>,
    /// How many rows the job's succeeded runs set aside in all.
    pub total: i64,
    /// Whether the rows' original text is shown.
    pub raw_shown: bool,
}

/// The rows job `id`'s succeeded runs quarantined (or, with `flagged`, landed flagged by a
/// warning rule), `limit` of them from `offset`, as `principal` may see them.
pub async fn set_aside(
    core: &Core,
    principal: &Principal,
    id: &JobId,
    flagged: bool,
    offset: i64,
    limit: i64,
) -> Result<SetAside, RunError> {
    let job = job(core, principal, id).await?;
    let decisions = core.query().decisions(principal, None).await?;
    let raw_shown = decisions.allows(&job.resource, Action::ReadUnmasked);
    let reason = format!("quarantine:{} for {}", job.id, principal.id);
    read_set_aside(core, &job, flagged, (offset, limit), raw_shown, &reason).await
}

/// [`set_aside`] without asking Cedar, read through the system session for `reason`: for the
/// host's operator, who holds the data directory, and for [`set_aside`] once it has decided.
pub async fn read_set_aside(
    core: &Core,
    job: &IngestJob,
    flagged: bool,
    (offset, limit): (i64, i64),
    raw_shown: bool,
    reason: &str,
) -> Result<SetAside, RunError> {
    let empty = SetAside {
        rows: Vec::new(),
        total: 0,
        raw_shown,
    };
    let Some(path) = set_aside_path(core, &job.resource, &job.table, flagged).await? else {
        return Ok(empty);
    };
    if !core.lake().exists(&path).await? {
        return Ok(empty);
    }
    // Rows of runs that failed after their quarantine commit stay in the table (Delta keeps
    // history) but were never part of a landing: only succeeded runs count.
    let succeeded: Vec<String> = core
        .store()
        .list_runs(&job.id, i64::MAX)
        .await?
        .iter()
        .filter(|r| r.status == RunStatus::Succeeded)
        .map(|r| r.run.to_string())
        .collect();
    if succeeded.is_empty() {
        return Ok(empty);
    }
    let session = core
        .lake()
        .system_session(reason, &[("q", path.as_str())])
        .await?;
    let scope = format!(
        "job = '{}' AND run IN ({})",
        job.id.as_str().replace('\'', "''"),
        succeeded.join(", ")
    );
    let counted = session
        .sql(&format!("SELECT count(*) FROM q WHERE {scope}"))
        .await?;
    let total = counted
        .first()
        .filter(|b| b.num_rows() > 0)
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .map(|c| c.value(0))
        })
        .unwrap_or(0);
    let raw = if raw_shown { "raw" } else { "NULL AS raw" };
    let batches = session
        .sql(&format!(
            "SELECT run, file, line, \"column\", rule, reason, {raw} FROM q WHERE {scope} \
             ORDER BY run, file, line LIMIT {} OFFSET {}",
            limit.max(0),
            offset.max(0)
        ))
        .await?;
    let mut rows = Vec::new();
    for b in &batches {
        let cols = (0..b.num_columns())
            .map(|i| cast(b.column(i), &DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()?;
        let text = |c: usize, r: usize| {
            let s = cols[c].as_string::<i32>();
            s.is_valid(r).then(|| s.value(r).to_owned())
        };
        for r in 0..b.num_rows() {
            rows.push(SetAsideRow {
                run: text(0, r).and_then(|v| v.parse().ok()).unwrap_or(0),
                file: text(1, r).unwrap_or_default(),
                line: text(2, r).and_then(|v| v.parse().ok()),
                column: text(3, r).filter(|c| !c.is_empty()),
                rule: text(4, r).unwrap_or_default(),
                reason: text(5, r).unwrap_or_default(),
                raw: text(6, r),
            });
        }
    }
    Ok(SetAside {
        rows,
        total,
        raw_shown,
    })
}

/// The lake path of the quarantine (or flag) table of `resource`'s table `table`, once the
/// table exists.
async fn set_aside_path(
    core: &Core,
    resource: &ResourceId,
    table: &str,
    flagged: bool,
) -> Result<Option<String>, RunError> {
    let detail = core
        .store()
        .get_resource(resource)
        .await?
        .ok_or_else(|| CatalogError::not_found("resource", resource))?;
    Ok(detail.tables.iter().find(|t| t.name == table).map(|t| {
        if flagged {
            flag_path(&t.path)
        } else {
            quarantine_path(&t.path)
        }
    }))
}
