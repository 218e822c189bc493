//! The governed session: the one DataFusion session a principal queries through.
//!
//! The decisions — which tables the principal may discover, which columns it sees, under which
//! mask, with which row filter — are made by the policies layer and arrive here as
//! [`TableAccess`] values; this module is the mechanism that makes them hold whatever the SQL:
//!
//! - the session's catalog holds only the tables the principal may discover (also in
//!   `information_schema`), each in its schema (the library tier); the Delta tables themselves
//!   are not registered anywhere the principal can name. Tables it may discover but not read
//!   are listed with their columns, and a query on one fails with the reason and what to do;
//! - tables are opened when a statement names them, not when the session starts, so a session
//!   over thousands of tables costs nothing until it is used, and each statement sees the
//!   tables' current versions;
//! - each granted table is a view over its Delta scan: `scan → row filter → projection` where
//!   every masked column is replaced by its mask expression and hidden columns are absent. A
//!   user's WHERE, JOIN, GROUP BY or window is planned *above* the view, so it only ever sees
//!   masked values and filtered rows (no oracle); `EXPLAIN` shows the filter and masks. The
//!   row filter is part of the scan ([`crate::row_filter`]) so that no user predicate is merged
//!   into it, where the predicate's errors would answer questions about the removed rows;
//! - statements other than queries are refused before planning: DDL (CREATE … including
//!   CREATE EXTERNAL TABLE and CREATE FUNCTION), DML (INSERT, UPDATE, DELETE, COPY) and
//!   settings (SET). The session registers no function that reads files or URLs;
//! - limits: a bounded memory pool that spills to disk, a timeout, a result-row cap (see
//!   [`Limits`]); the query service above adds the per-principal concurrency limit and audit.

use crate::audit_log::AuditLog;
use crate::error::{EngineError, Result};
use crate::explain::GovernedPlanner;
use crate::lake::Lake;
use crate::lock;
use crate::row_filter::RowFiltered;
use crate::scan::Disclosed;
use crate::unknown::{UnknownName, first_unknown};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, SchemaProvider, Session, TableProvider,
};
use datafusion::common::DFSchema;
use datafusion::common::format::ExplainFormat;
use datafusion::datasource::{TableType, ViewTable, provider_as_source};
use datafusion::error::DataFusionError;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext, ident};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use zhongshu_policies::MaskKey;
pub use zhongshu_policies::{ColumnAccess, DeniedTable, SessionAccess, TableAccess};

/// The catalog name principals see.
pub const CATALOG: &str = "zhongshu";

/// The schema and table the access audit log appears as, for principals allowed to read it.
pub const AUDIT_TABLE: (&str, &str) = ("audit", "queries");

/// Limits on one principal's queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a query may run.
    pub timeout: Duration,
    /// Memory a session's queries may hold before spilling (and failing when spilling cannot
    /// help).
    pub memory_bytes: usize,
    /// Most rows a result may have.
    pub max_rows: u64,
    /// Most queries a principal may run at once.
    pub max_concurrent: usize,
    /// Most statements refused for access, and most lookups by value, a principal may make
    /// from one host in a minute before it is refused as probing (0: no limit); see [`crate::probing`].
    pub max_probes_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(300),
            memory_bytes: 2 << 30,
            max_rows: 5_000_000,
            max_concurrent: 8,
            max_probes_per_minute: 60,
        }
    }
}

/// A table the principal may discover but not read: listed with its columns; any scan fails
/// with the reason.
#[derive(Debug)]
struct DeniedProvider {
    schema: SchemaRef,
    reason: String,
}

/// A readable table: the governed view, presented to clients as a table (`\dt` in psql lists
/// it), inlined into every plan that names it like any view.
#[derive(Debug)]
struct GovernedTable(ViewTable);

#[async_trait::async_trait]
impl TableProvider for GovernedTable {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_logical_plan(&'_ self) -> Option<std::borrow::Cow<'_, LogicalPlan>> {
        self.0.get_logical_plan()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }
}

/// The error a scan of a [`DeniedProvider`] raises, recognisable under DataFusion's wrapping.
#[derive(Debug, thiserror::Error)]
#[error("permission denied: {0}")]
pub struct AccessDenied(pub String);

#[async_trait::async_trait]
impl TableProvider for DeniedProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::External(Box::new(AccessDenied(
            self.reason.clone(),
        ))))
    }
}

