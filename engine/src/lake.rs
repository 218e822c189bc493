//! The lake: Delta tables on object storage, laid out by zone and tier.
//!
//! A [`Lake`] is a root URL (a local directory by default, any S3-compatible bucket by
//! `s3://bucket/prefix` and options) under which each table lives at a relative path such as
//! `base/population/persons`. Writes go through delta-rs so each one is a single atomic commit;
//! the resulting tables are plain Delta tables that any Delta reader opens without zhongshu.

use crate::error::{EngineError, Result};
use crate::lock;
use arrow::array::RecordBatch;
use datafusion::execution::cache::cache_manager::CachedFileMetadataEntry;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::execution::cache::default_cache::DefaultCache;
use datafusion::prelude::SessionContext;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableBuilder};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use url::Url;
use zhongshu_catalog::{ResourceId, TableRecord};

/// Where the lake lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// `file:///abs/path`, a plain directory path, or `s3://bucket/prefix`. Empty means
    /// `DATA_DIR/lake`.
    #[serde(default)]
    pub url: String,
    /// object_store options, e.g. `aws_endpoint`, `aws_access_key_id`, `aws_region`,
    /// `aws_allow_http`. Keys are case-insensitive; values may be written as TOML strings,
    /// booleans or numbers (environment variables arrive typed).
    #[serde(default, deserialize_with = "option_map")]
    pub options: HashMap<String, String>,
}

/// Reads a map of scalar options into lower-case keys and string values.
fn option_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<HashMap<String, String>, D::Error> {
    let raw: HashMap<String, serde_json::Value> = HashMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "lake option `{k}` must be a string, boolean or number, not {other}"
                    )));
                }
            };
            Ok((k.to_lowercase(), value))
        })
        .collect()
}

/// How a write treats existing data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Add rows.
    Append,
    /// Replace all rows (the old versions stay readable by time travel).
    Overwrite,
}

/// The rows of one write: batches in memory, or Parquet files a run spooled to local disk so
/// that an overwrite, merge or history run of any size keeps memory bounded.
#[derive(Debug, Clone)]
pub enum RunData {
    /// Batches in memory.
    Batches(Vec<RecordBatch>),
    /// A local Parquet file (or directory of files).
    Parquet(std::path::PathBuf),
}

impl From<Vec<RecordBatch>> for RunData {
    fn from(batches: Vec<RecordBatch>) -> Self {
        RunData::Batches(batches)
    }
}

impl RunData {
    /// The rows as a DataFusion frame of `ctx` with the given schema.
    async fn frame(
        self,
        ctx: &SessionContext,
        schema: arrow::datatypes::SchemaRef,
    ) -> Result<datafusion::dataframe::DataFrame> {
        Ok(match self {
            RunData::Batches(batches) if batches.is_empty() => {
                ctx.read_batch(RecordBatch::new_empty(schema))?
            }
            RunData::Batches(batches) => ctx.read_batches(batches)?,
            RunData::Parquet(path) => {
                let options = datafusion::prelude::ParquetReadOptions::default()
                    .schema(schema.as_ref())
                    .file_extension(".parquet");
                ctx.read_parquet(path.display().to_string(), options)
                    .await?
            }
        })
    }
}

/// The result of one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The table version the write committed.
    pub version: u64,
    /// Rows written.
    pub rows: u64,
}

/// The lake root and its storage options.
#[derive(Debug, Clone)]
pub struct Lake {
    root: Url,
    options: HashMap<String, String>,
    /// Tables opened for reading, shared by the lake's clones; see [`Lake::open_table`].
    opened: Arc<Mutex<OpenedTables>>,
    /// Parquet footers read by queries, shared by every session over the lake; see
    /// [`Lake::footer_cache`].
    footers: Arc<FileMetadataCache>,
    /// Where system sessions record their reads; see [`Lake::system_session`].
    audit: Option<Arc<dyn zhongshu_catalog::CatalogStore>>,
    /// Decoded columns of the lake's files, shared by every session; see [`crate::cache`].
    columns: Arc<crate::cache::ColumnCache>,
    /// Told of every commit; see [`crate::write`].
    hooks: crate::write::Hooks,
}

