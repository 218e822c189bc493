//! Turning text fields into typed Arrow columns, row by row, so that a bad value sends its row
//! to quarantine (with the original text, file, line, column, rule and reason) instead of
//! failing the file.

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use std::sync::Arc;
use zhongshu_catalog::Column;

/// Why a row was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The column at fault.
    pub column: String,
    /// The rule broken: `type`, `required`, …
    pub rule: String,
    /// What was wrong.
    pub reason: String,
}

/// A quality check applied to each parsed row before it lands (the quality crate supplies
/// rules; ingest runs them). `Err` sends the row to quarantine.
pub trait RowCheck: Send + Sync {
    /// Checks one row, given as the text of each target column in order.
    fn check(&self, columns: &[Column], values: &[Option<&str>]) -> Result<(), Rejection>;

    /// Whether a failure only flags the row (a `warn` rule): the row lands and the failure is
    /// recorded in the run's flag table. By default a failure quarantines the row.
    fn flags_only(&self) -> bool {
        false
    }
}

fn parse_date(v: &str) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(v, "%Y/%m/%d"))
        .ok()?;
    i32::try_from((d - epoch).num_days()).ok()
}

fn parse_timestamp(v: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_micros());
    }
    // Local times without an offset are China Standard Time (UTC+8).
    let local = NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    Some(local.and_utc().timestamp_micros() - 8 * 3_600_000_000)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" | "是" => Some(true),
        "false" | "0" | "n" | "no" | "否" => Some(false),
        _ => None,
    }
}

enum Builder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
}