/// The refusal by policy somewhere in `error`'s chain of sources, if there is one.
fn access_denied(error: &DataFusionError) -> Option<&AccessDenied> {
    let mut current: &dyn std::error::Error = error;
    loop {
        if let Some(denied) = current.downcast_ref::<AccessDenied>() {
            return Some(denied);
        }
        current = current.source()?;
    }
}

/// A query error as the principal should read it: a scan of a table it may not read becomes
/// [`EngineError::Refused`] with the reason, not DataFusion's wrapping of it.
pub fn query_error(error: DataFusionError) -> EngineError {
    match access_denied(&error) {
        Some(denied) => EngineError::Refused(denied.to_string()),
        None => EngineError::Query(error),
    }
}

/// A statement that failed to plan, as a typed error: a refusal by policy stays a refusal, and
/// an unknown table or function says which name it was. `sql` is parsed again here, on the
/// failure path only, so that planning a good statement does not pay for a copy of its tree.
fn planning_error(state: &SessionState, sql: &str, source: DataFusionError) -> EngineError {
    if access_denied(&source).is_some() {
        return EngineError::Query(source);
    }
    let dialect = state.config().options().sql_parser.dialect;
    let unknown = state
        .sql_to_statement(sql, &dialect)
        .ok()
        .and_then(|statement| first_unknown(state, &statement));
    match unknown {
        Some(UnknownName::Table(name)) => EngineError::UnknownTable { name, source },
        Some(UnknownName::Function(name)) => EngineError::UnknownFunction { name, source },
        None => EngineError::Query(source),
    }
}

/// Whether an error is a refusal by policy (a statement or a table not allowed) rather than a
/// failure.
pub fn is_denial(error: &EngineError) -> bool {
    match error {
        EngineError::Refused(_) => true,
        EngineError::Query(e) => access_denied(e).is_some(),
        _ => false,
    }
}

enum Entry {
    Read(TableAccess),
    Denied(DeniedTable),
    Audit,
}

