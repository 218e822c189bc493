//! Derived columns: a target column computed by a SQL expression over the row's other target
//! columns (`[derive] birth_year = "date_part('year', birth_date)"`).
//!
//! Expressions are parsed and planned by DataFusion once per run against the target schema and
//! evaluated on each typed batch before it is written, so they see typed values (dates as
//! dates) and cost a vectorised kernel per batch, not an interpreter per row.

use crate::error::RunError;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::logical_expr::ExprSchemable;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The compiled derived columns of a job.
#[derive(Default)]
pub struct Derivation {
    columns: Vec<(usize, Arc<dyn PhysicalExpr>)>,
}

impl Derivation {
    /// Compiles `derive` (target column → SQL expression) against the target schema; the
    /// error names the column and what DataFusion found wrong.
    pub fn compile(schema: &SchemaRef, derive: &BTreeMap<String, String>) -> Result<Self, String> {
        if derive.is_empty() {
            return Ok(Derivation::default());
        }
        let ctx = SessionContext::new();
        let df_schema = DFSchema::try_from(schema.as_ref().clone()).map_err(|e| e.to_string())?;
        let mut columns = Vec::new();
        for (name, sql) in derive {
            let index = schema
                .index_of(name)
                .map_err(|_| format!("[derive] `{name}` is not a column of the target"))?;
            let target_type = schema.field(index).data_type().clone();
            let expr = ctx
                .parse_sql_expr(sql, &df_schema)
                .and_then(|e| e.cast_to(&target_type, &df_schema))
                .map_err(|e| format!("[derive] {name} = \"{sql}\": {e}"))?;
            let physical = ctx
                .create_physical_expr(expr, &df_schema)
                .map_err(|e| format!("[derive] {name} = \"{sql}\": {e}"))?;
            columns.push((index, physical));
        }
        Ok(Derivation { columns })
    }

    /// Replaces the derived columns of `batch` by their computed values.
    pub fn apply(&self, batch: RecordBatch) -> Result<RecordBatch, RunError> {
        if self.columns.is_empty() {
            return Ok(batch);
        }
        let mut arrays = batch.columns().to_vec();
        for (index, expr) in &self.columns {
            let value = expr
                .evaluate(&batch)
                .and_then(|v| v.into_array(batch.num_rows()))
                .map_err(|e| RunError::Internal(format!("derived column: {e}")))?;
            arrays[*index] = value;
        }
        Ok(RecordBatch::try_new(batch.schema(), arrays)?)
    }
}