/// Memory the footer cache may hold.
const FOOTER_CACHE_BYTES: usize = 256 << 20;

/// Most tables [`Lake::open_table`] keeps loaded.
const OPENED_TABLES: usize = 512;

/// Loaded table states by path, with when each was last used (the least recently used one
/// goes first when the cache is full).
#[derive(Default)]
struct OpenedTables {
    tables: HashMap<String, (DeltaTable, u64)>,
    clock: u64,
}

impl std::fmt::Debug for OpenedTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedTables")
            .field("tables", &self.tables.len())
            .finish()
    }
}

impl OpenedTables {
    fn get(&mut self, path: &str) -> Option<DeltaTable> {
        self.clock += 1;
        let clock = self.clock;
        self.tables.get_mut(path).map(|(table, used)| {
            *used = clock;
            table.clone()
        })
    }

    /// Keeps `table` unless a newer state of it is already kept.
    fn put(&mut self, path: &str, table: &DeltaTable) {
        self.clock += 1;
        if let Some((kept, used)) = self.tables.get_mut(path) {
            if kept.version() <= table.version() {
                *kept = table.clone();
            }
            *used = self.clock;
            return;
        }
        if self.tables.len() >= OPENED_TABLES
            && let Some(oldest) = self
                .tables
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(p, _)| p.clone())
        {
            self.tables.remove(&oldest);
        }
        self.tables
            .insert(path.to_owned(), (table.clone(), self.clock));
    }

    fn forget(&mut self, path: &str) {
        self.tables.remove(path);
    }
}

impl Lake {
    /// Opens the lake described by `config`, defaulting to `data_dir/lake`.
    pub fn open(config: &LakeConfig, data_dir: &Path) -> Result<Self> {
        let location = if config.url.is_empty() {
            data_dir.join("lake").to_string_lossy().into_owned()
        } else {
            config.url.clone()
        };
        let root = if location.contains("://") {
            let url = Url::parse(&location)
                .map_err(|e| EngineError::Config(format!("lake URL `{location}`: {e}")))?;
            match url.scheme() {
                "file" => {
                    let path = url.to_file_path().map_err(|_| {
                        EngineError::Config(format!("lake URL `{location}` is not a local path"))
                    })?;
                    deltalake::ensure_table_uri(path.to_string_lossy())?
                }
                "s3" | "s3a" => url,
                other => {
                    return Err(EngineError::Config(format!(
                        "lake URL scheme `{other}` is not supported; use a directory, file:// or s3://"
                    )));
                }
            }
        } else {
            deltalake::ensure_table_uri(&location)?
        };
        let mut root = root;
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        Ok(Lake {
            root,
            options: config.options.clone(),
            opened: Arc::default(),
            footers: Arc::new(DefaultCache::<
                object_store::path::Path,
                CachedFileMetadataEntry,
            >::new(FOOTER_CACHE_BYTES)),
            audit: None,
            columns: Arc::default(),
            hooks: crate::write::Hooks::default(),
        })
    }

    pub(crate) fn hooks(&self) -> &crate::write::Hooks {
        &self.hooks
    }

    pub(crate) fn hooks_mut(&mut self) -> &mut crate::write::Hooks {
        &mut self.hooks
    }

    /// The lake's decoded column cache (off until [`ColumnCache::set_budget`](crate::cache::ColumnCache::set_budget)
    /// gives it a budget).
    pub fn column_cache(&self) -> &Arc<crate::cache::ColumnCache> {
        &self.columns
    }

    /// The same lake recording its system sessions' reads in `store`'s access audit log.
    pub fn with_audit(mut self, store: Arc<dyn zhongshu_catalog::CatalogStore>) -> Self {
        self.audit = Some(store);
        self
    }

