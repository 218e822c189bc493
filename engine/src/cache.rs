//! The decoded column cache: lake columns kept in memory as Arrow arrays, so that a table read
//! again is not read and decoded from Parquet again.
//!
//! Why: shared tables are read over and over — the same dashboards, the same 共享 queries from
//! many departments — and on TPC-H (`bench/tpch.sh`) reading and decoding Parquet is about 40% of
//! a query's time. Delta data files are never rewritten in place (a new version writes new
//! files), so a file's decoded column stays right for as long as any table version lists the
//! file; no invalidation is needed, only eviction.
//!
//! Each [`Lake`](crate::Lake) owns one ([`Lake::column_cache`](crate::Lake::column_cache)), shared
//! by its clones and so by every session over it.
//!
//! What: one entry per (file, column) — the whole column of that file as one array, in the
//! table's type. Entries are evicted least recently used first once the budget
//! ([`ColumnCache::set_budget`], `[gateway] cache_mb` in `zhongshu.toml`; 0 turns the cache off) would be
//! exceeded. A scan whose columns do not fit in the budget reads Parquet as before.
//!
//! The cache holds raw rows below governance: row filters and masks apply above the scan
//! exactly as over Parquet ([`crate::row_filter`]).
//!
//! [`CachedScanExec`] takes the filters hash joins derive from their build side (DataFusion's
//! dynamic filters, `s_nationkey IN (6, 7)`) and drops the rows they reject before anything
//! above sees them: with the columns already decoded this is cheap, and a join that meets a
//! small filtered table no longer carries the big table's every row (TPC-H Q7, Q17). Such a
//! filter is made of the join's key expressions, which a user writes, so a row-filtered table's
//! scan is never given one: [`crate::row_filter::RowFilterExec`] passes no filters to a scan
//! that evaluates them on rows.

use crate::lock;
use datafusion::arrow::array::{ArrayRef, RecordBatch, new_null_array};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::compute::{cast, concat};
use datafusion::arrow::datatypes::{Field, SchemaRef};
use datafusion::common::cast::as_boolean_array;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    DefaultParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::snapshot_generation;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::TryStreamExt;
use object_store::ObjectStore;
use parquet::arrow::ProjectionMask;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A lake's decoded column cache, shared by every session over the lake (and its clones).
#[derive(Default)]
pub struct ColumnCache {
    /// The budget in bytes; 0 (the default) turns the cache off.
    budget: AtomicUsize,
    entries: Mutex<Entries>,
}

impl std::fmt::Debug for ColumnCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (budget, bytes) = self.usage();
        f.debug_struct("ColumnCache")
            .field("budget", &budget)
            .field("bytes", &bytes)
            .finish()
    }
}

impl ColumnCache {
    /// Sets the budget, in bytes (0 turns the cache off and empties it).
    pub fn set_budget(&self, bytes: usize) {
        self.budget.store(bytes, Ordering::Relaxed);
        lock(&self.entries).evict_to(bytes);
    }

    /// The budget, and the bytes the cache holds now.
    pub fn usage(&self) -> (usize, usize) {
        (
            self.budget.load(Ordering::Relaxed),
            lock(&self.entries).bytes,
        )
    }
}

/// (where the file's table lives, the file's path, the column's name and type)
type Key = (String, String, String);

struct Entry {
    column: ArrayRef,
    bytes: usize,
    used: u64,
}

#[derive(Default)]
struct Entries {
    columns: Option<HashMap<Key, Entry>>,
    bytes: usize,
    clock: u64,
}

impl Entries {
    fn map(&mut self) -> &mut HashMap<Key, Entry> {
        self.columns.get_or_insert_with(HashMap::new)
    }

    fn get(&mut self, key: &Key) -> Option<ArrayRef> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.map().get_mut(key)?;
        entry.used = clock;
        Some(entry.column.clone())
    }

    fn insert(&mut self, key: Key, column: ArrayRef, budget: usize) {
        let bytes = column.get_array_memory_size();
        if bytes > budget {
            return;
        }
        self.evict_to(budget - bytes);
        self.clock += 1;
        let used = self.clock;
        if let Some(old) = self.map().insert(
            key,
            Entry {
                column,
                bytes,
                used,
            },
        ) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
    }

    /// Evicts least recently used entries until at most `limit` bytes are held.
    fn evict_to(&mut self, limit: usize) {
        while self.bytes > limit {
            let Some(oldest) = self
                .map()
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(entry) = self.map().remove(&oldest) {
                self.bytes -= entry.bytes;
            }
        }
    }
}

