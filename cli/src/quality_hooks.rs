//! The quality crate's part in every ingest run, wired here because ingest and quality are
//! siblings: the rules on a run's target become row checks (`error` quarantines, `warn`
//! flags), and each committed run is followed by an evaluation of its resource recorded with
//! the trigger `ingest:JOB#RUN`.

use std::sync::Arc;
use zhongshu_catalog::{CatalogStore, Column, IngestJob, IngestRun, ResourceId};
use zhongshu_engine::Lake;
use zhongshu_ingest::QualityHooks;
use zhongshu_ingest::rows::{Rejection, RowCheck};
use zhongshu_quality::Severity;
use zhongshu_quality::row::RowRule;

/// Quality rules at ingest, over one catalog and lake.
pub struct RuleHooks {
    /// The catalog.
    pub store: Arc<dyn CatalogStore>,
    /// The lake.
    pub lake: Lake,
}

/// A quality rule as an ingest row check.
struct RuleCheck(RowRule);

impl RowCheck for RuleCheck {
    fn check(&self, _columns: &[Column], values: &[Option<&str>]) -> Result<(), Rejection> {
        self.0.check(values).map_err(|f| Rejection {
            column: f.column,
            rule: f.rule,
            reason: f.reason,
        })
    }

    fn flags_only(&self) -> bool {
        self.0.severity() == Severity::Warn
    }
}

/// The trigger recorded for the evaluation that follows a run.
pub fn ingest_trigger(job: &str, run: i64) -> String {
    format!("ingest:{job}#{run}")
}

#[async_trait::async_trait]
impl QualityHooks for RuleHooks {
    async fn row_checks(
        &self,
        resource: &ResourceId,
        columns: &[Column],
        derived: &[String],
    ) -> Result<Vec<Box<dyn RowCheck>>, String> {
        let rules = zhongshu_quality::row::row_rules(
            self.store.as_ref(),
            &self.lake,
            resource,
            columns,
            derived,
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(rules
            .into_iter()
            .map(|r| Box::new(RuleCheck(r)) as Box<dyn RowCheck>)
            .collect())
    }

    async fn after_commit(&self, job: &IngestJob, run: &IngestRun) {
        let trigger = ingest_trigger(job.id.as_str(), run.run);
        match zhongshu_quality::check(
            self.store.as_ref(),
            &self.lake,
            Some(&job.resource),
            &trigger,
        )
        .await
        {
            Ok(e) => {
                let failing = e.results.iter().filter(|r| r.rows_failed > 0).count();
                tracing::info!(job = %job.id, run = run.run, evaluation = e.evaluation, rules = e.results.len(), failing, incidents = e.incidents.len(), "quality evaluated after ingest");
            }
            Err(err) => {
                tracing::warn!(job = %job.id, run = run.run, error = %err, "quality evaluation after ingest failed")
            }
        }
    }
}