    /// The audit log system sessions record in, if attached.
    pub(crate) fn audit_log(&self) -> Option<&Arc<dyn zhongshu_catalog::CatalogStore>> {
        self.audit.as_ref()
    }

    /// The Parquet footers (schemas, statistics, page indexes) queries have read, for sessions
    /// to share: a governed session lives for one connection or call, and without this each
    /// would read and parse the footers of every file it touches again. Data files are never
    /// rewritten in place (Delta writes new files with unique names), so an entry stays right.
    pub fn footer_cache(&self) -> Arc<FileMetadataCache> {
        self.footers.clone()
    }

    /// The root URL.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL of a table at a relative path (`base/population/persons`).
    pub fn table_url(&self, path: &str) -> Result<Url> {
        if path.is_empty()
            || path.starts_with('/')
            || path.split('/').any(|p| p == ".." || p.is_empty())
        {
            return Err(EngineError::Config(format!(
                "table path `{path}` must be relative, without `..`"
            )));
        }
        let url = self
            .root
            .join(path)
            .map_err(|e| EngineError::Config(format!("table path `{path}`: {e}")))?;
        if url.scheme() == "file" {
            // Local tables need their directory before delta-rs can write the log.
            return Ok(deltalake::ensure_table_uri(url.as_str())?);
        }
        Ok(url)
    }

    /// A handle on the table at `path`, loaded if the table exists.
    async fn table_handle(&self, path: &str) -> Result<DeltaTable> {
        let url = self.table_url(path)?;
        let mut table = DeltaTableBuilder::from_url(url)?
            .with_storage_options(self.options.clone())
            .build()?;
        if table.verify_deltatable_existence().await? {
            table.load().await?;
        }
        Ok(table)
    }

    /// Opens an existing table at its latest version.
    ///
    /// A table opened before is brought up to date from the state kept then, which reads only
    /// the commits made since (one listing of the log when there are none) instead of loading
    /// the table again: queries open every table they name, so this is on every statement's
    /// path. A kept state that fails to update is dropped and the table opened afresh.
    pub async fn open_table(&self, path: &str) -> Result<DeltaTable> {
        let kept = lock(&self.opened).get(path);
        if let Some(mut table) = kept {
            if table.update_incremental(None).await.is_ok() {
                lock(&self.opened).put(path, &table);
                return Ok(table);
            }
            lock(&self.opened).forget(path);
        }
        let table = self.table_handle(path).await?;
        if table.version().is_none() {
            return Err(EngineError::NoTable {
                location: table.table_url().to_string(),
            });
        }
        lock(&self.opened).put(path, &table);
        Ok(table)
    }

    /// Whether a table exists at `path`.
    pub async fn exists(&self, path: &str) -> Result<bool> {
        let url = self.table_url(path)?;
        let table = DeltaTableBuilder::from_url(url)?
            .with_storage_options(self.options.clone())
            .build()?;
        Ok(table.verify_deltatable_existence().await?)
    }

    /// Writes batches to the table at `path` in one atomic commit, creating the table if needed.
    pub(crate) async fn write_plain(
        &self,
        path: &str,
        name: &str,
        batches: Vec<RecordBatch>,
        mode: WriteMode,
    ) -> Result<WriteOutcome> {
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let table = self.table_handle(path).await?;
        let save_mode = match mode {
            WriteMode::Append => SaveMode::Append,
            WriteMode::Overwrite => SaveMode::Overwrite,
        };
        let table = table
            .write(batches)
            .with_save_mode(save_mode)
            .with_table_name(name)
            .await?;
        let version = table
            .version()
            .ok_or_else(|| EngineError::Schema("write committed no version".into()))?;
        Ok(WriteOutcome { version, rows })
    }