/// The columns `schema` names of the files of one table, from the cache, decoding (and caching)
/// what it lacks when `fill` (a scan with a row limit does not fill: a preview of ten rows should
/// not decode whole columns). `None` when the cache is off, lacks columns it may not fill, or
/// the columns do not fit in its budget; the caller then reads Parquet.
pub(crate) async fn columns(
    cache: &ColumnCache,
    store: &Arc<dyn ObjectStore>,
    store_url: &str,
    files: &[(String, u64)],
    schema: &SchemaRef,
    fill: bool,
) -> Result<Option<Vec<Vec<ArrayRef>>>> {
    let budget = cache.budget.load(Ordering::Relaxed);
    if budget == 0 || schema.fields().is_empty() {
        return Ok(None);
    }
    let readers = DefaultParquetFileReaderFactory::new(store.clone());
    // A column is kept in the type the session reads it as (text as views or not).
    let key = |file: &str, field: &Field| {
        let column = format!("{}: {}", field.name(), field.data_type());
        (store_url.to_owned(), file.to_owned(), column)
    };
    let mut out = Vec::with_capacity(files.len());
    let mut needed = 0usize;
    for (file, size) in files {
        let cached: Vec<Option<ArrayRef>> = {
            let mut entries = lock(&cache.entries);
            schema
                .fields()
                .iter()
                .map(|f| entries.get(&key(file, f)))
                .collect()
        };
        needed += cached
            .iter()
            .flatten()
            .map(|c| c.get_array_memory_size())
            .sum::<usize>();
        if cached.iter().all(Option::is_some) {
            out.push(cached.into_iter().flatten().collect());
            continue;
        }
        if !fill {
            return Ok(None);
        }
        let missing: Vec<usize> = (0..cached.len()).filter(|&i| cached[i].is_none()).collect();
        let reader = readers.create_reader(
            0,
            PartitionedFile::new(file.clone(), *size),
            None,
            &ExecutionPlanMetricsSet::new(),
        )?;
        let room = budget.saturating_sub(needed);
        let decoded = decode(reader, schema, &missing, room).await?;
        let Some(decoded) = decoded else {
            return Ok(None);
        };
        let mut entries = lock(&cache.entries);
        let mut decoded = decoded.into_iter();
        let mut columns = Vec::with_capacity(cached.len());
        for (i, hit) in cached.into_iter().enumerate() {
            let column = match hit {
                Some(column) => column,
                None => {
                    let column = decoded
                        .next()
                        .expect("one decoded array per missing column");
                    needed += column.get_array_memory_size();
                    entries.insert(key(file, schema.field(i)), column.clone(), budget);
                    column
                }
            };
            columns.push(column);
        }
        out.push(columns);
    }
    Ok((needed <= budget).then_some(out))
}

