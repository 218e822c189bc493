//! An HTTP JSON API, page by page.
//!
//! An API is not repeatable — the next request may answer differently — so planning fetches
//! every page and spools the records, one JSON object per line, under
//! `DATA_DIR/ingest/spool/JOB/`; the spool file (with its SHA-256) is the run's input. A
//! resumed run reads the same spool; the spool stays as the evidence of what was delivered.
//! With a `watermark` field, the largest value landed is sent back in `since_param`.
//!
//! Page and offset pagination end on an empty page, never on a short one: an API may cap its
//! page size below the one asked for (ask for 500, get 100 a page), and stopping at the first
//! short page would drop every later page without an error. For the same reason offset
//! pagination moves on by the records actually received, not by the limit asked for. Where the
//! response declares its total count (a dotted path, like `records`), the pages end as soon as
//! that many records have come; an empty page still ends them, short of the total or not.
//! `next` pagination ends when the response names no next page.
//!
//! Server errors, 429 Too Many Requests and broken connections are retried, [`ATTEMPTS`] tries
//! in all, after the pause the response's `Retry-After` asks for (in seconds, at most
//! [`MAX_RETRY_AFTER`]) or else a growing one.

use super::{PlanContext, Source, SourceColumn, sha256_file, watermark_input};
use crate::error::{InputError, RunError};
use crate::lander::Lander;
use crate::spec::{Pagination, expand_env};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;
use zhongshu_catalog::RunInput;

/// See the module documentation.
pub struct HttpSource {
    pub url: String,
    pub records: String,
    pub pagination: Pagination,
    pub headers: BTreeMap<String, String>,
    pub watermark: Option<String>,
    pub since_param: String,
}

/// Pages fetched before the source is considered runaway.
const MAX_PAGES: usize = 100_000;

/// Tries of one request: the first and three retries.
const ATTEMPTS: u32 = 4;

/// The longest pause a `Retry-After` header is granted.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

fn http_error(url: &url::Url, what: impl std::fmt::Display) -> RunError {
    InputError::new(format!("GET {url}"), what).into()
}

/// `url` with query parameter `key` set to `value` (replacing an existing one).
fn with_param(url: &url::Url, key: &str, value: &str) -> url::Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(key, value);
    out
}

/// The value at a dotted path (`data.items`); the whole document for an empty path.
fn at_path<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, key| v.get(key))
}

fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The record count a response declares at the dotted `path`: `None` when it is absent or
/// null; an error, naming the path, when it is not a count.
fn declared_total(body: &serde_json::Value, path: &str) -> Result<Option<u64>, String> {
    match at_path(body, path) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .map(Some)
            .ok_or_else(|| {
                format!("the total at `{path}` in the response is not a record count: {value}")
            }),
    }
}