    /// Writes `data` as the `version`-th commit of application `app_id` (a Delta transaction
    /// identifier, `txn`), unless the table already holds that commit: a re-run after a crash
    /// then lands nothing twice. New columns in `schema` are added to the table. Returns the
    /// table version holding the commit and whether this call made it.
    #[allow(clippy::too_many_arguments)] // one argument per aspect of the commit
    pub(crate) async fn write_once(
        &self,
        path: &str,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        data: impl Into<RunData>,
        mode: WriteMode,
        app_id: &str,
        version: i64,
    ) -> Result<(WriteOutcome, bool)> {
        let table = self.table_handle(path).await?;
        if table.version().is_some() && self.holds(&table, app_id, version).await? {
            let current = table.version().unwrap_or_default();
            return Ok((
                WriteOutcome {
                    version: current,
                    rows: 0,
                },
                false,
            ));
        }
        let save_mode = match mode {
            WriteMode::Append => SaveMode::Append,
            WriteMode::Overwrite => SaveMode::Overwrite,
        };
        let ctx = delta_session();
        let frame = data.into().frame(&ctx, schema).await?;
        let outcome = write_frame(table, &ctx, frame, save_mode, name, app_id, version).await?;
        Ok((outcome, true))
    }

    /// Whether the table already holds the `version`-th commit of `app_id`.
    async fn holds(&self, table: &DeltaTable, app_id: &str, version: i64) -> Result<bool> {
        let state = table.snapshot()?;
        Ok(state
            .transaction_version(table.log_store().as_ref(), app_id)
            .await?
            .is_some_and(|v| v >= version))
    }

