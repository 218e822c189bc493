//! Rules applied row by row while a run lands: an `error` rule sends a failing row to
//! quarantine, a `warn` rule lands it and flags it.
//!
//! Every rule kind that can be judged from one row is checked here, with the same meaning as
//! its SQL form in [`crate::evaluate`]: not null, regex, range, code list, check digit, ID
//! agreement, and reference (the referenced column's values are read from the lake once, when
//! the run starts). `unique` is checked within the run (a key delivered twice in one run);
//! duplicates against rows already in the table, `sql` predicates and freshness are
//! dataset-level and are found by the evaluation that follows every committed run. An `error`
//! reference rule whose referenced table does not exist yet fails the run (nothing could be
//! checked); a `warn` one is skipped with a warning.

use crate::evaluate::{QualityError, rules_for};
use crate::rule::{Check, SEX_CODES, Severity, sex_code, unique_keys};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use std::collections::HashSet;
use std::sync::Mutex;
use zhongshu_catalog::reference::Divisions;
use zhongshu_catalog::validators::{Validator, check_resident_id};
use zhongshu_catalog::{CatalogStore, Column, ResourceId};
use zhongshu_engine::Lake;

/// Why a row failed a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailure {
    /// The column at fault.
    pub column: String,
    /// `rule:<id>`.
    pub rule: String,
    /// What was wrong.
    pub reason: String,
}

enum Test {
    NotNull,
    Regex(regex::Regex),
    Range(Option<f64>, Option<f64>),
    Divisions,
    Codes(HashSet<String>),
    Valid(Validator),
    IdAgreement {
        birth: Option<usize>,
        sex: Option<usize>,
    },
    Reference(HashSet<String>),
    Unique {
        positions: Vec<usize>,
        seen: Mutex<HashSet<String>>,
    },
}

/// A rule compiled against the columns of a run.
pub struct RowRule {
    id: String,
    severity: Severity,
    column: Option<usize>,
    column_name: String,
    test: Test,
}

fn position(columns: &[Column], name: &str, rule: &str) -> Result<usize, QualityError> {
    columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| QualityError::Rule(format!("rule {rule}: no column `{name}`")))
}

/// ISO form of a date's text (`20260102`, `2026/01/02` and `2026-01-02` all compare equal).
fn iso_date(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 8 {
        format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..])
    } else {
        text.to_owned()
    }
}

impl RowRule {
    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Checks one row given as the text of each column, in the order the rule was compiled
    /// against.
    pub fn check(&self, values: &[Option<&str>]) -> Result<(), RowFailure> {
        let value = self.column.and_then(|i| values.get(i).copied().flatten());
        let fail = |reason: String| {
            Err(RowFailure {
                column: self.column_name.clone(),
                rule: format!("rule:{}", self.id),
                reason,
            })
        };
        match (&self.test, value) {
            (Test::NotNull, None) => fail(format!("{} is empty", self.column_name)),
            (Test::Unique { positions, seen }, _) => {
                let mut key = String::new();
                for &p in positions {
                    key.push_str(values.get(p).copied().flatten().unwrap_or(""));
                    key.push('\u{1f}');
                }
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                if seen.insert(key) {
                    Ok(())
                } else {
                    fail(format!(
                        "key ({}) delivered twice in this run",
                        self.column_name
                    ))
                }
            }
            (_, None) | (Test::NotNull, Some(_)) => Ok(()),
            (Test::Regex(re), Some(v)) if !re.is_match(v) => {
                fail(format!("`{v}` does not match {}", re.as_str()))
            }
            (Test::Range(min, max), Some(v)) => match v.parse::<f64>() {
                Ok(n) if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) => fail(format!(
                    "{n} is outside [{}, {}]",
                    min.map_or("-∞".into(), |m| m.to_string()),
                    max.map_or("∞".into(), |m| m.to_string())
                )),
                Ok(_) => Ok(()),
                Err(_) => fail(format!("`{v}` is not a number")),
            },
            (Test::Divisions, Some(v)) if !Divisions::get().contains(v) => {
                fail(format!("`{v}` is not a GB/T 2260 division code"))
            }
            (Test::Codes(codes), Some(v)) if !codes.contains(v) => {
                fail(format!("`{v}` is not in the code list"))
            }
            (Test::Valid(validator), Some(v)) => match validator.check(v) {
                Ok(()) => Ok(()),
                Err(e) => fail(format!("`{v}`: {e}")),
            },
            (Test::IdAgreement { birth, sex }, Some(v)) => {
                // An invalid number is the check-digit rule's finding, not a disagreement.
                let Ok(parts) = check_resident_id(v) else {
                    return Ok(());
                };
                if let Some(b) = birth.and_then(|i| values.get(i).copied().flatten())
                    && iso_date(b) != parts.birth_date
                {
                    return fail(format!(
                        "birth date {b} disagrees with the ID number ({})",
                        parts.birth_date
                    ));
                }
                if let Some(s) = sex.and_then(|i| values.get(i).copied().flatten())
                    && sex_code(s) != parts.sex_code.to_string()
                {
                    return fail(format!(
                        "sex {s} disagrees with the ID number ({})",
                        parts.sex_code
                    ));
                }
                Ok(())
            }
            (Test::Reference(known), Some(v)) if !known.contains(v) => {
                fail(format!("`{v}` is not in the referenced resource"))
            }
            _ => Ok(()),
        }
    }
}