/// Everything the session's schemas hold, opened on demand.
struct Registry {
    lake: Lake,
    key: MaskKey,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    /// A context for building views (the session's own context holds the registry, so it
    /// cannot be used from inside it); made once, when the first view is, as making one
    /// registers every built-in function.
    planning: OnceLock<SessionContext>,
    audit: Option<Arc<AuditLog>>,
    entries: BTreeMap<String, BTreeMap<String, Entry>>,
    /// Providers opened for the current statement (cleared before each statement so that each
    /// sees the tables' current versions).
    opened: Mutex<HashMap<(String, String), Arc<dyn TableProvider>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("schemas", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    async fn provider(&self, schema: &str, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(entry) = self.entries.get(schema).and_then(|t| t.get(name)) else {
            return Ok(None);
        };
        let key = (schema.to_owned(), name.to_owned());
        if let Some(p) = lock(&self.opened).get(&key) {
            return Ok(Some(p.clone()));
        }
        let provider: Arc<dyn TableProvider> = match entry {
            Entry::Read(access) => Arc::new(GovernedTable(self.view(access).await?)),
            Entry::Denied(denied) => {
                let table = self.lake.open_table(&denied.path).await?;
                let full = table.snapshot()?.snapshot().arrow_schema();
                let fields: Vec<Field> = full
                    .fields()
                    .iter()
                    .filter(|f| denied.columns.contains(f.name()))
                    .map(|f| f.as_ref().clone())
                    .collect();
                Arc::new(DeniedProvider {
                    schema: Arc::new(Schema::new(fields)),
                    reason: denied.reason.clone(),
                })
            }
            Entry::Audit => match &self.audit {
                Some(log) => Arc::new(log.table().await?),
                None => return Ok(None),
            },
        };
        lock(&self.opened).insert(key, provider.clone());
        Ok(Some(provider))
    }

    /// `scan → row filter → masked projection` over the Delta table; the row filter is part of
    /// the scan (see [`crate::row_filter`]).
    async fn view(&self, access: &TableAccess) -> Result<ViewTable> {
        let planning = self.planning.get_or_init(|| {
            SessionContext::new_with_config_rt(self.config.clone(), self.runtime.clone())
        });
        let table = self.lake.open_table(&access.path).await?;
        let disclosed = match access.row_filter {
            Some(_) => Disclosed::RowCount,
            None => Disclosed::Columns(
                access
                    .columns
                    .iter()
                    .filter(|c| c.mask.is_none())
                    .map(|c| c.name.clone())
                    .collect(),
            ),
        };
        let mut provider = crate::scan::table_provider_disclosing(
            &table,
            &planning.state(),
            self.lake.column_cache(),
            disclosed,
        )
        .await?;
        if let Some(filter) = &access.row_filter {
            let columns = Arc::new(DFSchema::try_from(provider.schema())?);
            let predicate = planning
                .state()
                .create_logical_expr(filter, &columns)
                .map_err(|e| {
                    EngineError::Schema(format!(
                        "row filter of {}.{}: {e}",
                        access.schema, access.name
                    ))
                })?;
            // Literals cast to the columns' types once, here, rather than on every batch.
            let simplifier = ExprSimplifier::new(
                SimplifyContext::builder()
                    .with_schema(columns.clone())
                    .build(),
            );
            let predicate = simplifier.simplify(simplifier.coerce(predicate, &columns)?)?;
            provider = Arc::new(RowFiltered::new(provider, predicate));
        }
        let scan = LogicalPlanBuilder::scan(
            format!("{}.{}", access.schema, access.name),
            provider_as_source(provider),
            None,
        )?;
        let frame = DataFrame::new(planning.state(), scan.build()?);
        let fields = frame.schema().clone();
        let mut projection: Vec<Expr> = Vec::with_capacity(access.columns.len());
        for c in &access.columns {
            let (_, field) = fields
                .qualified_field_with_unqualified_name(&c.name)
                .map_err(|_| {
                    EngineError::Schema(format!(
                        "{}.{} has no column `{}`",
                        access.schema, access.name, c.name
                    ))
                })?;
            let column = ident(&c.name);
            projection.push(match c.mask {
                Some(mask) => mask
                    .expr(column, field.data_type(), &self.key)
                    .alias(&c.name),
                None => column,
            });
        }
        let plan = frame.select(projection)?.into_unoptimized_plan();
        Ok(ViewTable::new(plan, None))
    }
}

/// One schema of the session (a library tier), backed by the registry.
#[derive(Debug)]
struct GovernedSchema {
    name: String,
    registry: Arc<Registry>,
}

#[async_trait::async_trait]
impl SchemaProvider for GovernedSchema {
    fn table_names(&self) -> Vec<String> {
        self.registry
            .entries
            .get(&self.name)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        self.registry
            .provider(&self.name, name)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.registry
            .entries
            .get(&self.name)
            .is_some_and(|t| t.contains_key(name))
    }
}

/// A table a statement read, for the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementReads {
    /// Tables read, `schema.table`.
    pub tables: Vec<String>,
    /// Columns read, `schema.table.column`.
    pub columns: Vec<String>,
    /// Masks applied to the columns read, `schema.table.column=mask`.
    pub masks: Vec<String>,
    /// Row filters applied, `schema.table: predicate`.
    pub filters: Vec<String>,
}

/// A principal's session: see the module documentation.
pub struct GovernedSession {
    ctx: SessionContext,
    registry: Arc<Registry>,
    limits: Limits,
}

impl Drop for GovernedSession {
    /// Empties the session's catalogs: a schema that reads the catalog list it is registered
    /// in (`pg_catalog`, which front ends add) makes a reference cycle, and the whole session —
    /// about 5 MiB — would never be freed (measured: 1,000 MiB per 200 closed connections).
    fn drop(&mut self) {
        for name in self.ctx.catalog_names() {
            if let Some(catalog) = self.ctx.catalog(&name) {
                for schema in catalog.schema_names() {
                    let _ = catalog.deregister_schema(&schema, true);
                }
            }
        }
    }
}

impl std::fmt::Debug for GovernedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GovernedSession")
            .field("registry", &self.registry)
            .field("limits", &self.limits)
            .finish()
    }
}

