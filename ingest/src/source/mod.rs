//! Sources: where a job's rows come from, behind one [`Source`] trait.
//!
//! A source does two things. Before anything is written it *plans* the run's inputs — the new
//! files, the source table version, the watermark range of a query, the spooled API pages —
//! and the plan is saved in the run record, so that a resumed run reads exactly the same data
//! and lineage can name it. Then it *reads* each input, handing every row to the
//! [`Lander`], which applies the same mapping, typing, checks and quarantine to all sources.

mod database;
mod delta;
mod files;
mod http;

use crate::error::RunError;
use crate::lander::Lander;
use crate::spec::{JobSpec, SourceSpec};
use arrow::datatypes::DataType;
use std::path::{Path, PathBuf};
use zhongshu_catalog::{JobId, RunInput};

pub use files::sha256_file;

/// What a source needs to plan a run.
pub struct PlanContext<'a> {
    /// The job.
    pub job: &'a JobId,
    /// The run being planned.
    pub run: i64,
    /// Base for relative paths; spooled API pages go under it.
    pub data_dir: &'a Path,
    /// Inputs landed by earlier successful runs, as (name, size, checksum) in run order.
    pub landed: &'a [(String, i64, String)],
    /// Files given explicitly (re-submission of corrected rows) instead of the source's own.
    pub explicit: Option<&'a [PathBuf]>,
}

impl PlanContext<'_> {
    /// The checksum of the last landed input called `name` (a watermark, a table version).
    pub fn last_landed(&self, name: &str) -> Option<&str> {
        self.landed
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, c)| c.as_str())
    }
}

/// A column of an input as the source declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceColumn {
    /// Name in the input.
    pub name: String,
    /// Arrow type, for typed inputs (Parquet, Delta, database columns); `None` for text.
    pub data_type: Option<DataType>,
}

impl SourceColumn {
    /// An untyped (text) column.
    pub fn text(name: impl Into<String>) -> Self {
        SourceColumn {
            name: name.into(),
            data_type: None,
        }
    }
}

/// A place rows come from; see the module documentation.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// The inputs of a new run: what has not landed yet. Empty when there is nothing new.
    async fn plan(&self, cx: &PlanContext<'_>) -> Result<Vec<RunInput>, RunError>;

    /// Checks that a resumed run's planned inputs are still what it planned.
    async fn verify(&self, _inputs: &[RunInput]) -> Result<(), RunError> {
        Ok(())
    }

    /// The columns of one planned input, read before any row so that schema drift is found
    /// (and, by policy, handled) before the run writes anything.
    async fn columns(&self, input: &RunInput) -> Result<Vec<SourceColumn>, RunError>;

    /// Reads one planned input, landing every row; returns the rows read.
    async fn read(&self, input: &RunInput, lander: &mut Lander<'_>) -> Result<u64, RunError>;
}

/// The source a job specification describes.
pub fn source_for(spec: &JobSpec, data_dir: &Path) -> Box<dyn Source> {
    match &spec.source {
        SourceSpec::Files {
            dir,
            glob,
            format,
            encoding,
            sheet,
        } => Box::new(files::FileSource {
            dir: if Path::new(dir).is_absolute() {
                PathBuf::from(dir)
            } else {
                data_dir.join(dir)
            },
            glob: glob.clone(),
            format: *format,
            encoding: *encoding,
            sheet: sheet.clone(),
        }),
        SourceSpec::Delta { url, options } => Box::new(delta::DeltaSource {
            url: url.clone(),
            options: options.clone().into_iter().collect(),
        }),
        SourceSpec::Postgres {
            url,
            query,
            watermark,
        } => Box::new(database::PostgresSource {
            url: url.clone(),
            query: query.clone(),
            watermark: watermark.clone(),
        }),
        SourceSpec::Http {
            url,
            records,
            pagination,
            headers,
            watermark,
            since_param,
        } => Box::new(http::HttpSource {
            url: url.clone(),
            records: records.clone(),
            pagination: pagination.clone(),
            headers: headers.clone(),
            watermark: watermark.clone(),
            since_param: since_param.clone(),
        }),
    }
}

/// Whether an Arrow type read from a typed source can fill a target column of `logical` type
/// without changing its meaning. Text fits every column: it is parsed value by value, as in a
/// CSV file, and a value that does not parse goes to quarantine. Any other type must be of the
/// target's family; a date column that arrives as integers is a type change.
pub fn type_fits(logical: &str, found: &DataType) -> bool {
    use DataType::*;
    let found = match found {
        Dictionary(_, value) => value.as_ref(),
        other => other,
    };
    if matches!(found, Null | Utf8 | LargeUtf8 | Utf8View) {
        return true;
    }
    match logical {
        "int64" => {
            matches!(
                found,
                Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
            ) || matches!(found, Decimal128(_, 0) | Decimal256(_, 0))
        }
        "float64" => found.is_numeric(),
        "date" => matches!(found, Date32 | Date64),
        "timestamp" => matches!(found, Timestamp(_, _) | Date32 | Date64),
        "boolean" => matches!(found, Boolean),
        _ => true,
    }
}

/// A watermark range saved in a query input's checksum: rows above `after` (none: from the
/// start) up to and including `through`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatermarkRange {
    /// The last landed watermark.
    pub after: Option<String>,
    /// The largest watermark when the run was planned.
    pub through: String,
}

/// The input kind that records a watermark in the landed ledger.
pub const WATERMARK: &str = "watermark";

/// The ledger input recording that `name`'s watermark reached `value`.
pub fn watermark_input(name: &str, value: &str) -> RunInput {
    RunInput {
        kind: WATERMARK.into(),
        name: name.into(),
        size: 0,
        checksum: value.into(),
        rows: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_sources_must_match_the_target_family() {
        assert!(type_fits("int64", &DataType::Int32));
        assert!(type_fits("int64", &DataType::Utf8View));
        assert!(!type_fits("int64", &DataType::Float64));
        assert!(type_fits("float64", &DataType::Int64));
        assert!(type_fits("string", &DataType::Int64));
        assert!(!type_fits("date", &DataType::Int64));
        assert!(!type_fits("boolean", &DataType::Int32));
        assert!(type_fits(
            "date",
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Date32))
        ));
    }
}