/// Reads the distinct values of a referenced column, as text.
async fn reference_values(
    store: &dyn CatalogStore,
    lake: &Lake,
    rule: &str,
    resource: &str,
    table: &str,
    column: &str,
) -> Result<HashSet<String>, QualityError> {
    let detail = store
        .get_resource(&ResourceId::new(resource))
        .await?
        .ok_or_else(|| {
            QualityError::Rule(format!(
                "rule {rule}: referenced resource {resource} is not in the catalog"
            ))
        })?;
    let path = detail
        .tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.path.clone())
        .ok_or_else(|| {
            QualityError::Rule(format!(
                "rule {rule}: resource {resource} has no table `{table}` yet"
            ))
        })?;
    let ctx = lake
        .system_session("ingest-rules", &[("r", path.as_str())])
        .await?;
    let batches = ctx
        .sql(&format!(
            "SELECT DISTINCT CAST({} AS VARCHAR) FROM r",
            crate::evaluate::quote(column)
        ))
        .await?;
    let mut out = HashSet::new();
    for b in batches {
        let texts = cast(b.column(0), &DataType::Utf8)
            .map_err(|e| QualityError::Engine(zhongshu_engine::EngineError::Arrow(e)))?;
        let texts = texts.as_string::<i32>();
        out.extend(texts.iter().flatten().map(str::to_owned));
    }
    Ok(out)
}