impl GovernedSession {
    /// Builds the session holding exactly what `access` allows. `audit` serves the audit log
    /// table when `access.audit_log` is set.
    pub fn new(
        lake: &Lake,
        access: &SessionAccess,
        key: &MaskKey,
        limits: Limits,
        audit: Option<Arc<AuditLog>>,
    ) -> Result<Self> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG, "public")
            .with_create_default_catalog_and_schema(false);
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(limits.memory_bytes)))
            .with_disk_manager_builder(DiskManagerBuilder::default())
            .with_cache_manager(
                CacheManagerConfig::default().with_file_metadata_cache(Some(lake.footer_cache())),
            )
            .build_arc()?;
        let state = SessionStateBuilder::new()
            .with_config(config.clone())
            .with_runtime_env(runtime.clone())
            .with_default_features()
            .with_query_planner(Arc::new(GovernedPlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        crate::bounded::bound(&ctx);
        let mut entries: BTreeMap<String, BTreeMap<String, Entry>> = BTreeMap::new();
        entries.insert("public".into(), BTreeMap::new());
        for t in &access.denied {
            entries
                .entry(t.schema.clone())
                .or_default()
                .insert(t.name.clone(), Entry::Denied(t.clone()));
        }
        // A readable table wins over a denied one of the same name.
        for t in &access.tables {
            entries
                .entry(t.schema.clone())
                .or_default()
                .insert(t.name.clone(), Entry::Read(t.clone()));
        }
        if access.audit_log && audit.is_some() {
            entries
                .entry(AUDIT_TABLE.0.into())
                .or_default()
                .insert(AUDIT_TABLE.1.into(), Entry::Audit);
        }
        let schemas: Vec<String> = entries.keys().cloned().collect();
        let registry = Arc::new(Registry {
            lake: lake.clone(),
            key: key.clone(),
            config,
            runtime,
            planning: OnceLock::new(),
            audit,
            entries,
            opened: Mutex::new(HashMap::new()),
        });
        let catalog = Arc::new(MemoryCatalogProvider::new());
        for name in schemas {
            catalog.register_schema(
                &name,
                Arc::new(GovernedSchema {
                    name: name.clone(),
                    registry: registry.clone(),
                }),
            )?;
        }
        ctx.register_catalog(CATALOG, catalog);
        Ok(GovernedSession {
            ctx,
            registry,
            limits,
        })
    }

    /// The limits the session runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The DataFusion context, for front ends that add system catalogs and their functions
    /// (`pg_catalog`). Statements must go through [`GovernedSession::sql`].
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Plans a query; anything but a query (or EXPLAIN of one) is refused with
    /// [`EngineError::Refused`].
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        crate::complexity::check(sql)?;
        lock(&self.registry.opened).clear();
        let state = self.ctx.state();
        let plan = match state.create_logical_plan(sql).await {
            Ok(plan) => plan,
            Err(source) => return Err(planning_error(&state, sql, source)),
        };
        verify(&plan)?;
        let format = match &plan {
            LogicalPlan::Explain(e) => Some(&e.explain_format),
            LogicalPlan::Analyze(a) => Some(&a.format),
            _ => None,
        };
        if let Some(format) = format
            && *format != ExplainFormat::Indent
        {
            return Err(EngineError::Refused(format!(
                "EXPLAIN FORMAT {format} is not available: zhongshu renders plans in the indent \
                 format only, without statistics, files or sizes; use EXPLAIN"
            )));
        }
        if matches!(plan, LogicalPlan::Analyze(_)) && !self.reads(&plan).filters.is_empty() {
            // The scan's metrics count the rows before the row filter removes any.
            return Err(EngineError::Refused(
                "EXPLAIN ANALYZE reads a table under a row filter, and its row counts would \
                 describe the rows the filter removes; use EXPLAIN"
                    .into(),
            ));
        }
        Ok(DataFrame::new(state, plan))
    }

    /// What a planned statement reads, with the masks and filters applied to it.
    pub fn reads(&self, plan: &LogicalPlan) -> StatementReads {
        let mut tables = BTreeSet::new();
        let mut columns = BTreeSet::new();
        let mut masks = BTreeSet::new();
        let mut filters = BTreeSet::new();
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                let qualified = scan.table_name.to_string();
                let access = qualified.split_once('.').and_then(|(s, n)| {
                    match self.registry.entries.get(s).and_then(|t| t.get(n)) {
                        Some(Entry::Read(a)) => Some(a),
                        _ => None,
                    }
                });
                if let Some(access) = access {
                    tables.insert(qualified.clone());
                    if let Some(f) = &access.row_filter {
                        filters.insert(format!("{qualified}: {f}"));
                    }
                    for field in scan.projected_schema.fields() {
                        columns.insert(format!("{qualified}.{}", field.name()));
                        if let Some(mask) = access
                            .columns
                            .iter()
                            .find(|c| c.name == *field.name())
                            .and_then(|c| c.mask)
                        {
                            masks.insert(format!(
                                "{qualified}.{}={}",
                                field.name(),
                                mask.as_code()
                            ));
                        }
                    }
                } else if qualified == format!("{}.{}", AUDIT_TABLE.0, AUDIT_TABLE.1) {
                    tables.insert(qualified);
                }
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
        StatementReads {
            tables: tables.into_iter().collect(),
            columns: columns.into_iter().collect(),
            masks: masks.into_iter().collect(),
            filters: filters.into_iter().collect(),
        }
    }
}

