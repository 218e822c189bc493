//! The job specification: what to read, where to land it and how.
//!
//! Jobs are written in TOML and stored in the catalog as text, so that a data officer can read
//! and version them:
//!
//! ```toml
//! id = "rsj-enrolments"
//! resource = "440310-RS-0001"
//! mode = "append"                  # append | overwrite | merge (on `keys`) | history (SCD2)
//! schedule = "0 2 * * *"           # cron, run by `zhongshu serve`
//!
//! [source]
//! kind = "files"
//! dir = "incoming/rsj"             # relative to the data directory, or absolute
//! glob = "shebao_*.csv"
//! format = "csv"                   # csv | tsv | json_lines | json | parquet | xlsx
//! encoding = "gbk"                 # utf8 | gbk | gb18030 | detect
//!
//! [columns]                        # target column = source column, where names differ
//! id_no = "SFZH"
//!
//! [cast]                           # parse formats for date and timestamp columns
//! birth_date = "%Y年%m月%d日"
//!
//! [derive]                         # computed columns: a SQL expression over the target row
//! birth_year = "date_part('year', birth_date)"
//!
//! [bind]                           # bind columns to data elements when the job is created
//! id_no = "公民身份号码"            # as a replica; { element = "…", role = "source" } for a source
//!
//! [drift]
//! extra_columns = "refuse"         # refuse | ignore | add
//! ```
//!
//! Other sources: `kind = "delta"` (a table by URL, the back-flow path), `kind = "postgres"` (a
//! query, incremental on a watermark column) and `kind = "http"` (a JSON API with pagination).
//! `${NAME}` in URLs and headers is replaced by the environment variable `NAME`, so that
//! secrets stay out of the catalog.

use crate::files::{Encoding, FileFormat};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a run treats the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Add the run's rows.
    Append,
    /// Replace the table's rows with the run's rows.
    Overwrite,
    /// Upsert on the key columns: update rows whose key exists, insert the others. A key
    /// delivered twice in one run lands once; the later copy goes to quarantine.
    Merge,
    /// Snapshot with history (SCD type 2) for base libraries: each run delivers the whole
    /// current state; a changed row closes its current version (`valid_to`) and opens a new
    /// one (`valid_from`), a new key opens one, a key missing from the snapshot is closed.
    #[serde(alias = "scd2")]
    History,
}

/// Where the data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceSpec {
    /// Files in a directory, picked by a glob; each file is landed once.
    Files {
        /// Directory, relative to the data directory or absolute.
        dir: String,
        /// Glob of file names within it.
        #[serde(default = "default_glob")]
        glob: String,
        /// File format.
        format: FileFormat,
        /// Text encoding.
        #[serde(default = "default_encoding")]
        encoding: Encoding,
        /// Worksheet of an XLSX file (default: the first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sheet: Option<String>,
    },
    /// A Delta table by URL or path, e.g. the city's back-flow share (回流). Each run reads the
    /// table's latest version once; use `mode = "overwrite"` to mirror it.
    Delta {
        /// `s3://…`, `file://…` or a local path.
        url: String,
        /// object_store options for the source's store.
        #[serde(default)]
        options: BTreeMap<String, String>,
    },
    /// A PostgreSQL query or table, read incrementally when `watermark` names a column: each
    /// run lands the rows whose watermark is above the last landed one, up to the maximum seen
    /// when the run was planned.
    Postgres {
        /// `postgres://user:password@host:port/db`; `${VAR}` is taken from the environment.
        url: String,
        /// A query (`SELECT …`) or a table name.
        query: String,
        /// Column that only grows (an update time or a sequence).
        #[serde(default)]
        watermark: Option<String>,
    },
    /// An HTTP JSON API, page by page.
    Http {
        /// The first page's URL; `${VAR}` is taken from the environment.
        url: String,
        /// Dotted path to the array of records in each response (`data.items`); empty when the
        /// response is the array.
        #[serde(default)]
        records: String,
        /// How pages follow each other.
        #[serde(default)]
        pagination: Pagination,
        /// Request headers (`Authorization = "Bearer ${TOKEN}"`).
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Incremental reading: a record field that only grows; the largest value landed is
        /// sent back in `since_param` on the next run.
        #[serde(default)]
        watermark: Option<String>,
        /// Query parameter that carries the watermark.
        #[serde(default = "default_since_param")]
        since_param: String,
    },
}

