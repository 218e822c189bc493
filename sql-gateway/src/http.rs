//! `POST /api/v1/sql`: governed SQL over HTTP, for scripts and dashboards.
//!
//! The principal is named by a bearer token (`Authorization: Bearer …`), the purpose by the
//! `x-zhongshu-purpose` header. The statement is the request body — plain text, or JSON
//! `{"sql": "…", "format": "…"}` — and the result comes back as it is produced, in the format
//! asked for by `?format=` (or the JSON field): `json` (default), `csv`, `arrow` (Arrow IPC
//! stream) or `parquet`. A statement that fails before its first row gets an HTTP error with a
//! JSON body `{"error": …, "code": …}`; one that fails later ends its JSON body with an
//! `"error"` member (CSV, Arrow and Parquet bodies end early).

use crate::GatewayError;
use crate::auth::purpose_from_header;
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use datafusion::error::DataFusionError;
use futures::StreamExt;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use zhongshu_engine::{AuditedStream, ClientInfo, Core, QueryService};
use zhongshu_web::{ApiError, Authenticated};

/// The header declaring a session's purpose (HTTP and Flight SQL).
pub const PURPOSE_HEADER: &str = "x-zhongshu-purpose";

/// The routes of the HTTP door, to merge into the server's router.
pub fn router(core: Core) -> Router {
    Router::new()
        .route(
            "/api/v1/sql",
            post(sql).layer(DefaultBodyLimit::max(crate::MAX_REQUEST_BYTES)),
        )
        .with_state(core)
}

#[derive(Debug, Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SqlBody {
    sql: String,
    format: Option<String>,
}

/// The result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Arrow,
    Parquet,
}

impl Format {
    fn parse(text: &str) -> Result<Format, GatewayError> {
        match text {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "arrow" => Ok(Format::Arrow),
            "parquet" => Ok(Format::Parquet),
            other => Err(GatewayError::BadRequest(format!(
                "format `{other}`: use json, csv, arrow or parquet"
            ))),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Arrow => "application/vnd.apache.arrow.stream",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

async fn sql(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    extensions: axum::http::Extensions,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let addr = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into());
    Ok(run(core.query(), principal, addr, query, headers, body).await?)
}

async fn run(
    service: &Arc<QueryService>,
    principal: zhongshu_catalog::Principal,
    addr: String,
    query: FormatQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GatewayError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = std::str::from_utf8(&body)
        .map_err(|_| GatewayError::BadRequest("the body is not UTF-8".into()))?;
    let (statement, body_format) = if is_json {
        let b: SqlBody = serde_json::from_str(text)
            .map_err(|e| GatewayError::BadRequest(format!("body: {e}")))?;
        (b.sql, b.format)
    } else {
        (text.to_owned(), None)
    };
    if statement.trim().is_empty() {
        return Err(GatewayError::BadRequest("send a SQL statement".into()));
    }
    let format = Format::parse(
        query
            .format
            .as_deref()
            .or(body_format.as_deref())
            .unwrap_or("json"),
    )?;
    let purpose = headers
        .get(PURPOSE_HEADER)
        .and_then(|v| purpose_from_header(v.as_bytes()));
    let session = service
        .open(
            principal,
            purpose,
            ClientInfo {
                address: addr,
                protocol: "http",
                download: format != Format::Json,
            },
        )
        .await?;
    let stream = session.execute(&statement).await?;
    let body = encode(stream, format);
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from_stream(body),
    )
        .into_response())
}

type Chunk = Result<Bytes, std::io::Error>;

/// Encodes a result stream in `format`, one chunk per batch.
fn encode(stream: AuditedStream, format: Format) -> futures::stream::BoxStream<'static, Chunk> {
    let schema = datafusion::physical_plan::RecordBatchStream::schema(&stream);
    let state = Encoder::new(schema, format);
    futures::stream::unfold((Some(stream), Some(state)), |(stream, state)| async move {
        let (mut stream, mut encoder) = (stream?, state?);
        match stream.next().await {
            Some(Ok(batch)) => {
                let chunk = encoder.batch(&batch);
                Some((chunk, (Some(stream), Some(encoder))))
            }
            Some(Err(e)) => {
                let chunk = encoder.error(&e.to_string());
                Some((chunk, (None, None)))
            }
            None => {
                let chunk = encoder.finish();
                Some((chunk, (None, None)))
            }
        }
    })
    .boxed()
}

/// Incremental encoding of batches into one of the formats.
enum Encoder {
    Json {
        schema: SchemaRef,
        started: bool,
        rows: u64,
    },
    Csv {
        schema: SchemaRef,
        header: bool,
    },
    Arrow(Box<arrow::ipc::writer::StreamWriter<Vec<u8>>>),
    Parquet(Box<parquet::arrow::ArrowWriter<Vec<u8>>>),
    Failed(String),
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Encoder {
    fn new(schema: SchemaRef, format: Format) -> Encoder {
        match format {
            Format::Json => Encoder::Json {
                schema,
                started: false,
                rows: 0,
            },
            Format::Csv => Encoder::Csv {
                schema,
                header: true,
            },
            Format::Arrow => match arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &schema) {
                Ok(w) => Encoder::Arrow(Box::new(w)),
                Err(e) => Encoder::Failed(e.to_string()),
            },
            Format::Parquet => match parquet::arrow::ArrowWriter::try_new(Vec::new(), schema, None)
            {
                Ok(w) => Encoder::Parquet(Box::new(w)),
                Err(e) => Encoder::Failed(e.to_string()),
            },
        }
    }