impl Builder {
    fn new(logical: &str) -> Builder {
        match logical {
            "int64" => Builder::Int64(Int64Builder::new()),
            "float64" => Builder::Float64(Float64Builder::new()),
            "date" => Builder::Date(Date32Builder::new()),
            "timestamp" => {
                Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            "boolean" => Builder::Bool(BooleanBuilder::new()),
            _ => Builder::Utf8(StringBuilder::new()),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// A typed value ready to append.
enum Value<'a> {
    Null,
    Utf8(&'a str),
    Int64(i64),
    Float64(f64),
    Date(i32),
    Timestamp(i64),
    Bool(bool),
}

/// Parses one field for a column of logical type `logical`.
fn convert<'a>(logical: &str, v: &'a str) -> Result<Value<'a>, String> {
    let bad = |what: &str| format!("`{v}` is not {what}");
    Ok(match logical {
        "int64" => Value::Int64(v.parse().map_err(|_| bad("an integer"))?),
        "float64" => Value::Float64(v.parse().map_err(|_| bad("a number"))?),
        "date" => Value::Date(parse_date(v).ok_or_else(|| bad("a date (YYYY-MM-DD)"))?),
        "timestamp" => {
            Value::Timestamp(parse_timestamp(v).ok_or_else(|| bad("a timestamp (RFC 3339)"))?)
        }
        "boolean" => Value::Bool(parse_bool(v).ok_or_else(|| bad("true or false"))?),
        _ => Value::Utf8(v),
    })
}

/// Accumulates accepted rows of the target schema.
pub struct TargetRows {
    columns: Vec<Column>,
    builders: Vec<Builder>,
    schema: SchemaRef,
    rows: usize,
}

impl TargetRows {
    /// Rows for the given target columns and Arrow schema.
    pub fn new(columns: &[Column], schema: SchemaRef) -> Self {
        TargetRows {
            builders: columns.iter().map(|c| Builder::new(&c.data_type)).collect(),
            columns: columns.to_vec(),
            schema,
            rows: 0,
        }
    }

    /// Parses one row (the text of each target column, `None` when absent or empty) and
    /// appends it with the flags of the `warn` checks it failed, or says why it cannot land.
    pub fn push(
        &mut self,
        values: &[Option<&str>],
        checks: &[&dyn RowCheck],
    ) -> Result<Vec<Rejection>, Rejection> {
        let mut typed = Vec::with_capacity(values.len());
        for (c, v) in self.columns.iter().zip(values) {
            match v {
                None if c.is_key => {
                    return Err(Rejection {
                        column: c.name.clone(),
                        rule: "required".into(),
                        reason: format!("key column {} ({}) is empty", c.name, c.title),
                    });
                }
                None => typed.push(Value::Null),
                Some(v) => typed.push(convert(&c.data_type, v).map_err(|reason| Rejection {
                    column: c.name.clone(),
                    rule: "type".into(),
                    reason: format!("{reason} (column {} is {})", c.name, c.data_type),
                })?),
            }
        }
        let mut flags = Vec::new();
        for check in checks {
            match check.check(&self.columns, values) {
                Ok(()) => {}
                Err(why) if check.flags_only() => flags.push(why),
                Err(why) => return Err(why),
            }
        }
        for (b, v) in self.builders.iter_mut().zip(typed) {
            match (b, v) {
                (Builder::Utf8(b), Value::Utf8(s)) => b.append_value(s),
                (Builder::Int64(b), Value::Int64(n)) => b.append_value(n),
                (Builder::Float64(b), Value::Float64(n)) => b.append_value(n),
                (Builder::Date(b), Value::Date(d)) => b.append_value(d),
                (Builder::Timestamp(b), Value::Timestamp(t)) => b.append_value(t),
                (Builder::Bool(b), Value::Bool(x)) => b.append_value(x),
                (Builder::Utf8(b), _) => b.append_null(),
                (Builder::Int64(b), _) => b.append_null(),
                (Builder::Float64(b), _) => b.append_null(),
                (Builder::Date(b), _) => b.append_null(),
                (Builder::Timestamp(b), _) => b.append_null(),
                (Builder::Bool(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
        Ok(flags)
    }

    /// Rows accepted since the last batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Takes the pending rows as a batch.
    pub fn take_batch(&mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let arrays = self.builders.iter_mut().map(Builder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
    }
}

/// The schema of a quarantine table.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("job", DataType::Utf8, false),
        Field::new("run", DataType::Int64, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("rule", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new(
            "quarantined_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// Accumulates rejected rows (and, in the same shape, the flags of landed rows).
pub struct QuarantineRows {
    job: String,
    run: i64,
    file: StringBuilder,
    line: Int64Builder,
    column: StringBuilder,
    rule: StringBuilder,
    reason: StringBuilder,
    raw: StringBuilder,
    at: TimestampMicrosecondBuilder,
    now: i64,
    rows: usize,
}

impl QuarantineRows {
    /// Quarantine rows of one run.
    pub fn new(job: &str, run: i64) -> Self {
        QuarantineRows {
            job: job.to_owned(),
            run,
            file: StringBuilder::new(),
            line: Int64Builder::new(),
            column: StringBuilder::new(),
            rule: StringBuilder::new(),
            reason: StringBuilder::new(),
            raw: StringBuilder::new(),
            at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            now: chrono::Utc::now().timestamp_micros(),
            rows: 0,
        }
    }

    /// Records one rejected row.
    pub fn push(&mut self, file: &str, line: u64, raw: &str, why: &Rejection) {
        self.file.append_value(file);
        self.line.append_value(line as i64);
        self.column.append_value(&why.column);
        self.rule.append_value(&why.rule);
        self.reason.append_value(&why.reason);
        self.raw.append_value(raw);
        self.at.append_value(self.now);
        self.rows += 1;
    }

    /// Rows recorded.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether none were recorded.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows as a batch.
    pub fn take_batch(&mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let n = self.rows;
        self.rows = 0;
        let job: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![self.job.as_str(); n]));
        let run: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![self.run; n]));
        RecordBatch::try_new(
            quarantine_schema(),
            vec![
                job,
                run,
                Arc::new(self.file.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.column.finish()),
                Arc::new(self.rule.finish()),
                Arc::new(self.reason.finish()),
                Arc::new(self.raw.finish()),
                Arc::new(self.at.finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhongshu_catalog::{Category, Grade};

    fn col(name: &str, t: &str, key: bool) -> Column {
        Column {
            name: name.into(),
            title: name.into(),
            data_type: t.into(),
            nullable: !key,
            is_key: key,
            description: String::new(),
            category: Category::Public,
            grade: Grade::L1,
            element: None,
            binding: None,
        }
    }

    #[test]
    fn bad_values_are_rejected_by_rule() {
        let cols = vec![
            col("id", "string", true),
            col("n", "int64", false),
            col("d", "date", false),
            col("t", "timestamp", false),
        ];
        let schema = zhongshu_engine::schema::arrow_schema(&cols).unwrap();
        let mut rows = TargetRows::new(&cols, schema);
        rows.push(
            &[
                Some("a"),
                Some("1"),
                Some("2026-01-02"),
                Some("2026-01-02T08:00:00+08:00"),
            ],
            &[],
        )
        .unwrap();
        rows.push(
            &[
                Some("b"),
                None,
                Some("20260102"),
                Some("2026-01-02 08:00:00"),
            ],
            &[],
        )
        .unwrap();
        let e = rows
            .push(&[Some("c"), Some("x1"), None, None], &[])
            .unwrap_err();
        assert_eq!((e.column.as_str(), e.rule.as_str()), ("n", "type"));
        let e = rows.push(&[None, Some("1"), None, None], &[]).unwrap_err();
        assert_eq!(e.rule, "required");
        assert_eq!(rows.len(), 2);
        let batch = rows.take_batch().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let t = batch
            .column(3)
            .as_any()
            .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), t.value(1), "local time is UTC+8");
    }
}
