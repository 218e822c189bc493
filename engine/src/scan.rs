//! Reading a lake table: delta-rs resolves the snapshot (which data files make the current
//! version), DataFusion's own Parquet scan reads them.
//!
//! Why not delta-rs's table provider for everything: on TPC-H SF1 (`bench/tpch.sh`) its scan
//! made queries about a third slower than DataFusion's Parquet scan over the very same files
//! (it forces late materialization whenever a filter is pushed and adds a per-batch transform
//! layer). Tables the lake writes need none of that machinery: a Delta table with reader
//! version 1 and no partition columns has no deletion vectors, no column mapping and no
//! partition values, so its rows are exactly the rows of its data files, and reading those
//! files directly is what the Delta protocol prescribes. Any other table (written elsewhere, a
//! back-flow source) still goes through delta-rs's provider.
//!
//! Columns already in the decoded column cache ([`crate::cache`]) are read from memory instead.
//!
//! Files written before a column was added lack it; DataFusion's schema adapter reads it as
//! null, as Delta requires. Statistics come from the files' footers (cached by the session), so
//! the planner orders joins as it would over plain Parquet.
//!
//! A governed read discloses to the planner only the statistics that describe what the
//! principal sees ([`Disclosed`]): the footers are computed over every row and over the raw
//! values, so a table read under a row filter plans with its row count alone (which the
//! catalogue publishes), and a masked column with no statistics of its own (its minimum and
//! maximum would be real values). The files' own statistics still skip
//! row groups and files; skipping changes no result.

use crate::cache::{self, CachedScanExec, ColumnCache};
use crate::error::Result;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::{ParquetFormat, transform_schema_to_view};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::SessionState;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use deltalake::DeltaTable;
use deltalake::logstore::LogStore as _;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Which of a table's footer statistics the planner may use, and so a plan may reflect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disclosed {
    /// All of them: the reader sees every row and every value.
    All,
    /// The row count and the statistics of these columns: the reader sees every row, and the
    /// other columns only masked.
    Columns(BTreeSet<String>),
    /// The table's row count alone, and as an estimate: the reader sees only some rows (a row
    /// filter), so column statistics over every row describe rows it may not see. The row
    /// count is what the catalogue publishes as the table's size (数据量) to everyone who may
    /// discover it; without it the planner cannot order joins (TPC-H Q18 ran 4× slower).
    RowCount,
}

impl Disclosed {
    /// `total` reduced to what may be disclosed; `schema` names its columns.
    fn apply(&self, total: Statistics, schema: &SchemaRef) -> Statistics {
        match self {
            Disclosed::All => total,
            Disclosed::RowCount => Statistics {
                num_rows: total.num_rows.to_inexact(),
                ..Statistics::new_unknown(schema)
            },
            Disclosed::Columns(columns)
                if schema.fields().iter().all(|f| columns.contains(f.name())) =>
            {
                total
            }
            Disclosed::Columns(columns) => {
                let mut total = total;
                for (field, stats) in schema.fields().iter().zip(&mut total.column_statistics) {
                    if !columns.contains(field.name()) {
                        *stats = ColumnStatistics::new_unknown();
                    }
                }
                // The table's size includes the columns withheld.
                total.total_byte_size = Precision::Absent;
                total
            }
        }
    }
}

/// The provider a session reads `table` (at its loaded version) through, its statistics all
/// disclosed. Registers the table's object store in the session.
pub async fn table_provider(
    table: &DeltaTable,
    state: &SessionState,
    cache: &Arc<ColumnCache>,
) -> Result<Arc<dyn TableProvider>> {
    table_provider_disclosing(table, state, cache, Disclosed::All).await
}

/// [`table_provider`] for a governed read: the planner sees only the statistics `disclosed`.
/// (A table delta-rs reads plans with the statistics of its log; see the module documentation.)
pub async fn table_provider_disclosing(
    table: &DeltaTable,
    state: &SessionState,
    cache: &Arc<ColumnCache>,
    disclosed: Disclosed,
) -> Result<Arc<dyn TableProvider>> {
    let view_types = state.table_options().parquet.global.schema_force_view_types;
    match DataFiles::of(table, view_types, cache, disclosed)? {
        Some(files) => {
            // The table's own store, rooted at the table, under the URL its files are read by.
            let store = table.log_store();
            state
                .runtime_env()
                .register_object_store(files.store.as_ref(), store.object_store(None));
            Ok(Arc::new(files))
        }
        None => {
            table.update_datafusion_session(state)?;
            Ok(table.table_provider().await?)
        }
    }
}

