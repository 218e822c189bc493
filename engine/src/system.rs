//! The audited system session: zhongshu's own reads of the lake.
//!
//! Some work needs to read tables whole and unmasked on nobody's behalf — evaluating quality
//! rules, sampling for sensitive-data discovery, checking that an accepted objection's record
//! still exists, later materialising shares and building products. That work goes through a
//! [`SystemSession`], which records every statement in the same hash-chained access audit log
//! as a principal's, under the principal `system` with the reason as its purpose
//! (`system:quality`, `system:discovery`, `system:objection:12` …), so an auditor sees every
//! read of the lake, not only the principals'. The raw DataFusion session behind it is private
//! to the engine; no door can reach it.

use crate::error::{EngineError, Result};
use crate::lake::Lake;
use datafusion::arrow::array::RecordBatch;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use std::sync::Arc;
use std::time::Instant;
use zhongshu_catalog::{AuditOutcome, CatalogStore, NewAuditRecord};

/// The principal system reads are recorded under.
pub const SYSTEM_PRINCIPAL: &str = "system";

/// See the module documentation.
pub struct SystemSession {
    ctx: SessionContext,
    audit: Arc<dyn CatalogStore>,
    reason: String,
    tables: Vec<String>,
}

impl std::fmt::Debug for SystemSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemSession")
            .field("reason", &self.reason)
            .field("tables", &self.tables)
            .finish()
    }
}

impl Lake {
    /// A system session for `reason` (recorded as `system:REASON`) with the tables at the given
    /// paths registered under the given names. Refused when the lake has no audit log attached
    /// ([`Lake::with_audit`]): system work is never unrecorded.
    pub async fn system_session(
        &self,
        reason: &str,
        tables: &[(&str, &str)],
    ) -> Result<SystemSession> {
        let audit = self.audit_log().cloned().ok_or_else(|| {
            EngineError::Refused(format!(
                "system read `{reason}` needs the access audit log; open the lake with \
                 Lake::with_audit"
            ))
        })?;
        let ctx = self.internal_session(tables).await?;
        Ok(SystemSession {
            ctx,
            audit,
            reason: format!("system:{reason}"),
            tables: tables.iter().map(|(_, path)| (*path).to_owned()).collect(),
        })
    }
}

impl SystemSession {
    /// The reason recorded with every statement (`system:…`).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Makes a scalar function (a validator, a mask) available to the session's statements.
    pub fn register_udf(&self, udf: ScalarUDF) {
        self.ctx.register_udf(udf);
    }

    /// The column names of the registered table `name`.
    pub async fn columns(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .ctx
            .table(name)
            .await?
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect())
    }

    /// Runs one statement and collects its result; the statement, its tables and its outcome
    /// are appended to the access audit log before the result is returned.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let started = Instant::now();
        let result =
            async { Ok::<_, EngineError>(self.ctx.sql(sql).await?.collect().await?) }.await;
        let mut record = NewAuditRecord {
            principal: SYSTEM_PRINCIPAL.to_owned(),
            purpose: Some(self.reason.clone()),
            client: "zhongshu".to_owned(),
            protocol: "system".to_owned(),
            sql: sql.to_owned(),
            tables: self.tables.clone(),
            columns: Vec::new(),
            masks: Vec::new(),
            filters: Vec::new(),
            rows: 0,
            duration_ms: started.elapsed().as_millis() as i64,
            outcome: AuditOutcome::Ok,
            error: None,
            completes: None,
        };
        match &result {
            Ok(batches) => record.rows = batches.iter().map(|b| b.num_rows() as i64).sum(),
            Err(e) => {
                record.outcome = AuditOutcome::Failed;
                record.error = Some(e.to_string());
            }
        }
        self.audit.append_audit(&record).await?;
        result
    }
}
