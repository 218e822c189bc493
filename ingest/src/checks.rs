//! Row checks a job declares (`[[checks]]`), applied while rows are read: a row that fails
//! one goes to quarantine with the check's rule name and reason.
//!
//! ```toml
//! [[checks]]
//! kind = "not_null"
//! column = "name"
//!
//! [[checks]]
//! kind = "validator"          # a standard validator: resident_id, uscc, mobile, …
//! column = "id_no"
//! validator = "resident_id"
//!
//! [[checks]]
//! kind = "regex"
//! column = "street_code"
//! pattern = "^440310\\d{3}$"
//!
//! [[checks]]
//! kind = "range"
//! column = "monthly_base"
//! min = 0
//! max = 100000
//! ```
//! Rules declared on data elements and resources, with severities and scores, are the quality
//! crate's; these are the ingest-time checks it plugs into.

use crate::rows::{Rejection, RowCheck};
use serde::{Deserialize, Serialize};
use zhongshu_catalog::Column;
use zhongshu_catalog::validators::Validator;

/// A declared check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckSpec {
    /// The column must have a value.
    NotNull {
        /// Column.
        column: String,
    },
    /// The value must pass a standard validator.
    Validator {
        /// Column.
        column: String,
        /// Validator code.
        validator: String,
    },
    /// The value must match a regular expression.
    Regex {
        /// Column.
        column: String,
        /// Pattern.
        pattern: String,
    },
    /// The numeric value must lie in `[min, max]`.
    Range {
        /// Column.
        column: String,
        /// Lower bound.
        #[serde(default)]
        min: Option<f64>,
        /// Upper bound.
        #[serde(default)]
        max: Option<f64>,
    },
}

enum Test {
    NotNull,
    Validator(Validator),
    Regex(regex::Regex),
    Range(Option<f64>, Option<f64>),
}

/// A compiled check bound to a column position.
pub struct CompiledCheck {
    column: usize,
    name: String,
    rule: String,
    test: Test,
}

impl CheckSpec {
    fn column(&self) -> &str {
        match self {
            CheckSpec::NotNull { column }
            | CheckSpec::Validator { column, .. }
            | CheckSpec::Regex { column, .. }
            | CheckSpec::Range { column, .. } => column,
        }
    }

    /// Compiles the check against the target's columns.
    pub fn compile(&self, columns: &[Column]) -> Result<CompiledCheck, String> {
        let name = self.column();
        let column = columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| format!("check on unknown column `{name}`"))?;
        let (rule, test) = match self {
            CheckSpec::NotNull { .. } => ("not_null".to_owned(), Test::NotNull),
            CheckSpec::Validator { validator, .. } => {
                let v: Validator = validator.parse()?;
                (format!("validator:{v}"), Test::Validator(v))
            }
            CheckSpec::Regex { pattern, .. } => {
                let re =
                    regex::Regex::new(pattern).map_err(|e| format!("check on `{name}`: {e}"))?;
                ("regex".to_owned(), Test::Regex(re))
            }
            CheckSpec::Range { min, max, .. } => ("range".to_owned(), Test::Range(*min, *max)),
        };
        Ok(CompiledCheck {
            column,
            name: name.to_owned(),
            rule,
            test,
        })
    }
}

impl RowCheck for CompiledCheck {
    fn check(&self, _columns: &[Column], values: &[Option<&str>]) -> Result<(), Rejection> {
        let value = values.get(self.column).copied().flatten();
        let fail = |reason: String| {
            Err(Rejection {
                column: self.name.clone(),
                rule: self.rule.clone(),
                reason,
            })
        };
        match (&self.test, value) {
            (Test::NotNull, None) => fail(format!("{} is empty", self.name)),
            (_, None) | (Test::NotNull, Some(_)) => Ok(()),
            (Test::Validator(v), Some(x)) => match v.check(x) {
                Ok(()) => Ok(()),
                Err(e) => fail(format!("`{x}`: {e}")),
            },
            (Test::Regex(re), Some(x)) if !re.is_match(x) => {
                fail(format!("`{x}` does not match {}", re.as_str()))
            }
            (Test::Regex(_), Some(_)) => Ok(()),
            (Test::Range(min, max), Some(x)) => match x.parse::<f64>() {
                Ok(n) if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) => fail(format!(
                    "{n} is outside [{}, {}]",
                    min.map_or("-∞".into(), |m| m.to_string()),
                    max.map_or("∞".into(), |m| m.to_string())
                )),
                Ok(_) => Ok(()),
                Err(_) => fail(format!("`{x}` is not a number")),
            },
        }
    }
}

