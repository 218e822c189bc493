//! A statement's result stream and the audit records that bracket it.
//!
//! Every statement that runs is on record twice: `started` before its first row leaves, and a
//! completion naming it (`completes`) when its stream ends, fails or is dropped. Both records
//! are written in tasks of their own, so that a caller that goes away while one is being
//! written — a client hanging up just then, which drops the door's future — cannot cancel the
//! write half-way (found by `bench/soak.sh`: statements on record as started and never
//! completed). The started record's task also builds the stream: a caller gone by the time
//! it is written drops the stream, whose drop records the completion.

use crate::error::{EngineError, Result};
use crate::governed::is_denial;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::RecordBatchStream;
use futures::{Future, Stream, StreamExt};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use zhongshu_catalog::{AuditOutcome, AuditRecord, CatalogStore, NewAuditRecord};

type AuditFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The error for a statement during whose planning or running the query engine panicked
/// (DataFusion has panicked on some statements, e.g. a grouped top-k with a `LIMIT` near
/// 2^63): the statement is stopped and answered with this error, and the connection, its
/// session and the server go on. Logged with the panic's message.
pub(crate) fn engine_panicked(panic: Box<dyn std::any::Any + Send>) -> DataFusionError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    tracing::error!("a statement was stopped after the query engine panicked: {message}");
    DataFusionError::Execution(format!(
        "the query engine failed on this statement ({message}) and it was stopped; the failure \
         is logged — rewrite the statement (a smaller LIMIT, fewer groups) or report it"
    ))
}

/// A statement's result stream: enforces the timeout and row cap, and writes the audit record
/// before it ends.
pub struct AuditedStream {
    schema: SchemaRef,
    inner: Option<SendableRecordBatchStream>,
    store: Arc<dyn CatalogStore>,
    record: Option<NewAuditRecord>,
    started: Instant,
    rows: u64,
    max_rows: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: std::time::Duration,
    /// The audit write in flight and the item to yield after it.
    pending: Option<(AuditFuture, Option<datafusion::error::Result<RecordBatch>>)>,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for AuditedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditedStream")
            .field("rows", &self.rows)
            .finish()
    }
}

impl AuditedStream {
    /// Ends the statement: drops the plan, starts the audit write, and yields `last` after it.
    fn finish(&mut self, last: Option<datafusion::error::Result<RecordBatch>>) {
        self.inner = None;
        let Some(mut record) = self.record.take() else {
            self.pending = Some((Box::pin(async {}), last));
            return;
        };
        record.rows = self.rows as i64;
        record.duration_ms = self.started.elapsed().as_millis() as i64;
        let last = match last {
            Some(Err(e)) => {
                let e = EngineError::Query(e);
                record.outcome = if is_denial(&e) {
                    AuditOutcome::Denied
                } else {
                    AuditOutcome::Failed
                };
                record.error = Some(e.to_string());
                match e {
                    EngineError::Query(e) => Some(Err(e)),
                    other => Some(Err(DataFusionError::External(Box::new(other)))),
                }
            }
            other => other,
        };
        self.pending = Some((append_detached(self.store.clone(), record), last));
    }
}

impl Stream for AuditedStream {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some((write, _)) = &mut this.pending {
                return match write.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(this.pending.take().and_then(|(_, last)| last)),
                };
            }
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            if this.deadline.as_mut().poll(cx).is_ready() {
                let e = DataFusionError::ResourcesExhausted(format!(
                    "the query ran longer than its limit of {} s and was stopped",
                    this.timeout.as_secs()
                ));
                this.finish(Some(Err(e)));
                continue;
            }
            let polled = std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll_next_unpin(cx)));
            let polled = match polled {
                Ok(polled) => polled,
                Err(panic) => Poll::Ready(Some(Err(engine_panicked(panic)))),
            };
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.finish(None),
                Poll::Ready(Some(Ok(batch))) => {
                    let batch = if batch.schema() == this.schema {
                        batch
                    } else {
                        batch.with_schema(this.schema.clone())?
                    };
                    this.rows += batch.num_rows() as u64;
                    if this.rows > this.max_rows {
                        let e = DataFusionError::ResourcesExhausted(format!(
                            "the result has more than {} rows, the most a query may return; add \
                             a LIMIT or aggregate",
                            this.max_rows
                        ));
                        this.finish(Some(Err(e)));
                        continue;
                    }
                    return Poll::Ready(Some(Ok(batch)));
                }
                Poll::Ready(Some(Err(e))) => this.finish(Some(Err(e))),
            }
        }
    }
}

