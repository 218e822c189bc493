//! A grant's row filter, applied so that no user expression is ever evaluated on a row the
//! filter removes.
//!
//! Why not a `Filter` node in the table's view: DataFusion's optimizers merge a user's WHERE
//! into the filter below it (`row_filter AND user_predicate`), and an AND does not promise to
//! skip its right side where its left side is false. A predicate that fails on some rows
//! (`1 / (CASE WHEN street_code = '…' AND name LIKE '王%' THEN 0 ELSE 1 END) = 1`) then raises
//! its error for rows outside the principal's jurisdiction, and whether it errs answers a
//! question about rows the principal may not see. So the row filter lives in the table
//! provider ([`RowFiltered`]), and executes as [`RowFilterExec`], a node the optimizers cannot
//! merge anything into: user predicates stay in a filter above it.
//!
//! Filters pushed down from above (a user's WHERE in the first pushdown phase, join and top-k
//! bounds in the second) pass through to the scan only when the scan uses them to skip row
//! groups and pages by their statistics and never evaluates them on rows: the lake's own
//! Parquet scan with the session's `pushdown_filters` off (see [`crate::scan`]). Skipping a row
//! group changes no result and raises no error. Any other scan (delta-rs's, which evaluates
//! pushed filters on rows) receives the row filter alone.
//!
//! The planner is told that a row filter keeps every row unless DataFusion's estimator derives
//! a tighter bound from the column statistics. A row filter is policy, not a query's question,
//! and DataFusion's default guess for a predicate (20% of rows) made it build hash tables from
//! the far larger side of a join (TPC-H Q18: 6 million rows instead of 57). Overestimating a
//! filtered table leads at worst to a partitioned join where a broadcast would have done.

use crate::scan;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result, Statistics};
use datafusion::datasource::TableType;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::filter_pushdown::{
    ChildFilterDescription, FilterDescription, FilterPushdownPhase,
};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use std::sync::Arc;

/// A table read through a row filter.
#[derive(Debug)]
pub(crate) struct RowFiltered {
    inner: Arc<dyn TableProvider>,
    /// Over the inner table's unqualified columns.
    predicate: Expr,
}

impl RowFiltered {
    pub(crate) fn new(inner: Arc<dyn TableProvider>, predicate: Expr) -> Self {
        RowFiltered { inner, predicate }
    }
}

#[async_trait::async_trait]
impl TableProvider for RowFiltered {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // A user's filter stays above the row filter; the physical pushdown may still hand it
        // to the scan for pruning (see the module documentation).
        Ok(vec![
            TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.inner.schema();
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..schema.fields().len()).collect(),
        };
        // The columns read: those asked for, then those only the row filter uses.
        let mut read = wanted.clone();
        for column in self.predicate.column_refs() {
            let index = schema.index_of(&column.name)?;
            if !read.contains(&index) {
                read.push(index);
            }
        }
        let input = self
            .inner
            .scan(
                state,
                Some(&read),
                std::slice::from_ref(&self.predicate),
                None,
            )
            .await?;
        let predicate = state
            .create_physical_expr(self.predicate.clone(), &DFSchema::try_from(input.schema())?)?;
        // The Parquet scan of the lake's own files only prunes with pushed filters (unless the
        // session evaluates them on rows); the cached scan and delta-rs's scan evaluate them.
        let prunes_only = self.inner.is::<scan::DataFiles>()
            && !input.is::<crate::cache::CachedScanExec>()
            && !scan::evaluates_pushed_filters(state.config_options(), state.table_options());
        let filtered: Arc<dyn ExecutionPlan> =
            Arc::new(RowFilterExec::try_new(predicate, input, prunes_only)?);
        if read.len() == wanted.len() {
            return Ok(filtered);
        }
        // Only the columns asked for, in their order (they come first).
        let output = filtered.schema();
        let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = (0..wanted.len())
            .map(|i| {
                let name = output.field(i).name();
                (Arc::new(Column::new(name, i)) as _, name.clone())
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(exprs, filtered)?))
    }
}

/// Applies a row filter. Executes as a [`FilterExec`] (which it wraps), but the optimizers see
/// a node of its own kind, so they cannot merge a user's predicate into it.
#[derive(Debug)]
pub(crate) struct RowFilterExec {
    filter: Arc<FilterExec>,
    /// Filters pushed from above may pass through to the scan (it only prunes with them).
    pass_filters: bool,
}

impl RowFilterExec {
    fn try_new(
        predicate: Arc<dyn PhysicalExpr>,
        input: Arc<dyn ExecutionPlan>,
        pass_filters: bool,
    ) -> Result<Self> {
        let filter = FilterExecBuilder::new(predicate, input)
            .with_default_selectivity(100)
            .build()?;
        Ok(RowFilterExec {
            filter: Arc::new(filter),
            pass_filters,
        })
    }

    /// The row filter.
    pub(crate) fn predicate(&self) -> &Arc<dyn PhysicalExpr> {
        self.filter.predicate()
    }
}

impl DisplayAs for RowFilterExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "RowFilterExec: {}", self.predicate())
            }
            DisplayFormatType::TreeRender => write!(f, "row_filter={}", self.predicate()),
        }
    }
}

impl ExecutionPlan for RowFilterExec {
    fn name(&self) -> &'static str {
        "RowFilterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.filter.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.filter.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        f(self.predicate())
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.swap_remove(0);
        let filter = FilterExecBuilder::from(self.filter.as_ref())
            .with_input(input)
            .build()?;
        Ok(Arc::new(RowFilterExec {
            filter: Arc::new(filter),
            pass_filters: self.pass_filters,
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.filter.execute(partition, context)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        self.filter.metrics()
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        self.filter.child_stats_requests(partition)
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        self.filter.statistics_from_inputs(input_stats, args)
    }

    #[allow(deprecated)]
    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        self.filter.partition_statistics(partition)
    }

    fn gather_filters_for_pushdown(
        &self,
        phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        let input = self.filter.input();
        let mut child = if self.pass_filters {
            ChildFilterDescription::from_child(&parent_filters, input)?
        } else {
            ChildFilterDescription::all_unsupported(&parent_filters)
        };
        if phase == FilterPushdownPhase::Pre {
            // The row filter itself prunes the scan (and a scan that evaluates filters on rows
            // may apply it there: it is the policy's expression, not the user's).
            child = child.with_self_filters(
                datafusion::physical_expr::split_conjunction(self.predicate())
                    .into_iter()
                    .cloned()
                    .collect(),
            );
        }
        Ok(FilterDescription::new().with_child(child))
    }
}