/// Decodes the columns at `indices` of `schema` from the file `reader` reads, each as one array
/// of the schema's type (a column the file lacks, added to the table after the file was
/// written, is null).
/// `None` when the footer says they would take more than `room` bytes.
async fn decode(
    reader: Box<dyn AsyncFileReader>,
    schema: &SchemaRef,
    indices: &[usize],
    room: usize,
) -> Result<Option<Vec<ArrayRef>>> {
    let builder = ParquetRecordBatchStreamBuilder::new(reader).await?;
    let metadata = builder.metadata().clone();
    let file_schema = builder.schema().clone();
    let rows = usize::try_from(metadata.file_metadata().num_rows()).unwrap_or(0);
    // Where each wanted column is among the file's top-level columns and its leaves.
    let positions: Vec<Option<usize>> = indices
        .iter()
        .map(|&i| file_schema.index_of(schema.field(i).name()).ok())
        .collect();
    let mut roots: Vec<usize> = positions.iter().flatten().copied().collect();
    roots.sort_unstable();
    let descriptor = metadata.file_metadata().schema_descr();
    let mask = ProjectionMask::roots(descriptor, roots.iter().copied());
    let estimate: usize = metadata
        .row_groups()
        .iter()
        .flat_map(|group| group.columns().iter().enumerate())
        .filter(|(leaf, _)| roots.contains(&descriptor.get_column_root_idx(*leaf)))
        .map(|(_, chunk)| usize::try_from(chunk.uncompressed_size()).unwrap_or(usize::MAX))
        .sum();
    if estimate > room {
        return Ok(None);
    }
    let batches: Vec<RecordBatch> = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()?
        .try_collect()
        .await?;
    let mut out = Vec::with_capacity(indices.len());
    for (&i, position) in indices.iter().zip(&positions) {
        let field = schema.field(i);
        let column = match position {
            None => new_null_array(field.data_type(), rows),
            Some(root) => {
                let within = roots.binary_search(root).expect("a projected root");
                let parts: Vec<ArrayRef> = batches
                    .iter()
                    .map(|b| cast(b.column(within), field.data_type()))
                    .collect::<std::result::Result<_, _>>()?;
                let parts: Vec<&dyn datafusion::arrow::array::Array> =
                    parts.iter().map(|p| p.as_ref()).collect();
                if parts.is_empty() {
                    new_null_array(field.data_type(), 0)
                } else {
                    concat(&parts)?
                }
            }
        };
        out.push(column);
    }
    Ok(Some(out))
}

/// A scan of cached columns: each file's rows in slices of the session's batch size, dealt
/// round robin to the partitions. Reports the statistics of the files' footers, as the Parquet
/// scan it replaces does, so the planner orders joins alike.
#[derive(Debug, Clone)]
pub(crate) struct CachedScanExec {
    schema: SchemaRef,
    partitions: Vec<Vec<RecordBatch>>,
    statistics: Arc<Statistics>,
    properties: Arc<PlanProperties>,
    /// Filters pushed down after planning (dynamic filters of joins), applied to every batch.
    filters: Vec<Arc<dyn PhysicalExpr>>,
}

impl CachedScanExec {
    /// `files` holds each file's columns in `schema`'s order (at least one column).
    pub(crate) fn try_new(
        schema: SchemaRef,
        files: Vec<Vec<ArrayRef>>,
        statistics: Statistics,
        partitions: usize,
        batch_size: usize,
        limit: Option<usize>,
    ) -> Result<Self> {
        let partitions = partitions.max(1);
        let mut dealt: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
        let mut rows_in: Vec<usize> = vec![0; partitions];
        let mut next = 0;
        for columns in files {
            let batch = RecordBatch::try_new(schema.clone(), columns)?;
            let mut offset = 0;
            while offset < batch.num_rows() {
                let length = batch_size.max(1).min(batch.num_rows() - offset);
                let partition = next % partitions;
                next += 1;
                if limit.is_some_and(|l| rows_in[partition] >= l) {
                    offset += length;
                    continue;
                }
                dealt[partition].push(batch.slice(offset, length));
                rows_in[partition] += length;
                offset += length;
            }
        }
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        // A limit leaves rows out, so the footers' counts are then only an estimate.
        let statistics = if limit.is_some() {
            statistics.to_inexact()
        } else {
            statistics
        };
        Ok(Self {
            schema,
            partitions: dealt,
            statistics: Arc::new(statistics),
            properties: Arc::new(properties),
            filters: Vec::new(),
        })
    }
}