impl RecordBatchStream for AuditedStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Drop for AuditedStream {
    fn drop(&mut self) {
        // A client that stops reading still leaves its record.
        if let Some(mut record) = self.record.take() {
            record.rows = self.rows as i64;
            record.duration_ms = self.started.elapsed().as_millis() as i64;
            record.outcome = AuditOutcome::Failed;
            record.error = Some("the client stopped reading the result".into());
            drop(append_detached(self.store.clone(), record));
        }
    }
}

/// What a statement's stream is made of, before its started record is written.
pub(crate) struct Statement {
    /// The schema the door described.
    pub schema: SchemaRef,
    /// The running plan.
    pub inner: SendableRecordBatchStream,
    /// The statement's record: what it reads, its masks and filters.
    pub record: NewAuditRecord,
    /// When the statement reached the door.
    pub started: Instant,
    /// The row cap.
    pub max_rows: u64,
    /// The time limit.
    pub timeout: Duration,
    /// The principal's place among its concurrent statements.
    pub permit: OwnedSemaphorePermit,
}

impl AuditedStream {
    /// Writes `statement`'s started record and returns its stream, which writes the
    /// completion. Both happen in a task of its own (see the module documentation).
    pub(crate) async fn begin(
        store: Arc<dyn CatalogStore>,
        statement: Statement,
    ) -> Result<AuditedStream> {
        let begin = async move {
            let mut record = statement.record;
            let begun = store
                .append_audit(&NewAuditRecord {
                    outcome: AuditOutcome::Started,
                    ..record.clone()
                })
                .await?;
            record.completes = Some(begun.seq);
            Ok(AuditedStream {
                schema: statement.schema,
                inner: Some(statement.inner),
                store,
                record: Some(record),
                started: statement.started,
                rows: 0,
                max_rows: statement.max_rows,
                deadline: Box::pin(tokio::time::sleep(statement.timeout)),
                timeout: statement.timeout,
                pending: None,
                _permit: statement.permit,
            })
        };
        tokio::spawn(begin).await.map_err(stopped_task)?
    }
}

/// Appends `record` in a task of its own: written whole even when the caller goes away
/// while it is written.
pub(crate) async fn append_whole(
    store: Arc<dyn CatalogStore>,
    record: NewAuditRecord,
) -> Result<AuditRecord> {
    let task = tokio::spawn(async move { store.append_audit(&record).await });
    Ok(task.await.map_err(stopped_task)??)
}

/// [`append_whole`] for a caller that cannot fail: a failure is logged. Without a runtime
/// (a stream dropped as the process ends) the write is attempted in place.
fn append_detached(store: Arc<dyn CatalogStore>, record: NewAuditRecord) -> AuditFuture {
    let write = async move {
        if let Err(e) = store.append_audit(&record).await {
            tracing::error!("audit append failed: {e}");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let task = runtime.spawn(write);
            Box::pin(async move {
                if let Err(e) = task.await {
                    tracing::error!("audit append stopped: {e}");
                }
            })
        }
        Err(_) => Box::pin(write),
    }
}

/// The error of an audit task that panicked or was cancelled as the runtime shut down.
fn stopped_task(e: tokio::task::JoinError) -> EngineError {
    EngineError::Query(if e.is_panic() {
        engine_panicked(e.into_panic())
    } else {
        DataFusionError::Execution("the server is shutting down".into())
    })
}
