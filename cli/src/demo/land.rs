//! Landing the demo files through ingest jobs, exactly as a department's deliveries land: one
//! job per resource, created from a TOML specification and run once.

use super::generate::{FileEntry, Manifest};
use super::spec::DemoResource;
use crate::commands::ingest::run_with_progress;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use zhongshu_catalog::{Actor, IngestRun};
use zhongshu_ingest::create_job;
use zhongshu_ingest::spec::{DriftPolicy, JobSpec, Mode, SourceSpec};

/// The ingest job that lands a demo resource's file.
pub fn job_spec(r: &DemoResource, entry: &FileEntry) -> JobSpec {
    JobSpec {
        id: format!("demo-{}", r.resource.id.as_str().to_lowercase()),
        resource: r.resource.id.to_string(),
        table: "main".into(),
        path: Some(r.table_path.to_owned()),
        mode: Mode::Append,
        keys: Vec::new(),
        schedule: None,
        source: SourceSpec::Files {
            dir: "generated".into(),
            glob: entry.file.clone(),
            format: entry.format,
            encoding: entry.encoding,
            sheet: None,
        },
        columns: Default::default(),
        cast: Default::default(),
        derive: Default::default(),
        bind: Default::default(),
        drift: DriftPolicy::default(),
        checks: Vec::new(),
    }
}

/// Creates and runs the resource's job; returns the run.
pub async fn land(
    deployment: &Deployment,
    manifest: &Manifest,
    r: &DemoResource,
) -> CliResult<IngestRun> {
    let entry = manifest
        .files
        .iter()
        .find(|f| f.resource == r.resource.id.as_str())
        .ok_or_else(|| {
            CliError::Failed(format!(
                "the generated manifest has no file for {}",
                r.resource.id
            ))
        })?;
    let spec = job_spec(r, entry).to_toml();
    let job = create_job(deployment.store.as_ref(), &Actor::system(), &spec).await?;
    let run = run_with_progress(deployment, &job.id).await?;
    if run.rows_read as u64 != entry.rows {
        return Err(CliError::Failed(format!(
            "{}: read {} rows but the manifest lists {}",
            entry.file, run.rows_read, entry.rows
        )));
    }
    Ok(run)
}
