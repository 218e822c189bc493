//! One scheduler for zhongshu's recurring work: ingest jobs on their cron schedules, the nightly
//! quality evaluation, later product builds and share materialisations.
//!
//! Each kind of work implements [`Scheduled`] in its own crate and is added to the core's
//! [`Scheduler`]; `zhongshu serve` runs the scheduler, which wakes every tick and asks each kind
//! of work to run whatever has come due. Work of one kind never overlaps itself. Schedules are
//! five-field cron expressions (an optional leading seconds field is accepted) read in China
//! Standard Time (UTC+8), so `0 2 * * *` means 02:00 in Shenzhen.

use chrono::{DateTime, FixedOffset, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Recurring work of one kind; see the module documentation.
#[async_trait::async_trait]
pub trait Scheduled: Send + Sync {
    /// What the work is, for logs (`ingest`, `quality`).
    fn name(&self) -> &str;

    /// Runs whatever has come due by `now`. Called once per tick, never while the previous
    /// call is still running; failures are the work's to log.
    async fn run_due(&self, now: DateTime<Utc>);
}

/// See the module documentation.
#[derive(Default)]
pub struct Scheduler {
    work: Mutex<Vec<Arc<dyn Scheduled>>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = crate::lock(&self.work)
            .iter()
            .map(|w| w.name().to_owned())
            .collect();
        f.debug_struct("Scheduler").field("work", &names).finish()
    }
}

impl Scheduler {
    /// Adds a kind of work.
    pub fn add(&self, work: Arc<dyn Scheduled>) {
        crate::lock(&self.work).push(work);
    }

    /// The names of the work added, in order.
    pub fn names(&self) -> Vec<String> {
        crate::lock(&self.work)
            .iter()
            .map(|w| w.name().to_owned())
            .collect()
    }

    /// Runs until the process ends, waking every `tick`: each kind of work runs on its own
    /// task, so a long ingest run does not hold back the quality evaluation.
    pub async fn run(&self, tick: Duration) {
        let work: Vec<Arc<dyn Scheduled>> = crate::lock(&self.work).clone();
        let tasks: Vec<_> = work
            .into_iter()
            .map(|w| {
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(tick).await;
                        w.run_due(Utc::now()).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            // The work loops for ever: its task ends only when it panics.
            let Err(e) = task.await;
            tracing::error!(error = %e, "scheduled work stopped");
        }
    }
}

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

/// Whether work on `schedule`, last started at `last` (or never, counting from `since`), is due
/// at `now`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn schedules_are_china_standard_time() {
        let two_am = parse_schedule("0 2 * * *").unwrap_or_else(|e| panic!("{e}"));
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

    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Scheduled for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        async fn run_due(&self, _now: DateTime<Utc>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn every_kind_of_work_is_asked_each_tick() {
        let scheduler = Arc::new(Scheduler::default());
        let a = Arc::new(Counting(AtomicUsize::new(0)));
        let b = Arc::new(Counting(AtomicUsize::new(0)));
        scheduler.add(a.clone());
        scheduler.add(b.clone());
        assert_eq!(scheduler.names(), ["counting", "counting"]);
        let running = scheduler.clone();
        let handle = tokio::spawn(async move { running.run(Duration::from_millis(5)).await });
        let asked = tokio::time::timeout(Duration::from_secs(10), async {
            while a.0.load(Ordering::SeqCst) < 3 || b.0.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        handle.abort();
        assert!(
            asked.is_ok(),
            "both kinds of work were asked three times within 10 s"
        );
    }
}
