//! Scheduled runs: the ingest jobs are work of the core's one scheduler
//! ([`zhongshu_engine::scheduler`]), which `zhongshu serve` runs.
//!
//! Schedules are cron expressions in China Standard Time ([`parse_schedule`]). A job is due
//! when its next occurrence after its last run's start — or after the scheduler started, for a
//! job never run — has passed. Due jobs run one at a time, each as an ordinary run with all its
//! guarantees.

use crate::run::{IngestContext, run_job};
use crate::spec::JobSpec;
use chrono::{DateTime, Utc};
pub use zhongshu_engine::scheduler::{is_due, parse_schedule};

/// The ingest jobs as work of the core's scheduler: each tick runs the jobs that have come due.
pub struct ScheduledJobs {
    ctx: IngestContext,
    since: DateTime<Utc>,
}

impl ScheduledJobs {
    /// The jobs of `ctx`'s catalog; a job never run is due from now on.
    pub fn new(ctx: IngestContext) -> Self {
        ScheduledJobs {
            ctx,
            since: Utc::now(),
        }
    }
}

#[async_trait::async_trait]
impl zhongshu_engine::scheduler::Scheduled for ScheduledJobs {
    fn name(&self) -> &str {
        "ingest"
    }

    async fn run_due(&self, now: DateTime<Utc>) {
        let ctx = &self.ctx;
        let jobs = match ctx.store.list_jobs().await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(error = %e, "scheduler: cannot list jobs");
                return;
            }
        };
        for job in jobs {
            // Only the schedule is needed here; the run itself validates the whole job.
            let Ok(spec) = JobSpec::from_toml(&job.spec) else {
                continue;
            };
            let Some(Ok(schedule)) = spec.schedule.as_deref().map(parse_schedule) else {
                continue;
            };
            let last = match ctx.store.list_runs(&job.id, 1).await {
                Ok(runs) => runs
                    .first()
                    .and_then(|r| DateTime::parse_from_rfc3339(&r.started_at).ok())
                    .map(|t| t.with_timezone(&Utc)),
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "scheduler: cannot read runs");
                    continue;
                }
            };
            if !is_due(&schedule, last, self.since, now) {
                continue;
            }
            match run_job(ctx, &job.id, |_| {}).await {
                Ok(run) => {
                    tracing::info!(job = %job.id, run = run.run, read = run.rows_read, written = run.rows_written, quarantined = run.rows_quarantined, "scheduled run succeeded")
                }
                Err(e) => tracing::warn!(job = %job.id, error = %e, "scheduled run failed"),
            }
        }
    }
}
