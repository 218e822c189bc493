//! The lander: where every source hands its rows, whatever their origin.
//!
//! A source reads its inputs (files, query results, API pages, Delta batches) and gives each
//! row to the [`Lander`] as text fields. The lander maps source columns to target columns,
//! applies the job's parse formats, types and checks the row ([`TargetRows`]), sends rejected
//! rows to quarantine with input, line, column, rule and reason, and hands full batches (with
//! derived columns computed) to the table writer. Keeping this in one place is what makes
//! every source obey the same rules.

use crate::derive::Derivation;
use crate::error::{InputError, RunError};
use crate::rows::{QuarantineRows, Rejection, RowCheck, TargetRows};
use crate::spec::{ExtraColumns, JobSpec};
use arrow::array::{Array, AsArray, RecordBatch};
use std::borrow::Cow;
use zhongshu_catalog::Column;

/// Rows per batch handed to the writer.
pub const BATCH_ROWS: usize = 64 * 1024;

/// What a finished lander hands back to the run.
pub struct Landed {
    /// Rejected rows.
    pub quarantine: QuarantineRows,
    /// Flags of landed rows (one entry per failed `warn` check).
    pub flags: QuarantineRows,
    /// Rows landed with at least one flag.
    pub flagged: u64,
    /// Rows handed to the writer.
    pub accepted: u64,
}

/// Lands the rows of one run; see the module documentation.
pub struct Lander<'a> {
    spec: &'a JobSpec,
    columns: &'a [Column],
    checks: &'a [&'a dyn RowCheck],
    derivation: &'a Derivation,
    target: TargetRows,
    quarantine: QuarantineRows,
    /// Failures of `warn` checks on rows that landed.
    flags: QuarantineRows,
    /// Rows landed with at least one flag.
    flagged: u64,
    sink: tokio::sync::mpsc::Sender<RecordBatch>,
    /// Name of the input being read (file path, query, URL).
    input: String,
    /// For each target column, the position of its source field in the current input.
    positions: Vec<Option<usize>>,
    /// Rows handed to the writer.
    accepted: u64,
}

