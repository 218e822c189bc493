//! Ingest jobs (change-logged) and their runs (records): a run number is allocated under the
//! writer lock, so a re-run resumes the unfinished run instead of starting a second.

use super::resources::fetch_resource;
use super::{SqlCatalogStore, now, parse, to_json};
use crate::error::{CatalogError, Result};
use crate::ids::{JobId, ResourceId};
use crate::model::{IngestJob, IngestRun, RunStatus};
use crate::rules;
use crate::store::Actor;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

pub(super) const RUN_COLUMNS: &str = "job_id, run, status, started_at, finished_at, rows_read, rows_written, \
    rows_quarantined, bytes, duration_ms, table_version, quarantine_version, inputs, error, \
    rows_flagged, flag_version";

pub(super) fn job_from_row(row: &AnyRow) -> Result<IngestJob> {
    Ok(IngestJob {
        id: JobId::new(row.try_get::<String, _>("id")?),
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        table: row.try_get("table_name")?,
        spec: row.try_get("spec")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn run_from_row(row: &AnyRow) -> Result<IngestRun> {
    let inputs: String = row.try_get("inputs")?;
    Ok(IngestRun {
        job: JobId::new(row.try_get::<String, _>("job_id")?),
        run: row.try_get("run")?,
        status: parse(&row.try_get::<String, _>("status")?, "run status")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        rows_read: row.try_get("rows_read")?,
        rows_written: row.try_get("rows_written")?,
        rows_quarantined: row.try_get("rows_quarantined")?,
        bytes: row.try_get("bytes")?,
        duration_ms: row.try_get("duration_ms")?,
        table_version: row.try_get("table_version")?,
        quarantine_version: row.try_get("quarantine_version")?,
        rows_flagged: row.try_get("rows_flagged")?,
        flag_version: row.try_get("flag_version")?,
        inputs: serde_json::from_str(&inputs).map_err(CatalogError::corrupt)?,
        error: row.try_get("error")?,
    })
}

pub(super) async fn upsert_job(
    store: &SqlCatalogStore,
    actor: &Actor,
    job: &IngestJob,
) -> Result<()> {
    rules::check_identifier("job id", job.id.as_str())?;
    let mut tx = store.begin_logged().await?;
    fetch_resource(&mut tx, &job.resource).await?;
    let before = sqlx::query("SELECT spec FROM ingest_jobs WHERE id = $1")
        .bind(job.id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get::<String, _>("spec"))
        .transpose()?;
    let at = now();
    sqlx::query(
        "INSERT INTO ingest_jobs (id, resource_id, table_name, spec, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
         resource_id = excluded.resource_id, table_name = excluded.table_name, \
         spec = excluded.spec, updated_at = excluded.updated_at",
    )
    .bind(job.id.as_str())
    .bind(job.resource.as_str())
    .bind(&job.table)
    .bind(&job.spec)
    .bind(&at)
    .bind(&at)
    .execute(&mut *tx)
    .await?;
    let action = if before.is_some() { "update" } else { "create" };
    tx.log(
        actor,
        "job",
        job.id.as_str(),
        action,
        before,
        Some(job.spec.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get_job(store: &SqlCatalogStore, id: &JobId) -> Result<Option<IngestJob>> {
    sqlx::query(
        "SELECT id, resource_id, table_name, spec, created_at, updated_at FROM ingest_jobs WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&store.pool)
    .await?
    .map(|r| job_from_row(&r))
    .transpose()
}

pub(super) async fn list_jobs(store: &SqlCatalogStore) -> Result<Vec<IngestJob>> {
    sqlx::query(
        "SELECT id, resource_id, table_name, spec, created_at, updated_at FROM ingest_jobs ORDER BY id",
    )
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(job_from_row)
    .collect()
}

pub(super) async fn begin_run(store: &SqlCatalogStore, job: &JobId) -> Result<IngestRun> {
    let mut tx = store.begin_record().await?;
    if sqlx::query("SELECT id FROM ingest_jobs WHERE id = $1")
        .bind(job.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(CatalogError::not_found("ingest job", job));
    }
    let unfinished = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM ingest_runs WHERE job_id = $1 AND status = 'running' ORDER BY run DESC LIMIT 1"
    )))
    .bind(job.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = unfinished {
        let run = run_from_row(&row)?;
        tx.commit().await?;
        return Ok(run);
    }
    let next: i64 =
        sqlx::query("SELECT COALESCE(MAX(run), 0) + 1 AS n FROM ingest_runs WHERE job_id = $1")
            .bind(job.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    let run = IngestRun {
        job: job.clone(),
        run: next,
        status: RunStatus::Running,
        started_at: now(),
        finished_at: None,
        rows_read: 0,
        rows_written: 0,
        rows_quarantined: 0,
        bytes: 0,
        duration_ms: 0,
        table_version: None,
        quarantine_version: None,
        rows_flagged: 0,
        flag_version: None,
        inputs: Vec::new(),
        error: None,
    };
    sqlx::query(
        "INSERT INTO ingest_runs (job_id, run, status, started_at, rows_read, rows_written, \
         rows_quarantined, bytes, duration_ms, inputs) VALUES ($1, $2, 'running', $3, 0, 0, 0, 0, 0, '[]')",
    )
    .bind(job.as_str())
    .bind(next)
    .bind(&run.started_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(run)
}

pub(super) async fn finish_run(store: &SqlCatalogStore, run: &IngestRun) -> Result<()> {
    let mut tx = store.begin_record().await?;
    sqlx::query(
        "UPDATE ingest_runs SET status = $1, finished_at = $2, rows_read = $3, rows_written = $4, \
         rows_quarantined = $5, bytes = $6, duration_ms = $7, table_version = $8, \
         quarantine_version = $9, inputs = $10, error = $11, rows_flagged = $12, \
         flag_version = $13 WHERE job_id = $14 AND run = $15",
    )
    .bind(run.status.as_code())
    .bind(run.finished_at.clone().unwrap_or_else(now))
    .bind(run.rows_read)
    .bind(run.rows_written)
    .bind(run.rows_quarantined)
    .bind(run.bytes)
    .bind(run.duration_ms)
    .bind(run.table_version)
    .bind(run.quarantine_version)
    .bind(to_json(&run.inputs)?)
    .bind(run.error.clone())
    .bind(run.rows_flagged)
    .bind(run.flag_version)
    .bind(run.job.as_str())
    .bind(run.run)
    .execute(&mut *tx)
    .await?;
    if run.status == RunStatus::Succeeded {
        // Every landed input: files by checksum, source table versions, watermarks.
        for input in &run.inputs {
            sqlx::query(
                "INSERT INTO landed_files (job_id, path, size, checksum, run) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (job_id, path, checksum) DO NOTHING",
            )
            .bind(run.job.as_str())
            .bind(&input.name)
            .bind(input.size as i64)
            .bind(&input.checksum)
            .bind(run.run)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_runs(
    store: &SqlCatalogStore,
    job: &JobId,
    limit: i64,
) -> Result<Vec<IngestRun>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM ingest_runs WHERE job_id = $1 ORDER BY run DESC LIMIT $2"
    )))
    .bind(job.as_str())
    .bind(limit)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(run_from_row)
    .collect()
}

pub(super) async fn landed_files(
    store: &SqlCatalogStore,
    job: &JobId,
) -> Result<Vec<(String, i64, String)>> {
    sqlx::query(
        "SELECT path, size, checksum FROM landed_files WHERE job_id = $1 ORDER BY run, path",
    )
    .bind(job.as_str())
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("path")?,
            r.try_get("size")?,
            r.try_get("checksum")?,
        ))
    })
    .collect()
}