    /// Upserts `data` into the table on `keys` as the `version`-th commit of `app_id`:
    /// rows whose keys exist are updated, others inserted; nothing happens if the table
    /// already holds that commit. Creates the table on first use. Returns the version holding
    /// the commit and the (inserted, updated) counts.
    #[allow(clippy::too_many_arguments)] // one argument per aspect of the commit
    pub(crate) async fn merge_once(
        &self,
        path: &str,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        data: impl Into<RunData>,
        keys: &[String],
        app_id: &str,
        version: i64,
    ) -> Result<(u64, usize, usize)> {
        use datafusion::prelude::col;
        let data = data.into();
        let table = self.table_handle(path).await?;
        if table.version().is_none() {
            let (outcome, _) = self
                .write_once(path, name, schema, data, WriteMode::Append, app_id, version)
                .await?;
            return Ok((outcome.version, outcome.rows as usize, 0));
        }
        if self.holds(&table, app_id, version).await? {
            return Ok((table.version().unwrap_or_default(), 0, 0));
        }
        let ctx = delta_session();
        let source = data.frame(&ctx, schema.clone()).await?;
        let predicate = keys
            .iter()
            .map(|k| col(format!("target.{k}")).eq(col(format!("source.{k}"))))
            .reduce(|a, b| a.and(b))
            .ok_or_else(|| EngineError::Schema("merge needs at least one key column".into()))?;
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let commit = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id, version));
        let (table, metrics) = table
            .merge(source, predicate)
            .with_source_alias("source")
            .with_target_alias("target")
            .when_matched_update(|mut u| {
                for c in columns.iter().filter(|c| !keys.contains(c)) {
                    u = u.update(c.as_str(), col(format!("source.{c}")));
                }
                u
            })?
            .when_not_matched_insert(|mut i| {
                for c in &columns {
                    i = i.set(c.as_str(), col(format!("source.{c}")));
                }
                i
            })?
            .with_merge_schema(true)
            .with_commit_properties(commit)
            .await?;
        Ok((
            table.version().unwrap_or_default(),
            metrics.num_target_rows_inserted,
            metrics.num_target_rows_updated,
        ))
    }

    /// The latest version of the table at `path` (`None` before its first commit).
    pub(crate) async fn current_version(&self, path: &str) -> Result<Option<u64>> {
        Ok(self.table_handle(path).await?.version())
    }

    /// Whether the table at `path` holds the `version`-th commit of `app_id`.
    pub async fn holds_transaction(&self, path: &str, app_id: &str, version: i64) -> Result<bool> {
        let table = self.table_handle(path).await?;
        if table.version().is_none() {
            return Ok(false);
        }
        self.holds(&table, app_id, version).await
    }

    /// Sets one column of the rows matching `key` (column → value, compared as text) to
    /// `value` (cast to the column's type; `None` sets null), as the `version`-th commit of
    /// `app_id`; with `current_only`, only rows whose `valid_to` is null (the current versions
    /// of a history table). How an accepted objection (数据纠错) lands its correction. Returns
    /// the table's version and the rows changed (0, and the current version, when the commit
    /// already existed).
    #[allow(clippy::too_many_arguments)] // one argument per aspect of the commit
    pub(crate) async fn correct_value(
        &self,
        path: &str,
        key: &[(String, String)],
        column: &str,
        value: Option<&str>,
        current_only: bool,
        app_id: &str,
        version: i64,
    ) -> Result<(u64, usize)> {
        use datafusion::arrow::datatypes::DataType;
        use datafusion::prelude::{cast, ident, lit};
        let table = self.table_handle(path).await?;
        let Some(current) = table.version() else {
            return Err(EngineError::Schema(format!("table {path} has no data yet")));
        };
        if self.holds(&table, app_id, version).await? {
            return Ok((current, 0));
        }
        let schema = table.snapshot()?.snapshot().arrow_schema();
        let field = schema
            .field_with_name(column)
            .map_err(|_| EngineError::Schema(format!("table {path} has no column `{column}`")))?;
        let predicate = key
            .iter()
            .map(|(k, v)| cast(ident(k), DataType::Utf8).eq(lit(v.clone())))
            .reduce(|a, b| a.and(b))
            .ok_or_else(|| EngineError::Schema("a correction names its row by key".into()))?;
        let predicate = if current_only {
            predicate.and(ident(VALID_TO).is_null())
        } else {
            predicate
        };
        let new_value = match value {
            Some(v) => cast(lit(v.to_owned()), field.data_type().clone()),
            None => cast(
                lit(datafusion::scalar::ScalarValue::Null),
                field.data_type().clone(),
            ),
        };
        let commit = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id, version));
        let (table, metrics) = table
            .update()
            .with_predicate(predicate)
            .with_update(column, new_value)
            .with_session_state(Arc::new(delta_session().state()))
            .with_safe_cast(false)
            .with_commit_properties(commit)
            .await?;
        Ok((
            table.version().unwrap_or_default(),
            metrics.num_updated_rows,
        ))
    }

    /// Lands a full snapshot with history (SCD type 2) as the `version`-th commit of `app_id`.
    /// The table holds `schema`'s columns plus `valid_from` and `valid_to` (UTC timestamps;
    /// `valid_to` is null for the current version of a key). Against the current versions:
    /// a key whose values changed is closed at `at` and reopened with the new values, a new key
    /// is opened, a key missing from the snapshot is closed; unchanged keys are untouched.
    /// Returns the version holding the commit and the (opened, closed) counts.
    #[allow(clippy::too_many_arguments)] // one argument per aspect of the commit
    pub(crate) async fn history_once(
        &self,
        path: &str,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        data: impl Into<RunData>,
        keys: &[String],
        app_id: &str,
        version: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(u64, usize, usize)> {
        use datafusion::prelude::{col, lit};
        let at = lit(datafusion::scalar::ScalarValue::TimestampMicrosecond(
            Some(at.timestamp_micros()),
            Some("UTC".into()),
        ));
        let no_time = lit(datafusion::scalar::ScalarValue::TimestampMicrosecond(
            None,
            Some("UTC".into()),
        ));
        let table = self.table_handle(path).await?;
        let ctx = delta_session();
        let snapshot = data.into().frame(&ctx, schema.clone()).await?;
        if table.version().is_none() {
            let opened = snapshot
                .with_column(VALID_FROM, at)?
                .with_column(VALID_TO, no_time)?;
            let outcome =
                write_frame(table, &ctx, opened, SaveMode::Append, name, app_id, version).await?;
            return Ok((outcome.version, outcome.rows as usize, 0));
        }
        if self.holds(&table, app_id, version).await? {
            return Ok((table.version().unwrap_or_default(), 0, 0));
        }
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let values: Vec<&String> = columns.iter().filter(|c| !keys.contains(c)).collect();
        // A changed row must both close the current version (matched on its key) and open a
        // new one (inserted): the snapshot is joined to the current versions and changed rows
        // are sent a second time with no merge key, so that they never match.
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("target", table.table_provider().await?)?;
        ctx.register_table("snapshot", snapshot.clone().into_view())?;
        let quoted = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
        let differs = if values.is_empty() {
            "FALSE".to_owned()
        } else {
            values
                .iter()
                .map(|c| format!("(s.{0} IS DISTINCT FROM t.{0})", quoted(c)))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let select_all = columns
            .iter()
            .map(|c| format!("s.{}", quoted(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let merge_keys = |from_snapshot: bool| {
            keys.iter()
                .map(|k| {
                    if from_snapshot {
                        format!("s.{} AS {}", quoted(k), quoted(&format!("__merge_{k}")))
                    } else {
                        let t = schema
                            .field_with_name(k)
                            .map(|f| f.data_type().to_string())
                            .unwrap_or_else(|_| "Utf8".into());
                        format!(
                            "arrow_cast(NULL, '{t}') AS {}",
                            quoted(&format!("__merge_{k}"))
                        )
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let join = keys
            .iter()
            .map(|k| format!("s.{0} = t.{0}", quoted(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT {select_all}, {} FROM snapshot s \
             UNION ALL \
             SELECT {select_all}, {} FROM snapshot s JOIN target t ON {join} \
             WHERE t.{VALID_TO} IS NULL AND ({differs})",
            merge_keys(true),
            merge_keys(false),
        );
        // The new versions' validity travels in the source, so that inserting it needs no
        // column the source lacks.
        let source = ctx
            .sql(&sql)
            .await?
            .with_column(VALID_FROM, at.clone())?
            .with_column(VALID_TO, no_time)?;
        let predicate = keys
            .iter()
            .map(|k| col(format!("target.{k}")).eq(col(format!("source.__merge_{k}"))))
            .fold(col(format!("target.{VALID_TO}")).is_null(), |a, b| a.and(b));
        let changed = values
            .iter()
            .map(|c| {
                datafusion::logical_expr::binary_expr(
                    col(format!("target.{c}")),
                    datafusion::logical_expr::Operator::IsDistinctFrom,
                    col(format!("source.{c}")),
                )
            })
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false));
        let commit = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id, version));
        let (table, metrics) = table
            .merge(source, predicate)
            .with_source_alias("source")
            .with_target_alias("target")
            .when_matched_update(|u| u.predicate(changed).update(VALID_TO, at.clone()))?
            .when_not_matched_insert(|mut i| {
                for c in columns
                    .iter()
                    .map(String::as_str)
                    .chain([VALID_FROM, VALID_TO])
                {
                    i = i.set(c, col(format!("source.{c}")));
                }
                i
            })?
            .when_not_matched_by_source_update(|u| {
                u.predicate(col(format!("target.{VALID_TO}")).is_null())
                    .update(VALID_TO, at.clone())
            })?
            .with_merge_schema(true)
            .with_commit_properties(commit)
            .await?;
        Ok((
            table.version().unwrap_or_default(),
            metrics.num_target_rows_inserted,
            metrics.num_target_rows_updated,
        ))
    }

    /// Starts a streaming append of one commit identified by (`app_id`, `version`): batches are
    /// written to Parquet files as they come, so memory stays bounded whatever the input size,
    /// and nothing is visible until [`StreamingAppend::commit`]. Returns `None` when the table
    /// already holds that commit (a resumed run). Creates the table (empty) if needed.
    pub(crate) async fn streaming_append(
        &self,
        path: &str,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        app_id: &str,
        version: i64,
    ) -> Result<Option<StreamingAppend>> {
        let mut table = self.table_handle(path).await?;
        if table.version().is_none() {
            table = table
                .write(vec![RecordBatch::new_empty(schema)])
                .with_save_mode(SaveMode::Append)
                .with_table_name(name)
                .await?;
        }
        let state = table.snapshot()?;
        if state
            .transaction_version(table.log_store().as_ref(), app_id)
            .await?
            .is_some_and(|v| v >= version)
        {
            return Ok(None);
        }
        let commit = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id, version));
        let writer = RecordBatchWriter::for_table(&table)?
            .with_target_file_size(STREAMING_FILE_SIZE)
            .with_commit_properties(commit);
        Ok(Some(StreamingAppend {
            table,
            writer,
            rows: 0,
            told: None,
        }))
    }

    /// The latest version of a Delta table outside the lake (a back-flow source), by URL or
    /// local path, with its own storage options.
    pub async fn external_version(url: &str, options: &HashMap<String, String>) -> Result<u64> {
        let url = deltalake::ensure_table_uri(url)?;
        let mut table = DeltaTableBuilder::from_url(url.clone())?
            .with_storage_options(options.clone())
            .build()?;
        if !table.verify_deltatable_existence().await? {
            return Err(EngineError::NoTable {
                location: url.to_string(),
            });
        }
        table.load().await?;
        Ok(table.version().unwrap_or_default())
    }

    /// Streams version `version` of an external Delta table through DataFusion.
    pub async fn scan_external(
        url: &str,
        options: &HashMap<String, String>,
        version: u64,
    ) -> Result<datafusion::physical_plan::SendableRecordBatchStream> {
        let url = deltalake::ensure_table_uri(url)?;
        let mut table = DeltaTableBuilder::from_url(url)?
            .with_storage_options(options.clone())
            .build()?;
        table.load_version(version).await?;
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("source", table.table_provider().await?)?;
        Ok(ctx.table("source").await?.execute_stream().await?)
    }

    /// A catalog record of the table at `path` after a write. Version, schema and row count
    /// all come from one snapshot, so that a concurrent writer's newer commit cannot pair a
    /// newer version with an older count.
    pub async fn table_record(
        &self,
        resource: &ResourceId,
        name: &str,
        path: &str,
    ) -> Result<TableRecord> {
        let table = self.open_table(path).await?;
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        let row_count = ctx
            .read_table(table.table_provider().await?)?
            .count()
            .await? as u64;
        let snapshot = table.snapshot()?;
        let schema = snapshot.snapshot().arrow_schema();
        let version = table.version().unwrap_or_default();
        let last_update = table
            .history(Some(1))
            .next()
            .await
            .and_then(|c| c.ok())
            .and_then(|c| c.timestamp)
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        Ok(TableRecord {
            resource: resource.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            location: table.table_url().to_string(),
            version: version as i64,
            row_count: row_count as i64,
            schema_json: serde_json::to_string(schema.as_ref())
                .map_err(|e| EngineError::Schema(e.to_string()))?,
            partition_columns: snapshot.metadata().partition_columns().to_vec(),
            last_update: chrono::DateTime::from_timestamp_millis(last_update)
                .unwrap_or_default()
                .to_rfc3339(),
        })
    }

    /// A raw DataFusion session with the tables at the given paths registered under the given
    /// names: no grant, mask, row filter or audit. Private to the engine: zhongshu's own work
    /// reads through [`Lake::system_session`], principals through their governed session.
    pub(crate) async fn internal_session(&self, tables: &[(&str, &str)]) -> Result<SessionContext> {
        let ctx = SessionContext::new();
        for (name, path) in tables {
            let table = self.open_table(path).await?;
            table.update_datafusion_session(&ctx.state())?;
            let provider = table.table_provider().await?;
            ctx.register_table(*name, provider)?;
        }
        Ok(ctx)
    }

    /// A uniform random sample of up to `limit` rows of the table at `path`, read through
    /// the system session for `reason` (a top-k over a random key, so memory stays at `limit`
    /// rows).
    pub async fn sample(&self, reason: &str, path: &str, limit: usize) -> Result<Vec<RecordBatch>> {
        self.system_session(reason, &[("t", path)])
            .await?
            .sql(&format!("SELECT * FROM t ORDER BY random() LIMIT {limit}"))
            .await
    }
}

/// Shared handle.
pub type LakeRef = Arc<Lake>;

/// Writes a frame of `ctx` to `table` in one commit carrying the transaction (`app_id`,
/// `version`); new columns widen the table's schema.
async fn write_frame(
    table: DeltaTable,
    ctx: &SessionContext,
    frame: datafusion::dataframe::DataFrame,
    save_mode: SaveMode,
    name: &str,
    app_id: &str,
    version: i64,
) -> Result<WriteOutcome> {
    // Counting a spooled Parquet file reads its footer only.
    let rows = frame.clone().count().await? as u64;
    let commit =
        CommitProperties::default().with_application_transaction(Transaction::new(app_id, version));
    let table = table
        .write(Vec::new())
        .with_input_plan(frame.into_unoptimized_plan())
        .with_session_state(Arc::new(ctx.state()))
        .with_save_mode(save_mode)
        .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
        .with_table_name(name)
        .with_commit_properties(commit)
        .await?;
    let version = table
        .version()
        .ok_or_else(|| EngineError::Schema("write committed no version".into()))?;
    Ok(WriteOutcome { version, rows })
}

/// A DataFusion session with delta-rs's planner, for plans that delta-rs executes (writes
/// and merges fed from a frame).
fn delta_session() -> SessionContext {
    deltalake::delta_datafusion::create_session().into_inner()
}

/// Column of a history (SCD2) table: when a version of a row became current.
pub const VALID_FROM: &str = "valid_from";
/// Column of a history (SCD2) table: when a version stopped being current (null: current).
pub const VALID_TO: &str = "valid_to";

/// Parquet file size at which a streaming append rolls to a new file.
const STREAMING_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// An append in progress; see [`crate::write::TableWrite::streaming`].
pub struct StreamingAppend {
    table: DeltaTable,
    writer: RecordBatchWriter,
    rows: u64,
    /// The lake whose hooks are told of the commit, and what to tell them.
    told: Option<(Lake, crate::write::Commit)>,
}

impl std::fmt::Debug for StreamingAppend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingAppend")
            .field("rows", &self.rows)
            .finish()
    }
}

impl StreamingAppend {
    /// The same append telling `lake`'s hooks of its commit.
    pub(crate) fn told(mut self, lake: Lake, commit: crate::write::Commit) -> Self {
        self.told = Some((lake, commit));
        self
    }

    /// Writes one batch (to a Parquet file not yet referenced by the table).
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        let schema = self.writer.arrow_schema();
        if schema.fields().len() == batch.num_columns() {
            // The writer expects the table's own schema object; the columns are the same.
            let batch = RecordBatch::try_new(schema, batch.columns().to_vec())?;
            self.writer.write(batch).await?;
        } else {
            // Columns added to the resource: the commit widens the table's schema.
            self.writer
                .write_with_mode(batch, deltalake::writer::WriteMode::MergeSchema)
                .await?;
        }
        Ok(())
    }

    /// Commits every written file as one table version.
    pub async fn commit(mut self) -> Result<WriteOutcome> {
        let version = self.writer.flush_and_commit(&mut self.table).await?;
        if let Some((lake, mut commit)) = self.told.take() {
            commit.version = version;
            commit.rows = self.rows;
            lake.tell_hooks(&commit);
        }
        Ok(WriteOutcome {
            version,
            rows: self.rows,
        })
    }
}