fn default_since_param() -> String {
    "since".into()
}

/// How an HTTP API pages its records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One response holds everything.
    #[default]
    None,
    /// `?page=N&page_size=S`, from `start`, until an empty page or the declared `total`. A
    /// short page is no end: an API may cap its page size below `size`.
    Page {
        /// Page number parameter.
        #[serde(default = "default_page_param")]
        param: String,
        /// Page size parameter.
        #[serde(default = "default_size_param")]
        size_param: String,
        /// Records per page.
        #[serde(default = "default_page_size")]
        size: u32,
        /// Number of the first page.
        #[serde(default = "default_first_page")]
        start: u32,
        /// Dotted path to the total record count in each response (`data.total`): the pages
        /// end once that many records have come. Unset, or absent from a response, only an
        /// empty page ends them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<String>,
    },
    /// `?offset=N&limit=S`, the offset moving on by the records received, until an empty page
    /// or the declared `total`. A short page is no end: an API may cap its limit.
    Offset {
        /// Offset parameter.
        #[serde(default = "default_offset_param")]
        param: String,
        /// Limit parameter.
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// Records per page.
        #[serde(default = "default_page_size")]
        limit: u32,
        /// Dotted path to the total record count in each response, as for `page`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<String>,
    },
    /// The response names the next page: a URL, or a cursor sent back in `cursor_param`.
    Next {
        /// Dotted path to the next URL or cursor in the response; absent, null or empty ends.
        field: String,
        /// Query parameter for a cursor; unset when `field` holds a URL.
        #[serde(default)]
        cursor_param: Option<String>,
    },
}

fn default_page_param() -> String {
    "page".into()
}
fn default_size_param() -> String {
    "page_size".into()
}
fn default_page_size() -> u32 {
    500
}
fn default_first_page() -> u32 {
    1
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}

/// A column bound to a data element by the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BindSpec {
    /// The element's id or name; the column becomes a replica.
    Replica(String),
    /// Element and role.
    Role {
        /// The element's id or name.
        element: String,
        /// `source` or `replica`.
        role: String,
    },
}

impl BindSpec {
    /// The element's id or name.
    pub fn element(&self) -> &str {
        match self {
            BindSpec::Replica(e) | BindSpec::Role { element: e, .. } => e,
        }
    }

    /// The binding role's code.
    pub fn role(&self) -> &str {
        match self {
            BindSpec::Replica(_) => "replica",
            BindSpec::Role { role, .. } => role,
        }
    }
}

/// Replaces `${NAME}` with the environment variable `NAME`; an unset variable is an error
/// naming it.
pub fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
        let name = &after[..end];
        let value = std::env::var(name).map_err(|_| {
            format!("environment variable {name} is not set (used in a job source)")
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn default_glob() -> String {
    "*".into()
}

fn default_encoding() -> Encoding {
    Encoding::Detect
}

/// What to do with source columns the target does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraColumns {
    /// Fail the run, naming the file and column.
    #[default]
    Refuse,
    /// Leave them out.
    Ignore,
    /// Add them to the resource (as nullable text, graded like the resource's most sensitive
    /// column until a data officer classifies them) and to the table.
    Add,
}

/// Schema drift policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftPolicy {
    /// Source columns unknown to the target.
    #[serde(default)]
    pub extra_columns: ExtraColumns,
}

