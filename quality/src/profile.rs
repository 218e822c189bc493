//! Profiling a resource's table, and rules suggested from the profile.
//!
//! The profile gives, per column: rows, nulls and null rate, distinct values, minimum and
//! maximum, value lengths, the most frequent values and the most frequent value patterns
//! (`9` digit, `A` Latin letter, `汉` Han character). One aggregate query covers every column;
//! frequent values and patterns take one grouped query each per column.
//!
//! Suggestions follow the manner of Deequ's constraint suggestion — each is a rule the data
//! officer can accept as is, edit, or ignore:
//!
//! | observed | suggested rule |
//! |---|---|
//! | no nulls | `not_null` |
//! | every value distinct | `unique` |
//! | every value passes a validator (resident ID, USCC, mobile, bank card) | `check_digit` |
//! | a resident ID column beside a birth date or sex column | `id_agreement` |
//! | few distinct values (≤ 12, each seen ≥ 5 times on average) | `code_list` (GB/T 2260 or GB/T 2261.1 when every value is one, else the values seen) |
//! | a numeric column never negative | `range` with `min = 0` |
//! | one pattern covers every value of a varied text column | `regex` |
//!
//! Suggested rules are `warn` rules: they start by flagging, never by quarantining.

use crate::evaluate::{QualityError, mask_for_report, quote};
use crate::rule::{Check, RuleSpec, Severity};
use crate::udf;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use serde::Serialize;
use zhongshu_catalog::validators::Validator;
use zhongshu_catalog::{Column, Principal, ResourceDetail, TableRecord};
use zhongshu_engine::{ClientInfo, Core, Lake, PrincipalSession, SystemSession};
use zhongshu_policies::table_name;

/// Frequent values or patterns kept per column.
const TOP: usize = 5;

/// A value and how often it occurs.
#[derive(Debug, Clone, Serialize)]
pub struct Frequency {
    /// The value (or pattern).
    pub value: String,
    /// Occurrences.
    pub count: i64,
}

/// One column's profile.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnProfile {
    /// Column name.
    pub column: String,
    /// Its title.
    pub title: String,
    /// Logical type.
    pub data_type: String,
    /// Rows.
    pub rows: i64,
    /// Null (or blank) values.
    pub nulls: i64,
    /// `nulls / rows`.
    pub null_rate: f64,
    /// Distinct non-null values.
    pub distinct: i64,
    /// Smallest value, as text.
    pub min: Option<String>,
    /// Largest value, as text.
    pub max: Option<String>,
    /// Shortest text length.
    pub min_length: Option<i64>,
    /// Longest text length.
    pub max_length: Option<i64>,
    /// Most frequent values (masked when the column's grade requires it).
    pub top_values: Vec<Frequency>,
    /// Most frequent patterns.
    pub patterns: Vec<Frequency>,
    /// Share of non-null values passing each standard validator that any value passes.
    pub validators: Vec<(String, f64)>,
}

/// A resource's profile and the rules suggested from it.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// The resource.
    pub resource: String,
    /// Table version profiled.
    pub table_version: Option<i64>,
    /// Rows.
    pub rows: i64,
    /// Per column.
    pub columns: Vec<ColumnProfile>,
    /// Suggested rules.
    pub suggestions: Vec<RuleSpec>,
}

fn texts(batches: &[RecordBatch], column: usize) -> Result<Vec<Option<String>>, QualityError> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column(column), &DataType::Utf8)
            .map_err(|e| QualityError::Engine(zhongshu_engine::EngineError::Arrow(e)))?;
        let a = a.as_string::<i32>();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_owned())));
    }
    Ok(out)
}

fn numbers(batches: &[RecordBatch], column: usize) -> Result<Vec<Option<i64>>, QualityError> {
    Ok(texts(batches, column)?
        .into_iter()
        .map(|t| t.and_then(|t| t.parse().ok()))
        .collect())
}

/// Validators worth trying on text values.
const TRIED: [Validator; 4] = [
    Validator::ResidentId,
    Validator::Uscc,
    Validator::Mobile,
    Validator::BankCard,
];

/// Where a profile reads the table from.
pub enum ProfileReader {
    /// The requester's governed session (its grants, masks, row filters and audit), with the
    /// table's qualified name in it: what every door uses for a principal.
    Governed {
        /// The open session (boxed: it is much larger than a system session).
        session: Box<PrincipalSession>,
        /// `"schema"."name"`.
        table: String,
    },
    /// The audited system session, with the table registered as `t`: for the host's operator,
    /// who holds the data directory itself and is no catalog principal.
    System(SystemSession),
}

