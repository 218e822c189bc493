//! The job specification: what to read, where to land it and how.
//!
//! Jobs are written in TOML and stored in the catalog as text, so that a data officer can read
//! and version them:
//!
//! ```toml
//! id = "rsj-enrolments"
//! resource = "440310-RS-0001"
//! mode = "append"                  # append | overwrite | merge (on `keys`)
//! schedule = "0 2 * * *"           # cron, run by `zhongshu serve`
//!
//! [source]
//! kind = "files"
//! dir = "incoming/rsj"             # relative to the data directory, or absolute
//! glob = "shebao_*.csv"
//! format = "csv"                   # csv | tsv | json_lines | parquet
//! encoding = "gbk"                 # utf8 | gbk | gb18030 | detect
//!
//! [columns]                        # target column = source column, where names differ
//! id_no = "SFZH"
//!
//! [drift]
//! extra_columns = "refuse"         # refuse | ignore
//! ```

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
}
