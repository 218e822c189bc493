//! The nightly evaluation as work of the core's scheduler ([`zhongshu_engine::scheduler`]):
//! every resource is evaluated whenever `[quality] schedule` comes due, with the trigger
//! `schedule`.

use chrono::{DateTime, Utc};
use croner::Cron;
use std::sync::{Arc, Mutex, PoisonError};
use zhongshu_catalog::CatalogStore;
use zhongshu_engine::Lake;
use zhongshu_engine::scheduler::{Scheduled, is_due};

/// See the module documentation.
pub struct ScheduledEvaluation {
    store: Arc<dyn CatalogStore>,
    lake: Lake,
    schedule: Cron,
    last: Mutex<DateTime<Utc>>,
}

impl ScheduledEvaluation {
    /// Evaluates on `schedule` from now on.
    pub fn new(store: Arc<dyn CatalogStore>, lake: Lake, schedule: Cron) -> Self {
        ScheduledEvaluation {
            store,
            lake,
            schedule,
            last: Mutex::new(Utc::now()),
        }
    }
}

#[async_trait::async_trait]
impl Scheduled for ScheduledEvaluation {
    fn name(&self) -> &str {
        "quality"
    }

    async fn run_due(&self, now: DateTime<Utc>) {
        {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            if !is_due(&self.schedule, Some(*last), *last, now) {
                return;
            }
            *last = now;
        }
        match crate::check(self.store.as_ref(), &self.lake, None, "schedule").await {
            Ok(e) => {
                tracing::info!(
                    evaluation = e.evaluation,
                    results = e.results.len(),
                    incidents = e.incidents.len(),
                    "scheduled quality evaluation"
                );
                for error in &e.errors {
                    tracing::warn!(%error, "scheduled quality evaluation skipped a resource");
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduled quality evaluation failed"),
        }
    }
}