impl DisplayAs for CachedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let rows: usize = self.partitions.iter().flatten().map(|b| b.num_rows()).sum();
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "CachedScanExec: partitions={}, rows={rows}, projection=[{}]",
            self.partitions.len(),
            columns.join(", ")
        )?;
        if !self.filters.is_empty() {
            let filters: Vec<String> = self.filters.iter().map(|e| e.to_string()).collect();
            write!(f, ", filters=[{}]", filters.join(", "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for CachedScanExec {
    fn name(&self) -> &str {
        "CachedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for filter in &self.filters {
            if f(filter)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    /// Takes the filters pushed after planning (dynamic filters), and answers that they were
    /// not pushed, so whatever put them there still applies them itself.
    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let filters: Vec<Arc<dyn PhysicalExpr>> = child_pushdown_result
            .parent_filters
            .iter()
            .map(|f| f.filter.clone())
            .collect();
        let answer = vec![PushedDown::No; filters.len()];
        if phase != FilterPushdownPhase::Post || filters.is_empty() {
            return Ok(FilterPushdownPropagation::with_parent_pushdown_result(
                answer,
            ));
        }
        let mut node = self.clone();
        node.filters.extend(filters);
        // The filters drop rows, so the footers' counts become an estimate.
        node.statistics = Arc::new(node.statistics.as_ref().clone().to_inexact());
        Ok(
            FilterPushdownPropagation::with_parent_pushdown_result(answer)
                .with_updated_node(Arc::new(node) as Arc<dyn ExecutionPlan>),
        )
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batches = MemoryStream::try_new(
            self.partitions[partition].clone(),
            self.schema.clone(),
            None,
        )?;
        if self.filters.is_empty() {
            return Ok(Box::pin(batches));
        }
        // A dynamic filter changes once its join has read its build side, so each batch is
        // filtered with the expression as it is when the batch is read.
        let mut filters: Vec<AdaptiveFilter> = self
            .filters
            .iter()
            .cloned()
            .map(AdaptiveFilter::new)
            .collect();
        let filtered = batches.try_filter_map(move |batch| {
            let mut batch = batch;
            let mut outcome = Ok(Some(()));
            for filter in &mut filters {
                match filter.apply(&batch) {
                    Ok(Some(kept)) => batch = kept,
                    Ok(None) => {}
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
                if batch.num_rows() == 0 {
                    outcome = Ok(None);
                    break;
                }
            }
            std::future::ready(outcome.map(|kept| kept.map(|()| batch)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            filtered,
        )))
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        Ok(match partition {
            None => self.statistics.clone(),
            Some(_) => Arc::new(self.statistics.as_ref().clone().to_inexact()),
        })
    }
}

/// A pushed filter as one scan stream applies it: once it has seen enough rows to know that the
/// filter keeps most of them (a join whose build side holds most keys), the stream stops
/// evaluating it, until the filter changes. Such a filter costs a hash of the key per row, about
/// what the join's probe costs, and saves less than it costs; on TPC-H SF1 (Q3, Q5, Q7, Q9, Q10,
/// Q17, Q18, Q20, Q21) skipping filters that keep more than 25%, 40% or 50% of the rows came out
/// alike within noise, and all three well ahead of skipping only those that keep 95% (Q21 0.39–0.55
/// s against 0.30–0.41 s).
struct AdaptiveFilter {
    filter: Arc<dyn PhysicalExpr>,
    generation: u64,
    rows_in: usize,
    rows_kept: usize,
    skip: bool,
}

impl AdaptiveFilter {
    /// Rows evaluated before deciding, and the share kept above which the filter is skipped.
    const SAMPLE_ROWS: usize = 128 * 1024;
    const USELESS_SHARE: f64 = 0.4;

    fn new(filter: Arc<dyn PhysicalExpr>) -> Self {
        Self {
            generation: snapshot_generation(&filter),
            filter,
            rows_in: 0,
            rows_kept: 0,
            skip: false,
        }
    }

    /// The rows of `batch` the filter keeps, or `None` when it is skipped.
    fn apply(&mut self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let generation = snapshot_generation(&self.filter);
        if generation != self.generation {
            *self = Self::new(self.filter.clone());
        }
        if self.skip {
            return Ok(None);
        }
        let keep = self.filter.evaluate(batch)?.into_array(batch.num_rows())?;
        let kept = filter_record_batch(batch, as_boolean_array(&keep)?)?;
        self.rows_in += batch.num_rows();
        self.rows_kept += kept.num_rows();
        if self.rows_in >= Self::SAMPLE_ROWS
            && self.rows_kept as f64 > Self::USELESS_SHARE * self.rows_in as f64
        {
            self.skip = true;
        }
        Ok(Some(kept))
    }
}
