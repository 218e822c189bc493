//! `zhongshu ingest …`: creating jobs, running them with a progress bar, and reading their
//! history and quarantine.

use crate::cli::IngestCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use indicatif::{ProgressBar, ProgressStyle};
use zhongshu_catalog::{CatalogStore as _, IngestRun, JobId};
use zhongshu_ingest::{IngestContext, create_job, resubmit, run_job};

/// The ingest context of a deployment, with its quality rules applied at ingest.
pub fn context(d: &Deployment) -> IngestContext {
    IngestContext {
        store: d.catalog(),
        lake: d.lake.clone(),
        data_dir: d.data_dir.clone(),
        quality: Some(std::sync::Arc::new(crate::quality_hooks::RuleHooks {
            store: d.catalog(),
            lake: d.lake.clone(),
        })),
    }
}

/// Runs one job with a progress bar (rows, rows/s, bytes), on its source or on `files`.
pub async fn run_with_progress(d: &Deployment, job: &JobId) -> CliResult<IngestRun> {
    run_files_with_progress(d, job, None).await
}

async fn run_files_with_progress(
    d: &Deployment,
    job: &JobId,
    files: Option<&[std::path::PathBuf]>,
) -> CliResult<IngestRun> {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(job.to_string());
    let started = std::time::Instant::now();
    let show = |p: zhongshu_ingest::Progress| {
        // Query and API sources have no byte total: the bar then counts rows only.
        pb.set_length(p.total_bytes.max(p.bytes));
        pb.set_position(p.bytes);
        let rate = p.rows as f64 / started.elapsed().as_secs_f64().max(1e-3);
        pb.set_message(format!("{} rows, {rate:.0} rows/s", p.rows));
    };
    let ctx = context(d);
    let result = match files {
        Some(files) => resubmit(&ctx, job, files, show).await,
        None => run_job(&ctx, job, show).await,
    };
    pb.finish_and_clear();
    Ok(result?)
}

fn run_row(r: &IngestRun) -> Vec<String> {
    vec![
        r.run.to_string(),
        r.status.as_code().into(),
        r.started_at.chars().take(19).collect(),
        r.rows_read.to_string(),
        r.rows_written.to_string(),
        r.rows_quarantined.to_string(),
        r.rows_flagged.to_string(),
        r.bytes.to_string(),
        format!("{} ms", r.duration_ms),
        r.table_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        r.error.clone().unwrap_or_default(),
    ]
}

async fn print_run(d: &Deployment, run: &IngestRun) -> CliResult {
    println!(
        "run #{} {}: {} rows read = {} written + {} quarantined, {} bytes, {} ms, table version {}",
        run.run,
        run.status.as_code(),
        run.rows_read,
        run.rows_written,
        run.rows_quarantined,
        run.bytes,
        run.duration_ms,
        run.table_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unchanged".into())
    );
    if run.rows_quarantined > 0 {
        println!(
            "see the rejected rows with `zhongshu ingest quarantine {}`",
            run.job
        );
    }
    if run.rows_flagged > 0 {
        println!(
            "{} row(s) landed flagged by warn rules: `zhongshu ingest quarantine {} --flagged`",
            run.rows_flagged, run.job
        );
    }
    if run.table_version.is_some() {
        let trigger = crate::quality_hooks::ingest_trigger(run.job.as_str(), run.run);
        let job = d.store.get_job(&run.job).await?;
        let results: Vec<_> = match job {
            Some(j) => d
                .store
                .quality_results(Some(&j.resource), true)
                .await?
                .into_iter()
                .filter(|r| r.trigger == trigger)
                .collect(),
            None => Vec::new(),
        };
        if !results.is_empty() {
            let failing: Vec<String> = results
                .iter()
                .filter(|r| r.rows_failed > 0)
                .map(|r| format!("{} ({} rows)", r.rule, r.rows_failed))
                .collect();
            println!(
                "quality: {} rule(s) evaluated on the new version, {} failing{}",
                results.len(),
                failing.len(),
                if failing.is_empty() {
                    String::new()
                } else {
                    format!(": {}", failing.join(", "))
                }
            );
        }
    }
    Ok(())
}

const RUN_HEADERS: [&str; 11] = [
    "run",
    "status",
    "started",
    "read",
    "written",
    "quarantined",
    "flagged",
    "bytes",
    "duration",
    "version",
    "error",
];