impl std::fmt::Debug for ProfileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileReader::Governed { table, .. } => write!(f, "Governed({table})"),
            ProfileReader::System(s) => write!(f, "System({})", s.reason()),
        }
    }
}

impl ProfileReader {
    /// The main table of `resource` through `principal`'s governed session.
    pub async fn governed(
        core: &Core,
        principal: &Principal,
        resource: &ResourceDetail,
    ) -> Result<Self, QualityError> {
        let table = profiled_table(resource)?;
        let session = core
            .query()
            .open(
                principal.clone(),
                None,
                ClientInfo::answering("profile", "workflow"),
            )
            .await?;
        let (schema, name) = table_name(&table.path);
        udf::register(|f| session.register_udf(f));
        Ok(ProfileReader::Governed {
            session: Box::new(session),
            table: format!("{}.{}", quote(&schema), quote(&name)),
        })
    }

    /// The main table of `resource` through the system session, recorded as
    /// `system:profile:REQUESTED_BY`.
    pub async fn system(
        lake: &Lake,
        resource: &ResourceDetail,
        requested_by: &str,
    ) -> Result<Self, QualityError> {
        let table = profiled_table(resource)?;
        let session = lake
            .system_session(
                &format!("profile:{requested_by}"),
                &[("t", table.path.as_str())],
            )
            .await?;
        udf::register(|f| session.register_udf(f));
        Ok(ProfileReader::System(session))
    }

    /// The name to read the table by in a statement.
    fn table(&self) -> &str {
        match self {
            ProfileReader::Governed { table, .. } => table,
            ProfileReader::System(_) => "t",
        }
    }

    /// The columns the reader sees.
    async fn columns(&self) -> Result<Vec<String>, QualityError> {
        Ok(match self {
            ProfileReader::Governed { session, table } => session
                .plan(&format!("SELECT * FROM {table}"))
                .await?
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            ProfileReader::System(session) => session.columns("t").await?,
        })
    }

    async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, QualityError> {
        Ok(match self {
            ProfileReader::Governed { session, .. } => session.query(sql).await?.1,
            ProfileReader::System(session) => session.sql(sql).await?,
        })
    }
}

fn profiled_table(resource: &ResourceDetail) -> Result<&TableRecord, QualityError> {
    crate::evaluate::main_table(resource).ok_or_else(|| {
        QualityError::Rule(format!(
            "resource {} has no table yet; land it first",
            resource.resource.id
        ))
    })
}

