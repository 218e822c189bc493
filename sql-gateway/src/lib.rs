//! The SQL gateway: the doors departments and analysts query through — the PostgreSQL wire
//! protocol ([`pgwire`], for psql, psycopg, DBeaver), Arrow Flight SQL ([`flight`], for ADBC
//! in notebooks) and HTTP ([`http`], `POST /api/v1/sql`).
//!
//! Every door authenticates the principal (SCRAM-SHA-256 against the catalog's verifiers over
//! pgwire, bearer tokens over HTTP and Flight SQL) and then goes through the engine's
//! [`QueryService`](zhongshu_engine::QueryService): the same decision, masks, row filters,
//! limits and audit whatever the door.
#![deny(missing_docs)]

pub mod auth;
pub mod flight;
pub mod http;
pub mod pg_compat;
pub mod pg_socket;
pub mod pgwire;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use std::sync::Arc;
use zhongshu_engine::EngineError;

/// The most a door reads of one request: a statement's text limit
/// ([`MAX_BYTES`](zhongshu_engine::complexity::MAX_BYTES)) and room for its parameters, JSON or
/// protocol framing. Larger requests are refused as they arrive, before they are held whole.
pub const MAX_REQUEST_BYTES: usize = zhongshu_engine::complexity::MAX_BYTES + (1 << 20);

/// Locks `m`, going on after a panic elsewhere: the doors' maps and pending exchanges hold no
/// half-made entries.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `batch` with its text and binary view columns holding only the bytes their rows use.
///
/// A view array may point into buffers shared with the rows a query discarded (the 20 rows of a
/// top-k keep the pages of millions); Arrow IPC writes whole buffers, so without this a small
/// result can exceed a gRPC client's 4 MiB message limit. Doors that send Arrow IPC pass every
/// batch through here; a column is copied only when most of its buffer bytes are unused.
pub fn compact(batch: RecordBatch) -> RecordBatch {
    let mut columns = batch.columns().to_vec();
    let mut changed = false;
    for column in &mut columns {
        let compacted: ArrayRef = match column.data_type() {
            DataType::Utf8View => {
                let a = column.as_string_view();
                if !mostly_unused(a.data_buffers(), a.total_buffer_bytes_used()) {
                    continue;
                }
                Arc::new(a.gc())
            }
            DataType::BinaryView => {
                let a = column.as_binary_view();
                if !mostly_unused(a.data_buffers(), a.total_buffer_bytes_used()) {
                    continue;
                }
                Arc::new(a.gc())
            }
            _ => continue,
        };
        *column = compacted;
        changed = true;
    }
    if !changed {
        return batch;
    }
    RecordBatch::try_new(batch.schema(), columns).unwrap_or(batch)
}

/// Whether more than half of `buffers`' bytes are not referenced (`used` are).
fn mostly_unused(buffers: &[arrow::buffer::Buffer], used: usize) -> bool {
    buffers.iter().map(|b| b.len()).sum::<usize>() > 2 * used
}

/// What a door reports to its client.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No or wrong credentials.
    #[error("authentication failed: {0}")]
    Unauthenticated(String),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] zhongshu_catalog::CatalogError),
}

impl GatewayError {
    /// The SQLSTATE a PostgreSQL client gets for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            GatewayError::Unauthenticated(_) => "28P01",
            GatewayError::BadRequest(_) => "22023",
            GatewayError::Engine(e) => engine_sqlstate(e),
            GatewayError::Catalog(_) => "XX000",
        }
    }
}

/// The SQLSTATE for an engine error, as PostgreSQL would report it: 42501 for a refusal by
/// policy, 53000 for a limit, 42P01 / 42703 / 42883 for a table, column or function the
/// principal cannot see (whether it does not exist or is hidden), 22012 for a division by zero,
/// 42601 for other query errors.
pub fn engine_sqlstate(e: &EngineError) -> &'static str {
    use datafusion::error::DataFusionError;
    if zhongshu_engine::governed::is_denial(e) {
        return "42501";
    }
    let error = match e {
        EngineError::UnknownTable { .. } => return "42P01",
        EngineError::UnknownFunction { .. } => return "42883",
        EngineError::Limit(_) => return "53000",
        EngineError::Query(error) => error,
        _ => return "XX000",
    };
    match error.find_root() {
        DataFusionError::ResourcesExhausted(_) => "53000",
        DataFusionError::SchemaError(..) => "42703",
        DataFusionError::ArrowError(arrow_error, _)
            if matches!(**arrow_error, arrow::error::ArrowError::DivideByZero) =>
        {
            "22012"
        }
        _ => "42601",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringViewArray;
    use arrow::ipc::writer::StreamWriter;

    fn ipc_bytes(batch: &RecordBatch) -> usize {
        let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).unwrap();
        writer.write(batch).unwrap();
        writer.finish().unwrap();
        writer.into_inner().unwrap().len()
    }

    #[test]
    fn a_compacted_batch_carries_only_the_bytes_of_its_rows() {
        let values: Vec<String> = (0..20_000).map(|i| format!("{i:0>100}")).collect();
        let column: ArrayRef = Arc::new(StringViewArray::from_iter_values(&values));
        let batch = RecordBatch::try_from_iter([("s", column)])
            .unwrap()
            .slice(0, 2);
        assert!(
            ipc_bytes(&batch) > 1_000_000,
            "the slice keeps every buffer"
        );
        let compacted = compact(batch.clone());
        assert!(ipc_bytes(&compacted) < 10_000);
        assert_eq!(compacted, batch);
        // A batch using all its bytes is passed through without a copy.
        let whole = RecordBatch::try_from_iter([(
            "s",
            Arc::new(StringViewArray::from_iter_values(&values)) as ArrayRef,
        )])
        .unwrap();
        let kept = compact(whole.clone());
        assert!(kept.column(0).to_data().ptr_eq(&whole.column(0).to_data()));
    }
}