/// Whether a Parquet scan under these options evaluates pushed-down filters on rows (late
/// materialization) rather than only pruning row groups and pages with them. zhongshu's sessions
/// leave it off; [`crate::row_filter`] relies on knowing which.
pub(crate) fn evaluates_pushed_filters(
    config: &datafusion::common::config::ConfigOptions,
    tables: &datafusion::common::config::TableOptions,
) -> bool {
    config.execution.parquet.pushdown_filters || tables.parquet.global.pushdown_filters
}

/// A lake table's data files, read with DataFusion's Parquet scan.
#[derive(Debug)]
pub(crate) struct DataFiles {
    /// The table's schema as the Delta log declares it, text as view types when the session
    /// reads Parquet that way.
    schema: SchemaRef,
    /// Where the files are: the URL [`table_provider`] registers the table's own store under.
    store: ObjectStoreUrl,
    /// Paths relative to the table root, with sizes.
    files: Vec<(String, u64)>,
    /// The lake's decoded column cache.
    cache: Arc<ColumnCache>,
    /// The statistics the planner may use.
    disclosed: Disclosed,
}

impl DataFiles {
    /// The table's files, or `None` when the table needs delta-rs to read it (see the module
    /// documentation).
    fn of(
        table: &DeltaTable,
        view_types: bool,
        cache: &Arc<ColumnCache>,
        disclosed: Disclosed,
    ) -> Result<Option<DataFiles>> {
        let state = table.snapshot()?;
        let snapshot = state.snapshot();
        if snapshot.protocol().min_reader_version() != 1
            || !snapshot.metadata().partition_columns().is_empty()
        {
            return Ok(None);
        }
        let mut files = Vec::new();
        for file in state.log_data().iter() {
            let path = file.path();
            if path.contains("://") || file.deletion_vector_descriptor().is_some() {
                return Ok(None);
            }
            files.push((path.into_owned(), u64::try_from(file.size()).unwrap_or(0)));
        }
        Ok(Some(DataFiles {
            schema: if view_types {
                // As DataFusion's own Parquet tables read text and binary.
                Arc::new(transform_schema_to_view(&snapshot.arrow_schema()))
            } else {
                snapshot.arrow_schema()
            },
            store: table.log_store().object_store_url(),
            files,
            cache: cache.clone(),
            disclosed,
        }))
    }
}

#[async_trait::async_trait]
impl TableProvider for DataFiles {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        // Filters prune row groups and pages; a filter above the scan still applies them.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let options = state.table_options().parquet.clone();
        let schema = self.schema.clone();
        if self.files.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(schema.project(p)?),
                None => schema,
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let format = ParquetFormat::default().with_options(options);
        let store = state.runtime_env().object_store(&self.store)?;
        let mut files = Vec::with_capacity(self.files.len());
        for (path, size) in &self.files {
            let file = PartitionedFile::new(path.clone(), *size);
            let stats = format
                .infer_stats(state, &store, schema.clone(), &file.object_meta)
                .await?;
            files.push(file.with_statistics(Arc::new(stats)));
        }
        let total = self.disclosed.apply(
            Statistics::try_merge_iter(
                files.iter().filter_map(|f| f.statistics.as_deref()),
                &schema,
            )?,
            &schema,
        );
        let projected = match projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => schema.clone(),
        };
        if !projected.fields().is_empty()
            && let Some(columns) = cache::columns(
                &self.cache,
                &store,
                self.store.as_str(),
                &self.files,
                &projected,
                limit.is_none(),
            )
            .await?
        {
            let config = state.config();
            return Ok(Arc::new(CachedScanExec::try_new(
                projected,
                columns,
                total.project(projection),
                config.target_partitions(),
                config.batch_size(),
                limit,
            )?));
        }
        let config = FileScanConfigBuilder::new(
            self.store.clone(),
            format.file_source(TableSchema::from(schema)),
        )
        .with_file_groups(vec![FileGroup::new(files)])
        .with_statistics(total)
        .with_projection_indices(projection.cloned())?
        .with_limit(limit)
        .build();
        format.create_physical_plan(state, config).await
    }
}