/// The pause a `Retry-After` header asks for, in its seconds form, at most
/// [`MAX_RETRY_AFTER`]; `None` without the header or in its HTTP-date form.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Orders watermark values: numerically when both are numbers, else as text (ISO dates and
/// times order correctly as text).
fn later(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

impl HttpSource {
    fn watermark_name(&self, field: &str) -> String {
        format!("watermark {field} of {}", self.url)
    }

    /// The dotted path to the total record count the responses declare, if the job names one.
    fn total_path(&self) -> Option<&str> {
        match &self.pagination {
            Pagination::Page { total, .. } | Pagination::Offset { total, .. } => total.as_deref(),
            Pagination::None | Pagination::Next { .. } => None,
        }
    }

    /// GETs `url` as JSON. Server errors, 429 Too Many Requests and broken connections are
    /// tried again, up to [`ATTEMPTS`] tries in all, after the pause a `Retry-After` header
    /// asks for or else a growing one; any other failure ends at once.
    async fn get(
        &self,
        client: &reqwest::Client,
        headers: &[(String, String)],
        url: &url::Url,
    ) -> Result<serde_json::Value, RunError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = client.get(url.clone());
            for (k, v) in headers {
                request = request.header(k, v);
            }
            let (failure, asked) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let bytes = response.bytes().await.map_err(|e| http_error(url, e))?;
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| http_error(url, format!("not JSON: {e}")));
                }
                Ok(response)
                    if response.status().is_server_error()
                        || response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS =>
                {
                    (
                        response.status().to_string(),
                        retry_after(response.headers()),
                    )
                }
                Ok(response) => return Err(http_error(url, response.status())),
                Err(e) => (e.to_string(), None),
            };
            if attempt >= ATTEMPTS {
                return Err(http_error(
                    url,
                    format!("{failure} (gave up after {attempt} tries)"),
                ));
            }
            let pause = asked.unwrap_or_else(|| Duration::from_millis(250 * (1 << attempt)));
            tracing::warn!(%url, attempt, error = %failure, ?pause, "HTTP source: trying again");
            tokio::time::sleep(pause).await;
        }
    }

    /// Fetches every page into `spool`; returns (records, largest watermark). `total` is the
    /// dotted path to the record count the responses declare, for page and offset pagination.
    async fn fetch(
        &self,
        since: Option<&str>,
        spool: &Path,
        total: Option<&str>,
    ) -> Result<(u64, Option<String>), RunError> {
        let url_error = |e: &dyn std::fmt::Display| {
            RunError::from(InputError::new(format!("source url `{}`", self.url), e))
        };
        let base = url::Url::parse(&expand_env(&self.url).map_err(|e| url_error(&e))?)
            .map_err(|e| url_error(&e))?;
        let base = match since {
            Some(since) => with_param(&base, &self.since_param, since),
            None => base,
        };
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), expand_env(v)?)))
            .collect::<Result<_, String>>()
            .map_err(|e| RunError::from(InputError::new("source headers", e)))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| RunError::Internal(format!("HTTP client: {e}")))?;
        if let Some(dir) = spool.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| RunError::Internal(format!("{}: {e}", dir.display())))?;
        }
        let spool_err = |e: std::io::Error| RunError::Internal(format!("{}: {e}", spool.display()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(spool).map_err(spool_err)?);
        let mut records = 0u64;
        let mut watermark: Option<String> = None;
        let mut url = match &self.pagination {
            Pagination::Page {
                param,
                size_param,
                size,
                start,
                ..
            } => with_param(
                &with_param(&base, param, &start.to_string()),
                size_param,
                &size.to_string(),
            ),
            Pagination::Offset {
                param,
                limit_param,
                limit,
                ..
            } => with_param(
                &with_param(&base, param, "0"),
                limit_param,
                &limit.to_string(),
            ),
            Pagination::None | Pagination::Next { .. } => base.clone(),
        };
        for page in 0.. {
            if page >= MAX_PAGES {
                return Err(http_error(&url, format!("more than {MAX_PAGES} pages")));
            }
            let body = self.get(&client, &headers, &url).await?;
            let items = at_path(&body, &self.records)
                .and_then(|v| v.as_array())
                .ok_or_else(|| {
                    http_error(
                        &url,
                        format!("no array of records at `{}` in the response", self.records),
                    )
                })?;
            for item in items {
                if let (Some(field), Some(object)) = (&self.watermark, item.as_object())
                    && let Some(value) = object.get(field).and_then(scalar_text)
                    && watermark.as_deref().is_none_or(|w| later(&value, w))
                {
                    watermark = Some(value);
                }
                serde_json::to_writer(&mut out, item)
                    .map_err(|e| spool_err(std::io::Error::other(e)))?;
                out.write_all(b"\n").map_err(spool_err)?;
            }
            records += items.len() as u64;
            // Page and offset pagination: a short page is no end (the API may cap the page
            // size below the one asked for); an empty page or the declared total is.
            let declared = match total {
                Some(path) => declared_total(&body, path).map_err(|e| http_error(&url, e))?,
                None => None,
            };
            if items.is_empty()
                && let Some(declared) = declared
                && records < declared
            {
                tracing::warn!(
                    %url,
                    declared,
                    records,
                    "HTTP source: the pages ended short of the declared total"
                );
            }
            let last = items.is_empty() || declared.is_some_and(|d| records >= d);
            let next = match &self.pagination {
                Pagination::None => None,
                Pagination::Page { param, start, .. } => (!last)
                    .then(|| with_param(&url, param, &(*start as usize + page + 1).to_string())),
                // The offset started at 0, so the records received so far are the next one.
                Pagination::Offset { param, .. } => {
                    (!last).then(|| with_param(&url, param, &records.to_string()))
                }
                Pagination::Next {
                    field,
                    cursor_param,
                } => match at_path(&body, field).and_then(scalar_text) {
                    None => None,
                    Some(next) => Some(match cursor_param {
                        Some(param) => with_param(&base, param, &next),
                        None => url
                            .join(&next)
                            .map_err(|e| http_error(&url, format!("next page `{next}`: {e}")))?,
                    }),
                },
            };
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        out.flush().map_err(spool_err)?;
        Ok((records, watermark))
    }
}

