//! The lake: Delta tables on object storage, laid out by zone and tier.
//!
//! A [`Lake`] is a root URL (a local directory by default, any S3-compatible bucket by
//! `s3://bucket/prefix` and options) under which each table lives at a relative path such as
//! `base/population/persons`. Writes go through delta-rs so each one is a single atomic commit;
//! the resulting tables are plain Delta tables that any Delta reader opens without zhongshu.

use crate::error::{EngineError, Result};
use arrow::array::RecordBatch;
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
use std::sync::Arc;
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
        })
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

    /// Opens an existing table.
    pub async fn open_table(&self, path: &str) -> Result<DeltaTable> {
        let table = self.table_handle(path).await?;
        if table.version().is_none() {
            return Err(EngineError::NoTable {
                location: table.table_url().to_string(),
            });
        }
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
    pub async fn write(
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

    /// Writes batches as the `version`-th commit of application `app_id` (a Delta transaction
    /// identifier, `txn`), unless the table already holds that commit: a re-run after a crash
    /// then lands nothing twice. Returns the table version holding the commit and whether this
    /// call made it.
    pub async fn write_once(
        &self,
        path: &str,
        name: &str,
        batches: Vec<RecordBatch>,
        mode: WriteMode,
        app_id: &str,
        version: i64,
    ) -> Result<(WriteOutcome, bool)> {
        let table = self.table_handle(path).await?;
        if table.version().is_some() {
            let state = table.snapshot()?;
            let done = state
                .transaction_version(table.log_store().as_ref(), app_id)
                .await?;
            if done.is_some_and(|v| v >= version) {
                let current = table.version().unwrap_or_default();
                return Ok((
                    WriteOutcome {
                        version: current,
                        rows: 0,
                    },
                    false,
                ));
            }
        }
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let save_mode = match mode {
            WriteMode::Append => SaveMode::Append,
            WriteMode::Overwrite => SaveMode::Overwrite,
        };
        let commit = CommitProperties::default()
            .with_application_transaction(Transaction::new(app_id, version));
        let table = table
            .write(batches)
            .with_save_mode(save_mode)
            .with_table_name(name)
            .with_commit_properties(commit)
            .await?;
        let version = table
            .version()
            .ok_or_else(|| EngineError::Schema("write committed no version".into()))?;
        Ok((WriteOutcome { version, rows }, true))
    }

    /// Upserts `batches` into the table on `keys` as the `version`-th commit of `app_id`:
    /// rows whose keys exist are updated, others inserted; nothing happens if the table
    /// already holds that commit. Creates the table on first use. Returns the version holding
    /// the commit and the (inserted, updated) counts.
    #[allow(clippy::too_many_arguments)] // one argument per aspect of the commit
    pub async fn merge_once(
        &self,
        path: &str,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        batches: Vec<RecordBatch>,
        keys: &[String],
        app_id: &str,
        version: i64,
    ) -> Result<(u64, usize, usize)> {
        use datafusion::prelude::col;
        let table = self.table_handle(path).await?;
        if table.version().is_none() {
            let rows = batches.iter().map(|b| b.num_rows()).sum();
            let (outcome, _) = self
                .write_once(path, name, batches, WriteMode::Append, app_id, version)
                .await?;
            return Ok((outcome.version, rows, 0));
        }
        let state = table.snapshot()?;
        if state
            .transaction_version(table.log_store().as_ref(), app_id)
            .await?
            .is_some_and(|v| v >= version)
        {
            return Ok((table.version().unwrap_or_default(), 0, 0));
        }
        let ctx = SessionContext::new();
        let source = ctx.read_batches(if batches.is_empty() {
            vec![RecordBatch::new_empty(schema.clone())]
        } else {
            batches
        })?;
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
    pub async fn streaming_append(
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

    /// A catalog record of the table at `path` after a write.
    pub async fn table_record(
        &self,
        resource: &ResourceId,
        name: &str,
        path: &str,
        row_count: u64,
    ) -> Result<TableRecord> {
        let table = self.open_table(path).await?;
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

    /// A DataFusion session with the table at `path` registered as `name`. Used by zhongshu's
    /// own maintenance work (sampling for discovery, counts); principals query through the
    /// governed session instead.
    pub async fn internal_session(&self, tables: &[(&str, &str)]) -> Result<SessionContext> {
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
    /// DataFusion (a top-k over a random key, so memory stays at `limit` rows).
    pub async fn sample(&self, path: &str, limit: usize) -> Result<Vec<RecordBatch>> {
        let ctx = self.internal_session(&[("t", path)]).await?;
        let df = ctx
            .sql(&format!("SELECT * FROM t ORDER BY random() LIMIT {limit}"))
            .await?;
        Ok(df.collect().await?)
    }

    /// Number of rows in the table at `path`.
    pub async fn count(&self, path: &str) -> Result<u64> {
        let ctx = self.internal_session(&[("t", path)]).await?;
        Ok(ctx.table("t").await?.count().await? as u64)
    }
}

/// Shared handle.
pub type LakeRef = Arc<Lake>;

/// Parquet file size at which a streaming append rolls to a new file.
const STREAMING_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// An append in progress; see [`Lake::streaming_append`].
pub struct StreamingAppend {
    table: DeltaTable,
    writer: RecordBatchWriter,
    rows: u64,
}

impl std::fmt::Debug for StreamingAppend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingAppend")
            .field("rows", &self.rows)
            .finish()
    }
}

impl StreamingAppend {
    /// Writes one batch (to a Parquet file not yet referenced by the table).
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        // The writer expects the table's own schema object; the columns are the same.
        let batch = RecordBatch::try_new(self.writer.arrow_schema(), batch.columns().to_vec())?;
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).await?;
        Ok(())
    }

    /// Commits every written file as one table version.
    pub async fn commit(mut self) -> Result<WriteOutcome> {
        let version = self.writer.flush_and_commit(&mut self.table).await?;
        Ok(WriteOutcome {
            version,
            rows: self.rows,
        })
    }
}
