//! `EXPLAIN` and `EXPLAIN ANALYZE` as a principal may read them.
//!
//! DataFusion's own rendering of a physical plan describes the data under it: a scan lists its
//! files, their byte ranges and partition values; `VERBOSE` and `show_statistics` print each
//! node's row counts and column minimum and maximum; `ANALYZE` prints the scan's pruning and
//! byte metrics. All of these are computed over every row and over raw values, so to a
//! principal with a row filter or a mask they describe what it may not see. The governed
//! session therefore plans `EXPLAIN` with [`GovernedPlanner`], which renders the plan itself:
//!
//! - every node but the leaves as DataFusion prints it on one line (the query's own operators
//!   and expressions, with the row filter and the masks), without partition counts;
//! - every leaf (a scan) as its name and the columns it yields, nothing else;
//! - no statistics in any mode, and under `ANALYZE` no metrics for the leaves;
//! - the logical plans as DataFusion prints them (they hold no statistics).
//!
//! Only the indent format is rendered; [`crate::governed`] refuses the others. The statistics
//! the planner itself uses are reduced at the scan ([`crate::scan::Disclosed`]).

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::common::display::PlanType;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::TaskContext;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::{LogicalPlan, ToStringifiedPlan};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream, execute_stream,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use futures::StreamExt;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

/// The governed session's query planner: DataFusion's, except for `EXPLAIN` (see the module
/// documentation).
#[derive(Debug, Default)]
pub(crate) struct GovernedPlanner;

#[async_trait::async_trait]
impl QueryPlanner for GovernedPlanner {
    async fn create_physical_plan(
        &self,
        logical: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let planner = DefaultPhysicalPlanner::default();
        match logical {
            LogicalPlan::Explain(explain) => {
                let mut rows: Vec<(String, String)> = explain
                    .stringified_plans
                    .iter()
                    .filter(|p| is_logical(&p.plan_type) && p.should_display(explain.verbose))
                    .map(|p| (p.plan_type.to_string(), p.plan.as_ref().clone()))
                    .collect();
                if explain.logical_optimization_succeeded {
                    let logical = explain.plan.to_stringified(PlanType::FinalLogicalPlan);
                    rows.push((logical.plan_type.to_string(), logical.plan.as_ref().clone()));
                    let physical = planner.create_physical_plan(&explain.plan, session).await?;
                    rows.push((
                        PlanType::FinalPhysicalPlan.to_string(),
                        render(physical.as_ref(), false),
                    ));
                }
                let schema: SchemaRef = Arc::new(explain.schema.as_arrow().clone());
                let batch = text_batch(&schema, rows)?;
                Ok(MemorySourceConfig::try_new_exec(
                    &[vec![batch]],
                    schema,
                    None,
                )?)
            }
            LogicalPlan::Analyze(analyze) => {
                let input = planner
                    .create_physical_plan(&analyze.input, session)
                    .await?;
                let schema: SchemaRef = Arc::new(analyze.schema.as_arrow().clone());
                Ok(Arc::new(GovernedAnalyzeExec::new(input, schema)))
            }
            other => planner.create_physical_plan(other, session).await,
        }
    }
}

fn is_logical(plan_type: &PlanType) -> bool {
    matches!(
        plan_type,
        PlanType::InitialLogicalPlan
            | PlanType::AnalyzedLogicalPlan { .. }
            | PlanType::FinalAnalyzedLogicalPlan
            | PlanType::OptimizedLogicalPlan { .. }
            | PlanType::FinalLogicalPlan
    )
}

/// A two-column (`plan_type`, `plan`) batch.
fn text_batch(schema: &SchemaRef, rows: Vec<(String, String)>) -> Result<RecordBatch> {
    let (types, plans): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    Ok(RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(types)),
            Arc::new(StringArray::from(plans)),
        ],
    )?)
}

/// `plan` in the indent format, as described in the module documentation; with the metrics of
/// its inner nodes when `metrics`.
pub(crate) fn render(plan: &dyn ExecutionPlan, metrics: bool) -> String {
    let mut out = String::new();
    render_node(plan, 0, metrics, &mut out);
    out
}

fn render_node(node: &dyn ExecutionPlan, depth: usize, metrics: bool, out: &mut String) {
    let indent = "  ".repeat(depth);
    let children = node.children();
    if children.is_empty() {
        let columns: Vec<String> = node
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let _ = writeln!(
            out,
            "{indent}{}: columns=[{}]",
            node.name(),
            columns.join(", ")
        );
    } else {
        let line = if metrics {
            DisplayableExecutionPlan::with_metrics(node)
                .one_line()
                .to_string()
        } else {
            DisplayableExecutionPlan::new(node).one_line().to_string()
        };
        let _ = writeln!(out, "{indent}{}", without_partition_counts(line.trim()));
    }
    for child in children {
        render_node(child.as_ref(), depth + 1, metrics, out);
    }
}

/// `line` without `input_partitions=N`: how many partitions a scan yields depends on how many
/// files, and how large, its table has.
fn without_partition_counts(line: &str) -> String {
    const KEY: &str = ", input_partitions=";
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(KEY) {
        out.push_str(&rest[..at]);
        let after = &rest[at + KEY.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `EXPLAIN ANALYZE`: runs its input to the end, then answers the plan with its metrics,
/// rendered by [`render`].
#[derive(Debug)]
struct GovernedAnalyzeExec {
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl GovernedAnalyzeExec {
    fn new(input: Arc<dyn ExecutionPlan>, schema: SchemaRef) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        GovernedAnalyzeExec {
            input,
            schema,
            properties,
        }
    }
}

impl DisplayAs for GovernedAnalyzeExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "AnalyzeExec")
    }
}

impl ExecutionPlan for GovernedAnalyzeExec {
    fn name(&self) -> &'static str {
        "AnalyzeExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(GovernedAnalyzeExec::new(
            children.swap_remove(0),
            self.schema.clone(),
        )))
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.clone();
        let schema = self.schema.clone();
        let answer = async move {
            let started = Instant::now();
            let mut rows = 0usize;
            let mut stream = execute_stream(input.clone(), context)?;
            while let Some(batch) = stream.next().await {
                rows += batch?.num_rows();
            }
            drop(stream);
            let elapsed = started.elapsed();
            text_batch(
                &schema,
                vec![
                    ("Plan with Metrics".into(), render(input.as_ref(), true)),
                    ("Output Rows".into(), rows.to_string()),
                    ("Duration".into(), format!("{elapsed:?}")),
                ],
            )
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::once(answer),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::without_partition_counts;

    #[test]
    fn partition_counts_are_left_out() {
        assert_eq!(
            without_partition_counts(
                "RepartitionExec: partitioning=Hash([a@0], 2), input_partitions=14"
            ),
            "RepartitionExec: partitioning=Hash([a@0], 2)"
        );
        assert_eq!(
            without_partition_counts("CoalesceBatchesExec: target_batch_size=8192"),
            "CoalesceBatchesExec: target_batch_size=8192"
        );
    }
}