#[async_trait::async_trait]
impl Source for HttpSource {
    async fn plan(&self, cx: &PlanContext<'_>) -> Result<Vec<RunInput>, RunError> {
        let spool = cx
            .data_dir
            .join("ingest/spool")
            .join(cx.job.as_str())
            .join(format!("run-{:06}.jsonl", cx.run));
        let name = self.watermark.as_deref().map(|f| self.watermark_name(f));
        let since = name.as_deref().and_then(|n| cx.last_landed(n));
        let (records, watermark) = self.fetch(since, &spool, self.total_path()).await?;
        if records == 0 {
            let _ = std::fs::remove_file(&spool);
            return Ok(Vec::new());
        }
        let (size, checksum) = sha256_file(&spool)?;
        let mut inputs = vec![RunInput {
            kind: "http".into(),
            name: spool.display().to_string(),
            size,
            checksum,
            rows: 0,
        }];
        if let (Some(name), Some(watermark)) = (name, watermark) {
            inputs.push(watermark_input(&name, &watermark));
        }
        Ok(inputs)
    }

    async fn verify(&self, inputs: &[RunInput]) -> Result<(), RunError> {
        for input in inputs.iter().filter(|i| i.kind == "http") {
            let (_, checksum) = sha256_file(Path::new(&input.name))?;
            if checksum != input.checksum {
                return Err(InputError::new(
                    &input.name,
                    "the spooled pages changed since the interrupted run",
                )
                .rule("ledger")
                .into());
            }
        }
        Ok(())
    }

    async fn columns(&self, input: &RunInput) -> Result<Vec<SourceColumn>, RunError> {
        if input.kind != "http" {
            return Ok(Vec::new());
        }
        let file = std::fs::File::open(&input.name)
            .map_err(|e| RunError::from(InputError::new(&input.name, e)))?;
        let mut first = String::new();
        std::io::BufReader::new(file)
            .read_line(&mut first)
            .map_err(|e| RunError::from(InputError::new(&input.name, e)))?;
        Ok(match serde_json::from_str::<serde_json::Value>(&first) {
            Ok(serde_json::Value::Object(o)) => o.keys().map(SourceColumn::text).collect(),
            _ => Vec::new(),
        })
    }