    fn json_head(schema: &SchemaRef) -> String {
        let columns: Vec<serde_json::Value> = schema
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string()}))
            .collect();
        format!(
            "{{\"columns\":{},\"rows\":[",
            serde_json::Value::Array(columns)
        )
    }

    fn batch(&mut self, batch: &RecordBatch) -> Chunk {
        match self {
            Encoder::Json {
                schema,
                started,
                rows,
            } => {
                let mut out = String::new();
                if !*started {
                    out.push_str(&Self::json_head(schema));
                    *started = true;
                }
                let options = FormatOptions::default();
                let formatters = batch
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(io_error)?;
                for row in 0..batch.num_rows() {
                    if *rows > 0 {
                        out.push(',');
                    }
                    *rows += 1;
                    let values: Vec<serde_json::Value> = batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(column, f)| json_value(column.as_ref(), f, row))
                        .collect();
                    out.push_str(&serde_json::Value::Array(values).to_string());
                }
                Ok(Bytes::from(out))
            }
            Encoder::Csv { header, .. } => {
                let mut buf = Vec::new();
                {
                    let mut w = arrow::csv::WriterBuilder::new()
                        .with_header(*header)
                        .build(&mut buf);
                    w.write(batch).map_err(io_error)?;
                }
                *header = false;
                Ok(Bytes::from(buf))
            }
            Encoder::Arrow(w) => {
                w.write(&crate::compact(batch.clone())).map_err(io_error)?;
                Ok(Bytes::from(std::mem::take(w.get_mut())))
            }
            Encoder::Parquet(w) => {
                w.write(batch).map_err(io_error)?;
                w.flush().map_err(io_error)?;
                Ok(Bytes::from(std::mem::take(w.inner_mut())))
            }
            Encoder::Failed(e) => Err(io_error(e)),
        }
    }

    fn finish(&mut self) -> Chunk {
        match self {
            Encoder::Json { .. } => self.json_tail(None),
            Encoder::Csv { schema, header } => {
                // An empty result still gets its header line.
                let line = if *header {
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    let mut w = csv::Writer::from_writer(Vec::new());
                    w.write_record(&names).map_err(io_error)?;
                    w.into_inner().map_err(io_error)?
                } else {
                    Vec::new()
                };
                Ok(Bytes::from(line))
            }
            Encoder::Arrow(w) => {
                w.finish().map_err(io_error)?;
                Ok(Bytes::from(std::mem::take(w.get_mut())))
            }
            Encoder::Parquet(w) => {
                w.finish().map_err(io_error)?;
                Ok(Bytes::from(std::mem::take(w.inner_mut())))
            }
            Encoder::Failed(e) => Err(io_error(e)),
        }
    }

    fn error(&mut self, message: &str) -> Chunk {
        match self {
            Encoder::Json { .. } => self.json_tail(Some(message)),
            _ => Err(io_error(message)),
        }
    }

    /// The end of a JSON body (its head too, when no batch came): the row count, and the
    /// error that ended it early, if any.
    fn json_tail(&self, error: Option<&str>) -> Chunk {
        let Encoder::Json {
            schema,
            started,
            rows,
        } = self
        else {
            return Ok(Bytes::new());
        };
        let head = if *started {
            String::new()
        } else {
            Self::json_head(schema)
        };
        let error = error
            .map(|m| format!(",\"error\":{}", serde_json::Value::String(m.to_owned())))
            .unwrap_or_default();
        Ok(Bytes::from(format!(
            "{head}],\"row_count\":{rows}{error}}}"
        )))
    }
}

fn json_value(column: &dyn Array, f: &ArrayFormatter<'_>, row: usize) -> serde_json::Value {
    if column.is_null(row) {
        return serde_json::Value::Null;
    }
    let text = f.value(row).to_string();
    let dt = column.data_type();
    if dt.is_numeric() || dt == &arrow::datatypes::DataType::Boolean {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    } else {
        serde_json::Value::String(text)
    }
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        let sqlstate = e.sqlstate();
        let message = e.to_string();
        let error = match &e {
            GatewayError::Unauthenticated(_) => return ApiError::unauthenticated(),
            GatewayError::BadRequest(_) => ApiError::bad_request(message),
            GatewayError::Engine(e) if zhongshu_engine::governed::is_denial(e) => {
                ApiError::forbidden(message)
            }
            GatewayError::Engine(zhongshu_engine::EngineError::Limit(_)) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit", message)
            }
            GatewayError::Engine(zhongshu_engine::EngineError::Query(q))
                if matches!(q.find_root(), DataFusionError::ResourcesExhausted(_)) =>
            {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit", message)
            }
            GatewayError::Engine(
                zhongshu_engine::EngineError::Query(_)
                | zhongshu_engine::EngineError::UnknownTable { .. }
                | zhongshu_engine::EngineError::UnknownFunction { .. },
            ) => ApiError::new(StatusCode::BAD_REQUEST, "query", message),
            _ => ApiError::internal(&e),
        };
        error.with_sqlstate(sqlstate)
    }
}
