//! The errors of a run, in a module of their own so that the sources, the lander and the
//! derivations below [`crate::run`] name them without importing the run itself.
//!
//! Bad input is an [`InputError`]: which input (a file, a URL, a source database), where in it
//! (line, column), the rule it breaks and why, as fields a caller can read, not only text. A
//! file's decoder reports its errors as `std::io::Error`s that carry an `InputError`
//! ([`InputError::into_io`], [`InputError::from_io`]), so the reasons survive the CSV and JSON
//! readers they pass through.

use zhongshu_catalog::CatalogError;
use zhongshu_engine::EngineError;

/// Input that cannot be read or does not fit the target; see the module documentation.
///
/// Shown as `INPUT:LINE: column `C`: REASON (rule: RULE)`, each part only when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file, URL or source the input came from.
    pub input: String,
    /// The line (1-based) where the problem is, when it is in one.
    pub line: Option<u64>,
    /// The column concerned, when one is.
    pub column: Option<String>,
    /// The rule broken (`encoding`, `csv`, `json`, `schema`, `schema drift`, …).
    pub rule: Option<String>,
    /// What is wrong and what to do.
    pub reason: String,
}

impl InputError {
    /// A problem with `input`.
    pub fn new(input: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        InputError {
            input: input.to_string(),
            line: None,
            column: None,
            rule: None,
            reason: reason.to_string(),
        }
    }

    /// At `line`.
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// About `column`.
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// Breaking `rule`.
    pub fn rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    /// As an I/O error of kind `InvalidData` carrying this error, for a reader to return.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, self)
    }

    /// The input error an I/O error from `input` carries, or one made of it.
    pub fn from_io(e: &std::io::Error, input: &str) -> Self {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<InputError>())
        {
            Some(carried) => carried.clone(),
            None => InputError::new(input, e),
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.input)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(column) = &self.column {
            write!(f, "column `{column}`: ")?;
        }
        write!(f, "{}", self.reason)?;
        if let Some(rule) = &self.rule {
            write!(f, " (rule: {rule})")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// A run failed; the message names the file, line or column and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The job or its specification is wrong.
    #[error("job {job}: {message}")]
    Job {
        /// Job id.
        job: String,
        /// What is wrong.
        message: String,
    },
    /// Input that cannot be read or does not fit the target (encoding, header, drift).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The run's own machinery failed (its spool files, its writer task).
    #[error("{0}")]
    Internal(String),
    /// Catalog failure.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Storage failure.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<arrow::error::ArrowError> for RunError {
    fn from(e: arrow::error::ArrowError) -> Self {
        RunError::Engine(EngineError::Arrow(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_show_where_and_which_rule() {
        let e = InputError::new("rsj/2026-11.csv", "expected date, found Int64")
            .at_line(3)
            .column("enrolled_on")
            .rule("schema drift — type change");
        assert_eq!(
            e.to_string(),
            "rsj/2026-11.csv:3: column `enrolled_on`: expected date, found Int64 \
             (rule: schema drift — type change)"
        );
        assert_eq!(InputError::new("x.csv", "gone").to_string(), "x.csv: gone");
        let carried = InputError::from_io(&e.clone().into_io(), "other");
        assert_eq!(carried, e);
        let plain = std::io::Error::other("disk full");
        assert_eq!(
            InputError::from_io(&plain, "x.csv").to_string(),
            "x.csv: disk full"
        );
    }
}