impl<'a> Lander<'a> {
    /// A lander for run `run` of `job`, writing accepted batches to `sink`.
    pub fn new(
        spec: &'a JobSpec,
        columns: &'a [Column],
        checks: &'a [&'a dyn RowCheck],
        derivation: &'a Derivation,
        target: TargetRows,
        (job, run): (&str, i64),
        sink: tokio::sync::mpsc::Sender<RecordBatch>,
    ) -> Self {
        Lander {
            spec,
            columns,
            checks,
            derivation,
            target,
            quarantine: QuarantineRows::new(job, run),
            flags: QuarantineRows::new(job, run),
            flagged: 0,
            sink,
            input: String::new(),
            positions: Vec::new(),
            accepted: 0,
        }
    }

    /// Starts an input whose fields are named by `header`: maps target columns to field
    /// positions, failing on a missing required column or (by policy) an unknown one.
    pub fn begin(&mut self, input: &str, header: &[String]) -> Result<(), RunError> {
        self.input = input.to_owned();
        self.positions = map_header(input, header, self.spec, self.columns)?;
        Ok(())
    }

    /// Rows quarantined so far.
    pub fn quarantined(&self) -> u64 {
        self.quarantine.len() as u64
    }

    /// Rejects a row that could not even be split into fields.
    pub fn reject(&mut self, line: u64, raw: &str, rule: &str, reason: String) {
        let why = Rejection {
            column: String::new(),
            rule: rule.into(),
            reason,
        };
        self.quarantine.push(&self.input, line, raw, &why);
    }

    /// Lands one row given by field position (`field(i)` is the text of the input's `i`-th
    /// field); `raw` renders the original row for quarantine.
    pub async fn record<'f>(
        &mut self,
        line: u64,
        field: impl Fn(usize) -> Option<&'f str>,
        raw: impl FnOnce() -> String,
    ) -> Result<(), RunError> {
        let values: Vec<Option<&str>> = self
            .positions
            .iter()
            .map(|p| p.and_then(&field).map(str::trim).filter(|v| !v.is_empty()))
            .collect();
        self.push(line, values, raw).await
    }

    /// Types, checks and collects one row of target values (parse formats applied first).
    async fn push(
        &mut self,
        line: u64,
        values: Vec<Option<&str>>,
        raw: impl FnOnce() -> String,
    ) -> Result<(), RunError> {
        let outcome = if self.spec.cast.is_empty() {
            self.target.push(&values, self.checks)
        } else {
            let cast = self.cast(values);
            let values: Vec<Option<&str>> = cast.iter().map(|v| v.as_deref()).collect();
            self.target.push(&values, self.checks)
        };
        match outcome {
            Ok(flags) if flags.is_empty() => {}
            Ok(flags) => {
                let raw = raw();
                for why in &flags {
                    self.flags.push(&self.input, line, &raw, why);
                }
                self.flagged += 1;
            }
            Err(why) => self.quarantine.push(&self.input, line, &raw(), &why),
        }
        self.flush_if_full().await
    }

    /// Lands one JSON object (fields by name; the header is checked on the first object of
    /// each input).
    pub async fn object(
        &mut self,
        line: u64,
        raw: &str,
        object: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), RunError> {
        let texts: Vec<Option<Cow<'_, str>>> = self
            .columns
            .iter()
            .map(|c| {
                if self.spec.derive.contains_key(&c.name) {
                    return None;
                }
                match object.get(self.spec.source_column(&c.name)) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
                    Some(other) => Some(Cow::Owned(other.to_string())),
                }
            })
            .collect();
        let values: Vec<Option<&str>> = texts
            .iter()
            .map(|t| t.as_deref().map(str::trim).filter(|v| !v.is_empty()))
            .collect();
        self.push(line, values, || raw.to_owned()).await
    }

    /// Lands a typed batch (Parquet, Delta): values are rendered as text and typed and checked
    /// exactly like file rows; `line` is the row's position in the input (after `offset`).
    pub async fn batch(&mut self, batch: &RecordBatch, offset: u64) -> Result<(), RunError> {
        let texts: Vec<arrow::array::ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
            .collect::<Result<_, _>>()?;
        let texts: Vec<&arrow::array::StringArray> =
            texts.iter().map(|a| a.as_string::<i32>()).collect();
        for row in 0..batch.num_rows() {
            let field = |i: usize| {
                let a = texts[i];
                a.is_valid(row).then(|| a.value(row))
            };
            let raw = || {
                (0..texts.len())
                    .map(|i| field(i).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            self.record(offset + row as u64 + 1, field, raw).await?;
        }
        Ok(())
    }

    /// Sends the rows collected so far; returns what the run records beside its table.
    pub async fn finish(mut self) -> Result<Landed, RunError> {
        if !self.target.is_empty() {
            self.flush().await?;
        }
        Ok(Landed {
            quarantine: self.quarantine,
            flags: self.flags,
            flagged: self.flagged,
            accepted: self.accepted,
        })
    }

    /// Applies the job's parse formats: a date or timestamp in the declared format is
    /// rewritten in ISO form; one that does not parse is left for the type check to reject.
    fn cast<'v>(&self, values: Vec<Option<&'v str>>) -> Vec<Option<Cow<'v, str>>> {
        values
            .into_iter()
            .zip(self.columns)
            .map(|(v, c)| {
                let v = v?;
                let Some(format) = self.spec.cast.get(&c.name) else {
                    return Some(Cow::Borrowed(v));
                };
                let iso = match c.data_type.as_str() {
                    "date" => chrono::NaiveDate::parse_from_str(v, format)
                        .ok()
                        .map(|d| d.format("%Y-%m-%d").to_string()),
                    "timestamp" => chrono::NaiveDateTime::parse_from_str(v, format)
                        .ok()
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
                    _ => None,
                };
                Some(iso.map_or(Cow::Borrowed(v), Cow::Owned))
            })
            .collect()
    }

    async fn flush_if_full(&mut self) -> Result<(), RunError> {
        if self.target.len() >= BATCH_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), RunError> {
        let batch = self.derivation.apply(self.target.take_batch()?)?;
        self.accepted += batch.num_rows() as u64;
        self.sink
            .send(batch)
            .await
            .map_err(|_| RunError::Internal("the table writer stopped".into()))
    }
}

/// Maps the target columns to field positions of a header; fails on missing columns and, by
/// policy, on extra ones. Derived columns take no field.
pub fn map_header(
    input: &str,
    header: &[String],
    spec: &JobSpec,
    columns: &[Column],
) -> Result<Vec<Option<usize>>, RunError> {
    let mut positions = Vec::with_capacity(columns.len());
    let mut missing = Vec::new();
    let fed: Vec<&Column> = columns
        .iter()
        .filter(|c| !spec.derive.contains_key(&c.name))
        .collect();
    for c in columns {
        if spec.derive.contains_key(&c.name) {
            positions.push(None);
            continue;
        }
        let source = spec.source_column(&c.name);
        let pos = header.iter().position(|h| h.trim() == source);
        if pos.is_none() && !c.nullable {
            missing.push(format!("{source} ({})", c.title));
        }
        positions.push(pos);
    }
    let expected: Vec<&str> = fed.iter().map(|c| spec.source_column(&c.name)).collect();
    if !missing.is_empty() {
        return Err(InputError::new(
            input,
            format!(
                "required column(s) {} missing; expected {}, found {}",
                missing.join(", "),
                expected.join(","),
                header.join(",")
            ),
        )
        .at_line(1)
        .rule("schema")
        .into());
    }
    let extra: Vec<&str> = header
        .iter()
        .map(|h| h.trim())
        .filter(|h| !expected.contains(h))
        .collect();
    if !extra.is_empty() && spec.drift.extra_columns == ExtraColumns::Refuse {
        return Err(InputError::new(
            input,
            format!(
                "unexpected column(s) {}; register them on the resource, or set [drift] \
                 extra_columns = \"ignore\" or \"add\"",
                extra.join(", ")
            ),
        )
        .at_line(1)
        .rule("schema drift")
        .into());
    }
    Ok(positions)
}
