//! The access audit log as sessions read it (`audit.queries`): the catalog's records turned
//! into Arrow once and kept, so that each statement converts only the records appended since
//! the last one (the log only grows: records are never changed, and completions are records of
//! their own). Before, every statement read and converted the whole log, and an audit page
//! that runs two statements paid for it twice.

use crate::error::Result;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::MemTable;
use std::sync::Arc;
use zhongshu_catalog::{AuditRecord, CatalogStore};

/// How many batches the kept log may be in before they are joined into one.
const MAX_BATCHES: usize = 32;
/// Records read from the catalog at a time.
const READ: i64 = 10_000;

/// The audit log of one catalog, shared by every session of a query service.
pub struct AuditLog {
    store: Arc<dyn CatalogStore>,
    schema: SchemaRef,
    kept: tokio::sync::Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The last record converted.
    seq: i64,
    batches: Vec<RecordBatch>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish()
    }
}

fn schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::Int64, false),
        text("at", false),
        text("principal", false),
        text("purpose", true),
        text("client", false),
        text("protocol", false),
        text("sql_text", false),
        text("table_names", false),
        text("column_names", false),
        text("masks_applied", false),
        text("filters_applied", false),
        Field::new("rows_returned", DataType::Int64, false),
        Field::new("duration_ms", DataType::Int64, false),
        text("outcome", false),
        text("error", true),
        text("prev_hash", false),
        text("hash", false),
        Field::new("completes", DataType::Int64, true),
    ]))
}

fn batch(schema: &SchemaRef, records: &[AuditRecord]) -> Result<RecordBatch> {
    let join = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
    let strings = |f: &dyn Fn(&AuditRecord) -> Option<String>| -> ArrayRef {
        Arc::new(records.iter().map(f).collect::<StringArray>())
    };
    let longs = |f: &dyn Fn(&AuditRecord) -> Option<i64>| -> ArrayRef {
        Arc::new(records.iter().map(f).collect::<Int64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        longs(&|r| Some(r.seq)),
        strings(&|r| Some(r.at.clone())),
        strings(&|r| Some(r.record.principal.clone())),
        strings(&|r| r.record.purpose.clone()),
        strings(&|r| Some(r.record.client.clone())),
        strings(&|r| Some(r.record.protocol.clone())),
        strings(&|r| Some(r.record.sql.clone())),
        strings(&|r| Some(join(&r.record.tables))),
        strings(&|r| Some(join(&r.record.columns))),
        strings(&|r| Some(join(&r.record.masks))),
        strings(&|r| Some(join(&r.record.filters))),
        longs(&|r| Some(r.record.rows)),
        longs(&|r| Some(r.record.duration_ms)),
        strings(&|r| Some(r.record.outcome.as_code().to_owned())),
        strings(&|r| r.record.error.clone()),
        strings(&|r| Some(r.prev_hash.clone())),
        strings(&|r| Some(r.hash.clone())),
        longs(&|r| r.record.completes),
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

impl AuditLog {
    /// The log of `store`.
    pub fn new(store: Arc<dyn CatalogStore>) -> Arc<Self> {
        Arc::new(AuditLog {
            store,
            schema: schema(),
            kept: tokio::sync::Mutex::new(Kept::default()),
        })
    }

    /// The whole log as it is now, as a table.
    pub async fn table(&self) -> Result<MemTable> {
        let mut kept = self.kept.lock().await;
        loop {
            let records = self.store.audit_records(kept.seq, READ).await?;
            let Some(last) = records.last() else { break };
            kept.seq = last.seq;
            let new = batch(&self.schema, &records)?;
            kept.batches.push(new);
        }
        if kept.batches.len() > MAX_BATCHES {
            let joined = concat_batches(&self.schema, &kept.batches)?;
            kept.batches = vec![joined];
        }
        let batches = if kept.batches.is_empty() {
            vec![RecordBatch::new_empty(self.schema.clone())]
        } else {
            kept.batches.clone()
        };
        Ok(MemTable::try_new(self.schema.clone(), vec![batches])?)
    }
}