/// A whole job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Job id.
    pub id: String,
    /// Target resource code.
    pub resource: String,
    /// Target table of the resource.
    #[serde(default = "default_table")]
    pub table: String,
    /// Lake path of the target table when the resource has no table yet, e.g.
    /// `base/population/persons`.
    #[serde(default)]
    pub path: Option<String>,
    /// Write mode.
    #[serde(default = "default_mode")]
    pub mode: Mode,
    /// Key columns for `merge` (default: the resource's key items).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Cron schedule for `zhongshu serve`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Source.
    pub source: SourceSpec,
    /// Renames: target column → source column.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Parse formats (chrono `strftime` syntax) for date and timestamp columns.
    #[serde(default)]
    pub cast: BTreeMap<String, String>,
    /// Computed columns: target column → SQL expression over the target's columns.
    #[serde(default)]
    pub derive: BTreeMap<String, String>,
    /// Columns to bind to data elements when the job is created.
    #[serde(default)]
    pub bind: BTreeMap<String, BindSpec>,
    /// Schema drift policy.
    #[serde(default)]
    pub drift: DriftPolicy,
    /// Row checks; failing rows go to quarantine.
    #[serde(default)]
    pub checks: Vec<crate::checks::CheckSpec>,
}

fn default_table() -> String {
    "main".into()
}

fn default_mode() -> Mode {
    Mode::Append
}

impl JobSpec {
    /// Parses a TOML job specification.
    pub fn from_toml(text: &str) -> Result<JobSpec, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The specification as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The source column feeding target column `target`.
    pub fn source_column<'a>(&'a self, target: &'a str) -> &'a str {
        self.columns.get(target).map_or(target, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let spec = JobSpec::from_toml(
            r#"
id = "rsj-enrolments"
resource = "440310-RS-0001"
mode = "append"
[source]
kind = "files"
dir = "incoming/rsj"
glob = "shebao_*.csv"
format = "csv"
encoding = "gbk"
[columns]
id_no = "SFZH"
[drift]
extra_columns = "ignore"
"#,
        )
        .unwrap();
        assert_eq!(spec.table, "main");
        assert_eq!(spec.source_column("id_no"), "SFZH");
        assert_eq!(spec.source_column("name"), "name");
        assert_eq!(spec.drift.extra_columns, ExtraColumns::Ignore);
        let again = JobSpec::from_toml(&spec.to_toml()).unwrap();
        assert_eq!(again, spec);
        assert!(JobSpec::from_toml("id = 'x'\nresource = 'r'\nsurce = 1").is_err());
    }

    #[test]
    fn parses_database_and_http_sources() {
        let spec = JobSpec::from_toml(
            r#"
id = "x"
resource = "r"
mode = "history"
[source]
kind = "http"
url = "http://127.0.0.1:1/api?token=${HOME}"
records = "data.items"
pagination = { style = "page", size = 100, total = "data.total" }
watermark = "updated_at"
[bind]
id_no = "公民身份号码"
uscc = { element = "统一社会信用代码", role = "source" }
"#,
        )
        .unwrap();
        assert_eq!(spec.mode, Mode::History);
        let SourceSpec::Http { pagination, .. } = &spec.source else {
            panic!("not http")
        };
        assert_eq!(
            *pagination,
            Pagination::Page {
                param: "page".into(),
                size_param: "page_size".into(),
                size: 100,
                start: 1,
                total: Some("data.total".into()),
            }
        );
        assert_eq!(spec.bind["id_no"].role(), "replica");
        assert_eq!(spec.bind["uscc"].role(), "source");
        assert_eq!(JobSpec::from_toml(&spec.to_toml()).unwrap(), spec);
        let pg = JobSpec::from_toml(
            "id='y'\nresource='r'\n[source]\nkind='postgres'\nurl='postgres://x'\nquery='t'\nwatermark='seq'",
        )
        .unwrap();
        assert!(matches!(pg.source, SourceSpec::Postgres { .. }));
    }

    #[test]
    fn expands_environment_variables() {
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_env("a ${PATH} b").unwrap(), format!("a {path} b"));
        assert!(
            expand_env("${ZHONGSHU_SPEC_UNSET}")
                .unwrap_err()
                .contains("ZHONGSHU_SPEC_UNSET")
        );
    }
}