/// Compiles the rules that apply to `resource` (its own and its elements') against the
/// columns a run lands. Dataset-level kinds are left to the evaluation after the run.
pub async fn row_rules(
    store: &dyn CatalogStore,
    lake: &Lake,
    resource: &ResourceId,
    columns: &[Column],
    derived: &[String],
) -> Result<Vec<RowRule>, QualityError> {
    let rules = crate::manage::stored_rules(store).await?;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let Some(mut detail) = store.get_resource(resource).await? else {
        return Err(QualityError::Rule(format!("no resource {resource}")));
    };
    detail.columns = columns.to_vec();
    let elements = store.list_elements().await?;
    let mut out = Vec::new();
    for bound in rules_for(&rules, &detail, &elements) {
        let id = bound.spec.id.clone();
        let column = match (&bound.column, &bound.spec.column) {
            (Some(c), _) => Some(position(columns, &c.name, &id)?),
            (None, Some(name)) => {
                return Err(QualityError::Rule(format!(
                    "rule {id}: resource {resource} has no column `{name}`"
                )));
            }
            (None, None) => None,
        };
        let uses_derived = |name: &str| derived.iter().any(|d| d == name);
        let checked: Vec<&str> = match &bound.spec.check {
            Check::IdAgreement { birth_date, sex } => [birth_date, sex]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
            Check::Unique { columns: keys } => keys.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        if bound.column.as_ref().is_some_and(|c| uses_derived(&c.name))
            || checked.iter().any(|c| uses_derived(c))
        {
            continue;
        }
        let test = match &bound.spec.check {
            Check::NotNull => Test::NotNull,
            Check::Regex { pattern } => Test::Regex(
                regex::Regex::new(pattern)
                    .map_err(|e| QualityError::Rule(format!("rule {id}: {e}")))?,
            ),
            Check::Range { min, max } => Test::Range(*min, *max),
            Check::CodeList {
                standard: Some(s), ..
            } if s == "gb2260" => Test::Divisions,
            Check::CodeList {
                standard: Some(_), ..
            } => Test::Codes(SEX_CODES.map(str::to_owned).into()),
            Check::CodeList { values, .. } => Test::Codes(values.iter().cloned().collect()),
            Check::CheckDigit { validator } => Test::Valid(
                serde_json::from_value(serde_json::Value::String(validator.clone()))
                    .map_err(|_| QualityError::Rule(format!("rule {id}: unknown validator")))?,
            ),
            Check::IdAgreement { birth_date, sex } => Test::IdAgreement {
                birth: birth_date
                    .as_deref()
                    .map(|b| position(columns, b, &id))
                    .transpose()?,
                sex: sex
                    .as_deref()
                    .map(|s| position(columns, s, &id))
                    .transpose()?,
            },
            Check::Reference {
                ref_resource,
                ref_column,
                ref_table,
            } => {
                match reference_values(store, lake, &id, ref_resource, ref_table, ref_column).await
                {
                    Ok(known) => Test::Reference(known),
                    // A warn rule cannot stop a landing: without its referenced table it waits
                    // for the evaluation after the run (which reports the same problem).
                    Err(e) if bound.spec.severity == Severity::Warn => {
                        tracing::warn!(rule = %id, error = %e, "reference rule skipped at ingest");
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            Check::Unique { columns: keys } => {
                let keys = unique_keys(keys, columns);
                if keys.is_empty() {
                    continue;
                }
                let positions = keys
                    .iter()
                    .map(|k| position(columns, k, &id))
                    .collect::<Result<_, _>>()?;
                out.push(RowRule {
                    id,
                    severity: bound.spec.severity,
                    column: None,
                    column_name: keys.join(","),
                    test: Test::Unique {
                        positions,
                        seen: Mutex::default(),
                    },
                });
                continue;
            }
            Check::Sql { .. } | Check::Freshness => continue,
        };
        out.push(RowRule {
            id,
            severity: bound.spec.severity,
            column_name: bound.column.map(|c| c.name).unwrap_or_default(),
            column,
            test,
        });
    }
    // Unique rules last, so that a row another rule rejects does not claim its key.
    out.sort_by_key(|r| matches!(r.test, Test::Unique { .. }));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(test: Test, column: Option<usize>) -> RowRule {
        RowRule {
            id: "r".into(),
            severity: Severity::Error,
            column,
            column_name: "c".into(),
            test,
        }
    }

    #[test]
    fn row_rules_mean_what_their_sql_means() {
        let id = Some("11010519491231002X");
        let agree = rule(
            Test::IdAgreement {
                birth: Some(1),
                sex: Some(2),
            },
            Some(0),
        );
        assert!(agree.check(&[id, Some("19491231"), Some("女")]).is_ok());
        assert!(agree.check(&[id, Some("1949-12-31"), Some("2")]).is_ok());
        assert!(agree.check(&[id, Some("1949-12-30"), Some("2")]).is_err());
        assert!(agree.check(&[id, Some("1949-12-31"), Some("1")]).is_err());
        // A broken number is left to the check-digit rule.
        assert!(
            agree
                .check(&[Some("110105194912310021"), Some("2000-01-01"), None])
                .is_ok()
        );
        let digit = rule(Test::Valid(Validator::ResidentId), Some(0));
        assert!(digit.check(&[id]).is_ok());
        let failure = digit.check(&[Some("110105194912310021")]).unwrap_err();
        assert_eq!(failure.rule, "rule:r");
        assert!(
            digit.check(&[None]).is_ok(),
            "absence is not_null's finding"
        );
        assert!(rule(Test::NotNull, Some(0)).check(&[None]).is_err());
        let divisions = rule(Test::Divisions, Some(0));
        assert!(divisions.check(&[Some("440310")]).is_ok());
        assert!(divisions.check(&[Some("449999")]).is_err());
        let range = rule(Test::Range(Some(0.0), Some(10.0)), Some(0));
        assert!(range.check(&[Some("11")]).is_err());
        assert!(range.check(&[Some("x")]).is_err());
        let unique = rule(
            Test::Unique {
                positions: vec![0, 1],
                seen: Mutex::default(),
            },
            None,
        );
        assert!(unique.check(&[Some("a"), Some("1")]).is_ok());
        assert!(unique.check(&[Some("a"), Some("2")]).is_ok());
        assert!(unique.check(&[Some("a"), Some("1")]).is_err());
    }
}