    async fn read(&self, input: &RunInput, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        if input.kind != "http" {
            return Ok(0);
        }
        let file = std::fs::File::open(&input.name)
            .map_err(|e| RunError::from(InputError::new(&input.name, e)))?;
        let mut rows = 0u64;
        let mut begun = false;
        for text in std::io::BufReader::new(file).lines() {
            let text = text.map_err(|e| RunError::from(InputError::new(&input.name, e)))?;
            rows += 1;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(object)) => {
                    if !begun {
                        lander.begin(&self.url, &object.keys().cloned().collect::<Vec<_>>())?;
                        begun = true;
                    }
                    lander.object(rows, &text, &object).await?;
                }
                _ => lander.reject(rows, &text, "json", "record is not a JSON object".into()),
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{Query, State};
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::{Json, Router};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// A department's API over records `{"id": 0}`, `{"id": 1}`, …, that serves at most `cap`
    /// of them a page whatever page size or limit it is asked for, and records its requests.
    struct Api {
        records: usize,
        cap: usize,
        /// Declared at `data.total` (null when unset).
        total: Option<usize>,
        /// Requests still to answer with 429 Too Many Requests and `Retry-After`.
        throttled: AtomicUsize,
        retry_after: &'static str,
        requests: Mutex<Vec<HashMap<String, String>>>,
    }

    impl Api {
        fn capped(records: usize, cap: usize) -> Self {
            Api {
                records,
                cap,
                total: None,
                throttled: AtomicUsize::new(0),
                retry_after: "1",
                requests: Mutex::new(Vec::new()),
            }
        }

        /// Query parameter `key` of each request so far, in order.
        fn asked(&self, key: &str) -> Vec<String> {
            self.requests
                .lock()
                .unwrap()
                .iter()
                .map(|query| query.get(key).cloned().unwrap_or_default())
                .collect()
        }
    }

    async fn items(
        State(api): State<Arc<Api>>,
        Query(query): Query<HashMap<String, String>>,
    ) -> Response {
        api.requests.lock().unwrap().push(query.clone());
        let throttle = api
            .throttled
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if throttle.is_ok() {
            let pause = [(header::RETRY_AFTER, api.retry_after)];
            return (StatusCode::TOO_MANY_REQUESTS, pause, "slow down").into_response();
        }
        let number = |key: &str| query.get(key).and_then(|v| v.parse::<usize>().ok());
        let size = number("page_size")
            .or_else(|| number("limit"))
            .unwrap_or(api.cap)
            .min(api.cap);
        let first = match (number("page"), number("offset")) {
            (Some(page), _) => page.saturating_sub(1) * size,
            (None, Some(offset)) => offset,
            (None, None) => 0,
        };
        let items: Vec<serde_json::Value> = (first..api.records.min(first + size))
            .map(|id| serde_json::json!({ "id": id }))
            .collect();
        Json(serde_json::json!({ "data": { "items": items, "total": api.total } })).into_response()
    }

    /// Serves `api` on a free local port; returns it with its records' URL.
    async fn serve(api: Api) -> (Arc<Api>, String) {
        let api = Arc::new(api);
        let app = Router::new()
            .route("/items", get(items))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/items", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (api, url)
    }

    /// A source for `url` with `pagination` written as in a job (`style = 'page'`, …).
    fn source_at(url: &str, pagination: &str) -> HttpSource {
        HttpSource {
            url: url.into(),
            records: "data.items".into(),
            pagination: toml::from_str(pagination).unwrap(),
            headers: BTreeMap::new(),
            watermark: None,
            since_param: "since".into(),
        }
    }

    /// The ids of the spooled records, in order.
    fn spooled(spool: &Path) -> Vec<u64> {
        std::fs::read_to_string(spool)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .map(|record| record["id"].as_u64().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn page_pagination_reads_on_past_a_page_size_the_api_caps() {
        let (api, url) = serve(Api::capped(8, 3)).await;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("run.jsonl");
        let source = source_at(&url, "style = 'page'\nsize = 10");
        let (records, _) = source.fetch(None, &spool, None).await.unwrap();
        assert_eq!(records, 8);
        assert_eq!(spooled(&spool), (0..8).collect::<Vec<_>>());
        // Three short pages, then the empty one that ends them.
        assert_eq!(api.asked("page"), ["1", "2", "3", "4"]);
        assert_eq!(api.asked("page_size"), ["10", "10", "10", "10"]);
    }

    #[tokio::test]
    async fn offset_pagination_moves_on_by_the_records_received() {
        let (api, url) = serve(Api::capped(8, 3)).await;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("run.jsonl");
        let source = source_at(&url, "style = 'offset'\nlimit = 10");
        let (records, _) = source.fetch(None, &spool, None).await.unwrap();
        assert_eq!(records, 8);
        assert_eq!(spooled(&spool), (0..8).collect::<Vec<_>>());
        assert_eq!(api.asked("offset"), ["0", "3", "6", "8"]);
        assert_eq!(api.asked("limit"), ["10", "10", "10", "10"]);
    }

    #[tokio::test]
    async fn a_declared_total_ends_the_pages_without_asking_for_an_empty_one() {
        for (pagination, key, asked) in [
            ("style = 'page'\nsize = 10", "page", ["1", "2", "3"]),
            ("style = 'offset'\nlimit = 10", "offset", ["0", "3", "6"]),
        ] {
            let (api, url) = serve(Api {
                total: Some(8),
                ..Api::capped(8, 3)
            })
            .await;
            let dir = tempfile::tempdir().unwrap();
            let spool = dir.path().join("run.jsonl");
            let source = source_at(&url, pagination);
            let (records, _) = source
                .fetch(None, &spool, Some("data.total"))
                .await
                .unwrap();
            assert_eq!(records, 8, "{pagination}");
            assert_eq!(spooled(&spool), (0..8).collect::<Vec<_>>(), "{pagination}");
            assert_eq!(api.asked(key), asked, "{pagination}");
        }
    }

    #[test]
    fn the_job_names_the_declared_total() {
        let source = source_at(
            "http://127.0.0.1:1/items",
            "style = 'offset'\ntotal = 'data.total'",
        );
        assert_eq!(source.total_path(), Some("data.total"));
        assert_eq!(
            source_at("http://127.0.0.1:1/items", "style = 'page'").total_path(),
            None
        );
    }

    #[tokio::test]
    async fn an_empty_page_ends_the_pages_short_of_the_declared_total() {
        let (api, url) = serve(Api {
            total: Some(10),
            ..Api::capped(8, 3)
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("run.jsonl");
        let source = source_at(&url, "style = 'page'\nsize = 10");
        let (records, _) = source
            .fetch(None, &spool, Some("data.total"))
            .await
            .unwrap();
        assert_eq!(records, 8);
        assert_eq!(api.asked("page"), ["1", "2", "3", "4"]);
    }

    #[test]
    fn a_declared_total_is_a_count_or_absent() {
        let body = serde_json::json!({ "n": 8, "s": "8", "null": null, "word": "many" });
        assert_eq!(declared_total(&body, "n"), Ok(Some(8)));
        assert_eq!(declared_total(&body, "s"), Ok(Some(8)));
        assert_eq!(declared_total(&body, "null"), Ok(None));
        assert_eq!(declared_total(&body, "meta.total"), Ok(None));
        let err = declared_total(&body, "word").unwrap_err();
        assert!(
            err.contains("`word`") && err.contains("not a record count"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn too_many_requests_is_tried_again_after_the_pause_it_asks_for() {
        let (api, url) = serve(Api {
            throttled: AtomicUsize::new(1),
            ..Api::capped(8, 3)
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("run.jsonl");
        let source = source_at(&url, "style = 'page'\nsize = 3");
        let started = std::time::Instant::now();
        let (records, _) = source.fetch(None, &spool, None).await.unwrap();
        assert_eq!(records, 8);
        assert_eq!(spooled(&spool), (0..8).collect::<Vec<_>>());
        assert_eq!(api.asked("page"), ["1", "1", "2", "3", "4"]);
        // `Retry-After: 1` is longer than the first growing pause (0.5 s).
        assert!(started.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn too_many_requests_gives_up_after_the_bounded_tries() {
        let (api, url) = serve(Api {
            throttled: AtomicUsize::new(usize::MAX),
            retry_after: "0",
            ..Api::capped(8, 3)
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("run.jsonl");
        let source = source_at(&url, "style = 'page'\nsize = 3");
        let err = source
            .fetch(None, &spool, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("429 Too Many Requests"), "{err}");
        assert!(err.contains("/items"), "{err}");
        assert_eq!(api.asked("page").len(), ATTEMPTS as usize);
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let asked = |value: &'static str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::RETRY_AFTER,
                reqwest::header::HeaderValue::from_static(value),
            );
            retry_after(&headers)
        };
        assert_eq!(asked("2"), Some(Duration::from_secs(2)));
        assert_eq!(asked(" 0 "), Some(Duration::ZERO));
        assert_eq!(asked("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(asked("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }
}