/// Refuses everything but queries: DDL, DML (COPY included) and settings.
fn verify(plan: &LogicalPlan) -> Result<()> {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(plan)
        .map_err(|e| EngineError::Refused(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::LakeConfig;
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::DataType;
    use zhongshu_policies::Mask;

    async fn lake_with_people() -> (tempfile::TempDir, Lake) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id_no", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("street_code", DataType::Utf8, true),
            Field::new("income", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    "440310199001011234",
                    "440310198505052345",
                    "440310197003033456",
                ])),
                Arc::new(StringArray::from(vec!["张三", "李四", "王五"])),
                Arc::new(StringArray::from(vec![
                    "440310001",
                    "440310002",
                    "440310001",
                ])),
                Arc::new(StringArray::from(vec!["9000", "12000", "7000"])),
            ],
        )
        .unwrap();
        lake.write_to("base/population/persons")
            .schema(schema)
            .exactly_once("test", 1)
            .append(vec![batch])
            .await
            .unwrap();
        (dir, lake)
    }

    fn access(filter: Option<&str>) -> TableAccess {
        TableAccess {
            schema: "base".into(),
            name: "persons".into(),
            path: "base/population/persons".into(),
            columns: vec![
                ColumnAccess {
                    name: "id_no".into(),
                    mask: Some(Mask::ResidentId),
                },
                ColumnAccess {
                    name: "name".into(),
                    mask: Some(Mask::Name),
                },
                ColumnAccess {
                    name: "street_code".into(),
                    mask: None,
                },
            ],
            row_filter: filter.map(str::to_owned),
        }
    }

    async fn rows(session: &GovernedSession, sql: &str) -> Vec<Vec<String>> {
        let batches = session.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            let cols: Vec<_> = b
                .columns()
                .iter()
                .map(|c| datafusion::arrow::compute::cast(c, &DataType::Utf8).unwrap())
                .collect();
            for r in 0..b.num_rows() {
                out.push(
                    cols.iter()
                        .map(|c| c.as_string::<i32>().value(r).to_owned())
                        .collect(),
                );
            }
        }
        out
    }

    fn only(table: TableAccess) -> SessionAccess {
        SessionAccess {
            tables: vec![table],
            ..SessionAccess::default()
        }
    }

    fn key() -> MaskKey {
        MaskKey::new(b"governed-session-test-key").unwrap()
    }

    /// A session reading `base.persons` masked and limited to street 440310001 (two rows of
    /// three).
    fn street_session(lake: &Lake) -> GovernedSession {
        GovernedSession::new(
            lake,
            &only(access(Some("street_code IN ('440310001')"))),
            &key(),
            Limits::default(),
            None,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn masks_and_filters_sit_below_every_user_expression() {
        let (_dir, lake) = lake_with_people().await;
        let session = street_session(&lake);
        assert_eq!(
            rows(
                &session,
                "SELECT id_no, name FROM base.persons ORDER BY id_no"
            )
            .await,
            vec![
                vec!["440310********1234".to_owned(), "张*".to_owned()],
                vec!["440310********3456".to_owned(), "王*".to_owned()],
            ]
        );
        // WHERE on the real value is no oracle; the filtered-out row cannot be reached.
        for probe in [
            "SELECT COUNT(*) FROM base.persons WHERE id_no = '440310199001011234'",
            "SELECT COUNT(*) FROM base.persons WHERE name = '张三'",
            "SELECT COUNT(*) FROM base.persons WHERE street_code = '440310002'",
            "WITH p AS (SELECT * FROM base.persons) SELECT COUNT(*) FROM p a JOIN p b ON a.id_no = b.id_no WHERE a.name LIKE '李%'",
        ] {
            assert_eq!(
                rows(&session, probe).await,
                vec![vec!["0".to_owned()]],
                "{probe}"
            );
        }
        // Hidden columns do not exist for the principal.
        assert!(
            session
                .sql("SELECT income FROM base.persons")
                .await
                .is_err()
        );
        // The catalog lists only what was granted.
        let tables = rows(
            &session,
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema <> 'information_schema'",
        )
        .await;
        assert_eq!(tables, vec![vec!["base".to_owned(), "persons".to_owned()]]);
        // EXPLAIN shows the rewrite.
        let plan = rows(&session, "EXPLAIN SELECT name FROM base.persons").await;
        let text = plan
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            text.contains("zs_mask_name") && text.contains("440310001"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn user_predicates_never_run_on_rows_the_row_filter_removes() {
        let (_dir, lake) = lake_with_people().await;
        assert_no_oracle(&street_session(&lake), "DataSourceExec").await;
    }

    #[tokio::test]
    async fn user_predicates_never_run_on_rows_the_row_filter_removes_from_the_cache() {
        let (_dir, lake) = lake_with_people().await;
        lake.column_cache().set_budget(64 << 20);
        let session = street_session(&lake);
        rows(&session, "SELECT * FROM base.persons").await;
        assert!(
            lake.column_cache().usage().1 > 0,
            "the first read fills the cache"
        );
        assert_no_oracle(&session, "CachedScanExec").await;
    }

    /// The probes of the two tests above, over a scan shown in plans as `scan`.
    async fn assert_no_oracle(session: &GovernedSession, scan: &str) {
        // The filter keeps two rows of three, enough that DataFusion evaluates both sides of
        // an AND on every row: a merged `row_filter AND user_predicate` would raise the
        // user's division by zero for the hidden row, and so reveal that it exists.
        for probe in [
            "SELECT COUNT(*) FROM base.persons \
             WHERE 1 / (CASE WHEN street_code = '440310002' THEN 0 ELSE 1 END) = 1",
            "SELECT COUNT(*) FROM base.persons \
             WHERE 1 / (CASE WHEN street_code <> '440310001' AND name LIKE '李%' THEN 0 ELSE 1 END) = 1",
            "SELECT COUNT(*) FROM (SELECT street_code FROM base.persons) p \
             WHERE 1 / (CASE WHEN street_code = '440310002' THEN 0 ELSE 1 END) = 1",
            // A hash join pushes a filter on its probe side's key down towards the scan.
            "SELECT COUNT(*) FROM (VALUES (1)) v(k) JOIN base.persons p \
             ON v.k = 1 / (CASE WHEN p.street_code = '440310002' THEN 0 ELSE 1 END)",
        ] {
            let outcome = async {
                session
                    .sql(probe)
                    .await?
                    .collect()
                    .await
                    .map_err(query_error)
            };
            match outcome.await {
                Ok(batches) => {
                    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                        .unwrap()
                        .to_string();
                    assert!(text.contains("| 2 "), "{probe}: {text}");
                }
                Err(e) => panic!("{probe} failed, an oracle on the hidden row: {e}"),
            }
        }
        // The row filter is its own node, with the user's predicate above it.
        let plan = rows(
            session,
            "EXPLAIN SELECT name FROM base.persons WHERE street_code <> '440310002'",
        )
        .await;
        let physical = plan
            .iter()
            .find(|r| r[0] == "physical_plan")
            .map(|r| r[1].clone())
            .unwrap();
        let row_filter_line = physical.lines().find(|l| l.contains("RowFilterExec"));
        assert!(
            row_filter_line.is_some_and(|l| !l.contains("CAST(")),
            "the row filter's literals are cast once, when it is planned: {physical}"
        );
        let user = physical.find("FilterExec").expect(&physical);
        let row = physical
            .find("RowFilterExec: street_code")
            .expect(&physical);
        assert!(user < row, "{physical}");
        assert!(physical.contains(scan), "{physical}");
        // EXPLAIN ANALYZE would count the rows the filter removes.
        assert!(matches!(
            session
                .sql("EXPLAIN ANALYZE SELECT name FROM base.persons")
                .await,
            Err(EngineError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn statements_other_than_queries_are_refused() {
        let (_dir, lake) = lake_with_people().await;
        let session =
            GovernedSession::new(&lake, &only(access(None)), &key(), Limits::default(), None)
                .unwrap();
        for statement in [
            "CREATE TABLE x AS SELECT 1",
            "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/etc'",
            "CREATE VIEW v AS SELECT * FROM base.persons",
            "DROP TABLE base.persons",
            "INSERT INTO base.persons VALUES ('1', '2', '3')",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "SET datafusion.execution.batch_size = 1",
        ] {
            let refused = session.sql(statement).await;
            assert!(
                matches!(refused, Err(EngineError::Refused(_))),
                "{statement} was not refused"
            );
        }
        // Functions that read files are not in the session.
        assert!(
            session
                .sql("SELECT * FROM read_parquet('/etc/passwd')")
                .await
                .is_err()
        );
    }
}