/// Runs an ingest command.
pub async fn run(d: &Deployment, command: IngestCommand) -> CliResult {
    let store = d.store.as_ref();
    match command {
        IngestCommand::Create { file, actor } => {
            let actor = super::actor(d, &actor).await?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            if let Ok(spec) = zhongshu_ingest::JobSpec::from_toml(&text) {
                let manage = zhongshu_policies::Action::ManageJobs;
                let resource = zhongshu_catalog::ResourceId::new(spec.resource.clone());
                super::permit(d, &actor.0, &resource, manage).await?;
                // Replacing a job is managing the resource it lands in now, too.
                if let Some(existing) = store.get_job(&JobId::new(spec.id.clone())).await? {
                    super::permit_indirect(d, &actor.0, &existing.resource, manage, || {
                        CliError::Failed(format!(
                            "job {} is another department's; choose another job id",
                            spec.id
                        ))
                    })
                    .await?;
                }
            }
            let job = create_job(store, &actor, &text).await?;
            println!(
                "job {} → {}.{} saved; run it with `zhongshu ingest run {}`",
                job.id, job.resource, job.table, job.id
            );
        }
        IngestCommand::List => {
            let mut rows = Vec::new();
            for job in store.list_jobs().await? {
                let last = store.list_runs(&job.id, 1).await?.into_iter().next();
                rows.push(vec![
                    job.id.to_string(),
                    format!("{}.{}", job.resource, job.table),
                    last.as_ref()
                        .map(|r| format!("#{} {}", r.run, r.status.as_code()))
                        .unwrap_or_else(|| "never run".into()),
                    last.map(|r| {
                        format!(
                            "{} read / {} written / {} quarantined",
                            r.rows_read, r.rows_written, r.rows_quarantined
                        )
                    })
                    .unwrap_or_default(),
                ]);
            }
            output::table(&["job", "target", "last run", "rows"], &rows);
        }
        IngestCommand::Show { job } => {
            let j = store
                .get_job(&JobId::new(job.clone()))
                .await?
                .ok_or_else(|| {
                    CliError::Failed(format!("no job `{job}`; see `zhongshu ingest list`"))
                })?;
            println!(
                "# job {} → {}.{} (updated {})\n{}",
                j.id, j.resource, j.table, j.updated_at, j.spec
            );
        }
        IngestCommand::Resubmit { job, files } => {
            let run = run_files_with_progress(d, &JobId::new(job), Some(&files)).await?;
            print_run(d, &run).await?;
        }
        IngestCommand::Run { job } => {
            let run = run_with_progress(d, &JobId::new(job)).await?;
            print_run(d, &run).await?;
        }
        IngestCommand::History { job, limit, json } => {
            let runs = store.list_runs(&JobId::new(job), limit).await?;
            if json {
                output::json(&runs);
            } else {
                output::table(&RUN_HEADERS, &runs.iter().map(run_row).collect::<Vec<_>>());
            }
        }
        IngestCommand::Quarantine {
            job,
            limit,
            flagged,
            json,
        } => {
            let j = store
                .get_job(&JobId::new(job.clone()))
                .await?
                .ok_or_else(|| {
                    CliError::Failed(format!("no job `{job}`; see `zhongshu ingest list`"))
                })?;
            let core = d.core()?;
            let nothing = if flagged { "flagged" } else { "quarantined" };
            let read = zhongshu_ingest::manage::read_set_aside(
                &core,
                &j,
                flagged,
                (0, i64::try_from(limit).unwrap_or(i64::MAX)),
                true,
                &format!("quarantine:{job}"),
            )
            .await?;
            if read.rows.is_empty() {
                println!("job {job} has {nothing} nothing");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = read
                .rows
                .into_iter()
                .map(|r| {
                    vec![
                        r.run.to_string(),
                        r.file,
                        r.line.map(|l| l.to_string()).unwrap_or_default(),
                        r.column.unwrap_or_default(),
                        r.rule,
                        r.reason,
                        r.raw.unwrap_or_default(),
                    ]
                })
                .collect();
            if json {
                let objects: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| serde_json::json!({"run": r[0], "file": r[1], "line": r[2], "column": r[3], "rule": r[4], "reason": r[5], "raw": r[6]}))
                    .collect();
                output::json(&objects);
            } else {
                output::table(
                    &["run", "file", "line", "column", "rule", "reason", "raw"],
                    &rows,
                );
            }
        }
    }
    Ok(())
}