/// Rejects a row whose key was already accepted in this run (merge mode: one row per key).
pub struct UniqueKey {
    positions: Vec<usize>,
    names: String,
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl UniqueKey {
    /// A check on the given key columns.
    pub fn new(columns: &[Column], keys: &[String]) -> Result<UniqueKey, String> {
        let positions = keys
            .iter()
            .map(|k| {
                columns
                    .iter()
                    .position(|c| &c.name == k)
                    .ok_or_else(|| format!("key `{k}` is not a column"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UniqueKey {
            positions,
            names: keys.join(","),
            seen: Default::default(),
        })
    }
}

impl RowCheck for UniqueKey {
    fn check(&self, _columns: &[Column], values: &[Option<&str>]) -> Result<(), Rejection> {
        let mut key = String::new();
        for &p in &self.positions {
            match values.get(p).copied().flatten() {
                Some(v) => {
                    key.push_str(v);
                    key.push('\u{1f}');
                }
                None => {
                    return Err(Rejection {
                        column: self.names.clone(),
                        rule: "required".into(),
                        reason: format!("key ({}) is incomplete", self.names),
                    });
                }
            }
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.insert(key) {
            Ok(())
        } else {
            Err(Rejection {
                column: self.names.clone(),
                rule: "duplicate_key".into(),
                reason: format!(
                    "key ({}) was already delivered earlier in this run",
                    self.names
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhongshu_catalog::{Category, Grade};

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            title: name.into(),
            data_type: "string".into(),
            nullable: true,
            is_key: false,
            description: String::new(),
            category: Category::Public,
            grade: Grade::L1,
            element: None,
            binding: None,
        }
    }

    #[test]
    fn checks_reject_with_their_rule() {
        let cols = vec![col("id_no"), col("code"), col("n")];
        let checks: Vec<CompiledCheck> = [
            CheckSpec::Validator {
                column: "id_no".into(),
                validator: "resident_id".into(),
            },
            CheckSpec::Regex {
                column: "code".into(),
                pattern: "^4403".into(),
            },
            CheckSpec::Range {
                column: "n".into(),
                min: Some(0.0),
                max: Some(10.0),
            },
            CheckSpec::NotNull {
                column: "code".into(),
            },
        ]
        .iter()
        .map(|c| c.compile(&cols).unwrap())
        .collect();
        let run = |v: [Option<&str>; 3]| {
            checks
                .iter()
                .try_for_each(|c| c.check(&cols, &v))
                .map_err(|r| r.rule)
        };
        assert_eq!(
            run([Some("11010519491231002X"), Some("440310"), Some("3")]),
            Ok(())
        );
        assert_eq!(
            run([Some("110105194912310021"), Some("440310"), Some("3")]),
            Err("validator:resident_id".into())
        );
        assert_eq!(run([None, Some("110000"), None]), Err("regex".into()));
        assert_eq!(run([None, Some("440310"), Some("11")]), Err("range".into()));
        assert_eq!(run([None, None, None]), Err("not_null".into()));
        assert!(
            CheckSpec::NotNull {
                column: "nope".into()
            }
            .compile(&cols)
            .is_err()
        );
        assert!(
            CheckSpec::Validator {
                column: "id_no".into(),
                validator: "nope".into()
            }
            .compile(&cols)
            .is_err()
        );
    }
}
