//! Scheduled runs: `zhongshu serve` runs each job whose cron `schedule` has come due.
//!
//! Schedules are standard five-field cron expressions (an optional leading seconds field is
//! accepted) read in China Standard Time (UTC+8), so `0 2 * * *` means 02:00 in Shenzhen. A job
//! is due when its next occurrence after its last run's start — or after the scheduler started,
//! for a job never run — has passed. Due jobs run one at a time, each as an ordinary run with
//! all its guarantees.

use crate::run::{IngestContext, run_job};
use crate::spec::JobSpec;
use chrono::{DateTime, FixedOffset, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use std::time::Duration;

/// China Standard Time.
fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
}

/// Parses a schedule.
pub fn parse_schedule(text: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(text)
        .map_err(|e| format!("schedule `{text}`: {e}"))
}

/// Whether a job with `schedule`, last started at `last` (or never, counting from `since`), is
/// due at `now`.
pub fn is_due(
    schedule: &Cron,
    last: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let from = last.unwrap_or(since).with_timezone(&cst());
    schedule
        .find_next_occurrence(&from, false)
        .is_ok_and(|next| next.with_timezone(&Utc) <= now)
}

/// Runs due jobs until the process ends, checking every `tick`.
pub async fn run_scheduler(ctx: IngestContext, tick: Duration) {
    let since = Utc::now();
    loop {
        tokio::time::sleep(tick).await;
        let jobs = match ctx.store.list_jobs().await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(error = %e, "scheduler: cannot list jobs");
                continue;
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
            if !is_due(&schedule, last, since, Utc::now()) {
                continue;
            }
            match run_job(&ctx, &job.id, |_| {}).await {
                Ok(run) => {
                    tracing::info!(job = %job.id, run = run.run, read = run.rows_read, written = run.rows_written, quarantined = run.rows_quarantined, "scheduled run succeeded")
                }
                Err(e) => tracing::warn!(job = %job.id, error = %e, "scheduled run failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn schedules_are_china_standard_time() {
        let two_am = parse_schedule("0 2 * * *").unwrap();
        // 02:00 CST on 2 Nov is 18:00 UTC on 1 Nov.
        let last = utc("2026-11-01T00:00:00Z");
        assert!(!is_due(
            &two_am,
            Some(last),
            last,
            utc("2026-11-01T17:59:00Z")
        ));
        assert!(is_due(
            &two_am,
            Some(last),
            last,
            utc("2026-11-01T18:00:00Z")
        ));
        assert!(
            parse_schedule("*/5 * * * * *").is_ok(),
            "seconds are optional"
        );
        assert!(parse_schedule("every day").is_err());
    }
}