/// Profiles the resource's main table as `reader` reads it: through a principal's governed
/// session the profile describes only the rows and values that principal sees.
pub async fn profile(
    reader: &ProfileReader,
    resource: &ResourceDetail,
) -> Result<Profile, QualityError> {
    let table = profiled_table(resource)?;
    let from = reader.table();
    let present: Vec<String> = reader.columns().await?;
    let columns: Vec<&Column> = resource
        .columns
        .iter()
        .filter(|c| present.contains(&c.name))
        .collect();
    // One aggregate query: rows, then per column non-blank count, distinct, min, max, lengths.
    let mut select = vec!["COUNT(*)".to_owned()];
    for c in &columns {
        let q = quote(&c.name);
        let text = format!("CAST({q} AS VARCHAR)");
        let present = format!("CASE WHEN trim({text}) = '' THEN NULL ELSE {q} END");
        select.push(format!("COUNT({present})"));
        select.push(format!("COUNT(DISTINCT {q})"));
        select.push(format!("CAST(MIN({q}) AS VARCHAR)"));
        select.push(format!("CAST(MAX({q}) AS VARCHAR)"));
        select.push(format!("MIN(character_length({text}))"));
        select.push(format!("MAX(character_length({text}))"));
        for v in TRIED {
            select.push(format!(
                "SUM(CASE WHEN {}({text}) THEN 1 ELSE 0 END)",
                udf::validator_function(v)
            ));
        }
    }
    let batches = reader
        .sql(&format!("SELECT {} FROM {from}", select.join(", ")))
        .await?;
    let per = 6 + TRIED.len();
    let value = |i: usize| -> Result<Option<String>, QualityError> {
        Ok(texts(&batches, i)?.into_iter().next().flatten())
    };
    let number = |i: usize| -> Result<Option<i64>, QualityError> {
        Ok(numbers(&batches, i)?.into_iter().next().flatten())
    };
    let rows = number(0)?.unwrap_or(0);
    let mut out = Vec::new();
    for (n, c) in columns.iter().enumerate() {
        let base = 1 + n * per;
        let present = number(base)?.unwrap_or(0);
        let mut validators = Vec::new();
        for (k, v) in TRIED.iter().enumerate() {
            let passed = number(base + 6 + k)?.unwrap_or(0);
            if passed > 0 && present > 0 {
                validators.push((v.as_code().to_owned(), passed as f64 / present as f64));
            }
        }
        let q = quote(&c.name);
        let frequent = |expr: String| {
            format!(
                "SELECT v, COUNT(*) AS n FROM (SELECT {expr} AS v FROM {from} WHERE {q} IS NOT NULL) s \
                 GROUP BY v ORDER BY n DESC, v LIMIT {TOP}"
            )
        };
        let top = reader
            .sql(&frequent(format!("CAST({q} AS VARCHAR)")))
            .await?;
        let pats = reader
            .sql(&frequent(format!("zs_pattern(CAST({q} AS VARCHAR))")))
            .await?;
        let pairs = |b: &[RecordBatch]| -> Result<Vec<Frequency>, QualityError> {
            Ok(texts(b, 0)?
                .into_iter()
                .zip(numbers(b, 1)?)
                .map(|(v, n)| Frequency {
                    value: mask_for_report(c, &v.unwrap_or_default()),
                    count: n.unwrap_or(0),
                })
                .collect())
        };
        let mask = |v: Option<String>| v.map(|v| mask_for_report(c, &v));
        out.push(ColumnProfile {
            column: c.name.clone(),
            title: c.title.clone(),
            data_type: c.data_type.clone(),
            rows,
            nulls: rows - present,
            null_rate: if rows > 0 {
                (rows - present) as f64 / rows as f64
            } else {
                0.0
            },
            distinct: number(base + 1)?.unwrap_or(0),
            min: mask(value(base + 2)?),
            max: mask(value(base + 3)?),
            min_length: number(base + 4)?,
            max_length: number(base + 5)?,
            top_values: pairs(&top)?,
            // Patterns hide the characters themselves; they are shown unmasked.
            patterns: {
                let mut p = Vec::new();
                for (v, n) in texts(&pats, 0)?.into_iter().zip(numbers(&pats, 1)?) {
                    p.push(Frequency {
                        value: v.unwrap_or_default(),
                        count: n.unwrap_or(0),
                    });
                }
                p
            },
            validators,
        });
    }
    // Frequent values as read (unmasked only where the reader sees them so) make code-list
    // suggestions: read them for the columns that look categorical.
    let mut categorical = Vec::new();
    for p in &out {
        if is_categorical(p) {
            let q = quote(&p.column);
            let b = reader
                .sql(&format!(
                    "SELECT DISTINCT CAST({q} AS VARCHAR) AS v FROM {from} WHERE {q} IS NOT NULL ORDER BY v"
                ))
                .await?;
            categorical.push((
                p.column.clone(),
                texts(&b, 0)?.into_iter().flatten().collect::<Vec<_>>(),
            ));
        }
    }
    let suggestions = suggest(resource, &out, &categorical);
    Ok(Profile {
        resource: resource.resource.id.to_string(),
        table_version: Some(table.version),
        rows,
        columns: out,
        suggestions,
    })
}

fn is_categorical(p: &ColumnProfile) -> bool {
    p.distinct > 0 && p.distinct <= 12 && (p.rows - p.nulls) >= 5 * p.distinct
}

/// A regular expression for a pattern: runs of `9` become `\d{n}`, of `A` `[A-Za-z]{n}`, of
/// `汉` `\p{Han}{n}`; anything else is matched literally.
pub fn pattern_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let class = match c {
            '9' => r"\d".to_owned(),
            'A' => "[A-Za-z]".to_owned(),
            '汉' => r"\p{Han}".to_owned(),
            other => regex_escape(other),
        };
        out.push_str(&class);
        if n > 1 {
            out.push_str(&format!("{{{n}}}"));
        }
        i += n;
    }
    out.push('$');
    out
}

