//! An HTTP JSON API, page by page.
//!
//! An API is not repeatable — the next request may answer differently — so planning fetches
//! every page and spools the records, one JSON object per line, under
//! `DATA_DIR/ingest/spool/JOB/`; the spool file (with its SHA-256) is the run's input. A
//! resumed run reads the same spool; the spool stays as the evidence of what was delivered.
//! With a `watermark` field, the largest value landed is sent back in `since_param`.

use super::{PlanContext, Source, SourceColumn, sha256_file, watermark_input};
use crate::lander::Lander;
use crate::run::RunError;
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

fn http_error(url: &url::Url, what: impl std::fmt::Display) -> RunError {
    RunError::Input(format!("GET {url}: {what}"))
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
            let outcome = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let bytes = response.bytes().await.map_err(|e| http_error(url, e))?;
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| http_error(url, format!("not JSON: {e}")));
                }
                Ok(response) if response.status().is_server_error() => {
                    http_error(url, response.status())
                }
                Ok(response) => return Err(http_error(url, response.status())),
                Err(e) => http_error(url, e),
            };
            // Server errors and broken connections are retried with a growing pause.
            if attempt >= 4 {
                return Err(outcome);
            }
            tokio::time::sleep(Duration::from_millis(250 * (1 << attempt))).await;
        }
    }

    /// Fetches every page into `spool`; returns (records, largest watermark).
    async fn fetch(
        &self,
        since: Option<&str>,
        spool: &Path,
    ) -> Result<(u64, Option<String>), RunError> {
        let base = url::Url::parse(&expand_env(&self.url).map_err(RunError::Input)?)
            .map_err(|e| RunError::Input(format!("source url `{}`: {e}", self.url)))?;
        let base = match since {
            Some(since) => with_param(&base, &self.since_param, since),
            None => base,
        };
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), expand_env(v)?)))
            .collect::<Result<_, String>>()
            .map_err(RunError::Input)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| RunError::Input(format!("HTTP client: {e}")))?;
        if let Some(dir) = spool.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| RunError::Input(format!("{}: {e}", dir.display())))?;
        }
        let spool_err = |e: std::io::Error| RunError::Input(format!("{}: {e}", spool.display()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(spool).map_err(spool_err)?);
        let mut records = 0u64;
        let mut watermark: Option<String> = None;
        let mut url = match &self.pagination {
            Pagination::Page {
                param,
                size_param,
                size,
                start,
            } => with_param(
                &with_param(&base, param, &start.to_string()),
                size_param,
                &size.to_string(),
            ),
            Pagination::Offset {
                param,
                limit_param,
                limit,
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
            let next = match &self.pagination {
                Pagination::None => None,
                Pagination::Page {
                    param, size, start, ..
                } => (items.len() as u32 >= *size && !items.is_empty())
                    .then(|| with_param(&url, param, &(*start as usize + page + 1).to_string())),
                Pagination::Offset { param, limit, .. } => (items.len() as u32 >= *limit
                    && !items.is_empty())
                .then(|| with_param(&url, param, &records.to_string())),
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
        let (records, watermark) = self.fetch(since, &spool).await?;
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
                return Err(RunError::Input(format!(
                    "{}: the spooled pages changed since the interrupted run",
                    input.name
                )));
            }
        }
        Ok(())
    }

    async fn columns(&self, input: &RunInput) -> Result<Vec<SourceColumn>, RunError> {
        if input.kind != "http" {
            return Ok(Vec::new());
        }
        let file = std::fs::File::open(&input.name)
            .map_err(|e| RunError::Input(format!("{}: {e}", input.name)))?;
        let mut first = String::new();
        std::io::BufReader::new(file)
            .read_line(&mut first)
            .map_err(|e| RunError::Input(format!("{}: {e}", input.name)))?;
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
            .map_err(|e| RunError::Input(format!("{}: {e}", input.name)))?;
        let mut rows = 0u64;
        let mut begun = false;
        for text in std::io::BufReader::new(file).lines() {
            let text = text.map_err(|e| RunError::Input(format!("{}: {e}", input.name)))?;
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