fn regex_escape(c: char) -> String {
    if "\\.+*?()|[]{}^$#&-~".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

fn suggest(
    resource: &ResourceDetail,
    profiles: &[ColumnProfile],
    categorical: &[(String, Vec<String>)],
) -> Vec<RuleSpec> {
    let id = resource.resource.id.as_str().to_lowercase();
    let rule = |column: &str, check: Check, why: String| RuleSpec {
        id: format!(
            "{id}-{}-{}",
            column.replace('_', "-"),
            check.kind().replace('_', "-")
        ),
        resource: Some(resource.resource.id.to_string()),
        element: None,
        column: (!matches!(check, Check::Unique { .. })).then(|| column.to_owned()),
        check,
        severity: Severity::Warn,
        description: format!("suggested from the profile: {why}"),
    };
    let mut out = Vec::new();
    for p in profiles.iter().filter(|p| p.rows > 0) {
        let present = p.rows - p.nulls;
        if p.nulls == 0 {
            out.push(rule(
                &p.column,
                Check::NotNull,
                format!("no nulls in {} rows", p.rows),
            ));
        }
        if present > 1 && p.distinct == present {
            out.push(rule(
                &p.column,
                Check::Unique {
                    columns: vec![p.column.clone()],
                },
                format!("all {present} values distinct"),
            ));
        }
        let valid = p
            .validators
            .iter()
            .find(|(_, share)| *share >= 1.0)
            .map(|(v, _)| v.clone());
        if let Some(v) = &valid {
            out.push(rule(
                &p.column,
                Check::CheckDigit {
                    validator: v.clone(),
                },
                format!("every value is a valid {v}"),
            ));
        }
        let mostly_ids = p
            .validators
            .iter()
            .any(|(v, share)| v == "resident_id" && *share >= 0.95);
        if mostly_ids {
            let birth = profiles
                .iter()
                .find(|o| o.data_type == "date" && o.column.contains("birth"));
            let sex = profiles
                .iter()
                .find(|o| o.column == "sex" || o.column == "gender");
            if birth.is_some() || sex.is_some() {
                out.push(rule(
                    &p.column,
                    Check::IdAgreement {
                        birth_date: birth.map(|b| b.column.clone()),
                        sex: sex.map(|s| s.column.clone()),
                    },
                    "resident ID numbers beside birth date / sex".into(),
                ));
            }
        }
        if let Some((_, values)) = categorical.iter().find(|(c, _)| c == &p.column) {
            let divisions = zhongshu_catalog::reference::Divisions::get();
            let check = if values
                .iter()
                .all(|v| crate::rule::SEX_CODES.contains(&v.as_str()))
            {
                Check::CodeList {
                    standard: Some("gb2261".into()),
                    list: None,
                    labels: false,
                    values: Vec::new(),
                }
            } else if values.iter().all(|v| v.len() == 6 && divisions.contains(v)) {
                Check::CodeList {
                    standard: Some("gb2260".into()),
                    list: None,
                    labels: false,
                    values: Vec::new(),
                }
            } else {
                Check::CodeList {
                    standard: None,
                    list: None,
                    labels: false,
                    values: values.clone(),
                }
            };
            out.push(rule(
                &p.column,
                check,
                format!("{} distinct values in {present} rows", values.len()),
            ));
        } else if matches!(p.data_type.as_str(), "int64" | "float64")
            && p.min
                .as_deref()
                .and_then(|m| m.parse::<f64>().ok())
                .is_some_and(|m| m >= 0.0)
        {
            out.push(rule(
                &p.column,
                Check::Range {
                    min: Some(0.0),
                    max: None,
                },
                "never negative".into(),
            ));
        } else if p.data_type == "string"
            && valid.is_none()
            && p.distinct > 12
            && p.patterns.len() == 1
            && p.patterns[0].count == present
        {
            out.push(rule(
                &p.column,
                Check::Regex {
                    pattern: pattern_regex(&p.patterns[0].value),
                },
                format!("every value has the pattern {}", p.patterns[0].value),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_become_anchored_regexes() {
        assert_eq!(pattern_regex("汉A99999"), r"^\p{Han}[A-Za-z]\d{5}$");
        assert_eq!(pattern_regex("9999-99-99"), r"^\d{4}\-\d{2}\-\d{2}$");
        let re = regex::Regex::new(&pattern_regex(&udf::pattern("粤B12345"))).unwrap();
        assert!(re.is_match("粤B12345") && !re.is_match("粤B1234"));
    }
}
