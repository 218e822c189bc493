//! Rule specifications: what a data officer declares, per resource or per data element.
//!
//! Rules are written in TOML (`zhongshu quality rules add rules.toml`) and stored in the catalog
//! as JSON, like ingest jobs:
//!
//! ```toml
//! [[rules]]
//! id = "resident-id-check-digit"
//! element = "公民身份号码"            # wherever the element is bound, source or replica
//! kind = "check_digit"
//! validator = "resident_id"
//!
//! [[rules]]
//! id = "rs-enrolments-unique"
//! resource = "440310-RS-0001"
//! kind = "unique"                     # on `columns`, default the resource's key items
//! severity = "warn"                   # error (quarantined at ingest) | warn (landed and flagged)
//! ```

use serde::{Deserialize, Serialize};
use zhongshu_catalog::{Column, QualityRuleRecord};

/// What a failing row does at ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row goes to quarantine.
    #[default]
    Error,
    /// The row lands and is counted as flagged.
    Warn,
}

impl Severity {
    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
        }
    }
}

/// Quality dimensions (完整性、有效性、唯一性、一致性、时效性).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// 完整性: required values are present.
    Completeness,
    /// 有效性: values are well formed and allowed.
    Validity,
    /// 唯一性: entities are not delivered twice.
    Uniqueness,
    /// 一致性: values agree with each other and with their authoritative source.
    Consistency,
    /// 时效性: the data is as fresh as its declared update cycle.
    Timeliness,
}

impl Dimension {
    /// All dimensions, in report order.
    pub const ALL: [Dimension; 5] = [
        Dimension::Completeness,
        Dimension::Validity,
        Dimension::Uniqueness,
        Dimension::Consistency,
        Dimension::Timeliness,
    ];

    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            Dimension::Completeness => "completeness",
            Dimension::Validity => "validity",
            Dimension::Uniqueness => "uniqueness",
            Dimension::Consistency => "consistency",
            Dimension::Timeliness => "timeliness",
        }
    }

    /// Chinese name.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::Completeness => "完整性",
            Dimension::Validity => "有效性",
            Dimension::Uniqueness => "唯一性",
            Dimension::Consistency => "一致性",
            Dimension::Timeliness => "时效性",
        }
    }

    /// Parses a code.
    pub fn from_code(code: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_code() == code)
    }

    /// Weight in a resource's score (they sum to 1).
    pub fn weight(self) -> f64 {
        match self {
            Dimension::Completeness | Dimension::Validity => 0.25,
            Dimension::Consistency => 0.20,
            Dimension::Uniqueness | Dimension::Timeliness => 0.15,
        }
    }
}

/// The check a rule makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// The column has a value.
    NotNull,
    /// No two rows share the key (`columns`, default the resource's key items).
    Unique {
        /// Key columns.
        #[serde(default)]
        columns: Vec<String>,
    },
    /// The value matches a regular expression.
    Regex {
        /// Pattern (Rust/DataFusion syntax).
        pattern: String,
    },
    /// The numeric value lies in `[min, max]`.
    Range {
        /// Lower bound.
        #[serde(default)]
        min: Option<f64>,
        /// Upper bound.
        #[serde(default)]
        max: Option<f64>,
    },
    /// The value is a code of a standard list (`gb2260` division codes, `gb2261` sex codes),
    /// of a code list kept in the catalog (`list`, e.g. GB/T 4754 industry sections loaded from
    /// a file; its codes, or with `labels` its labels), or of `values`.
    CodeList {
        /// `gb2260` or `gb2261`.
        #[serde(default)]
        standard: Option<String>,
        /// A catalog code list's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        list: Option<String>,
        /// Check against the list's labels (名称) instead of its codes.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        labels: bool,
        /// Allowed values (for `list`, filled from the catalog when the rule is evaluated).
        #[serde(default)]
        values: Vec<String>,
    },
    /// The value passes a standard validator: `resident_id` (GB 11643), `uscc` (GB 32100),
    /// `bank_card` (Luhn), `mobile`, `email`, `division_code`.
    CheckDigit {
        /// Validator code.
        validator: String,
    },
    /// The birth date and sex encoded in a resident ID number (the rule's column) agree with
    /// the row's birth-date and sex columns.
    IdAgreement {
        /// Birth-date column.
        #[serde(default)]
        birth_date: Option<String>,
        /// Sex column (GB/T 2261.1 codes, or 男/女).
        #[serde(default)]
        sex: Option<String>,
    },
    /// The value exists in another resource's column (e.g. an owner's ID in 人口基础信息), or
    /// in a reference table of the lake.
    Reference {
        /// The referenced resource.
        ref_resource: String,
        /// Its column.
        ref_column: String,
        /// Its table.
        #[serde(default = "main_table")]
        ref_table: String,
    },
    /// The table was updated within its declared update cycle.
    Freshness,
    /// Any SQL predicate over the row's columns must hold.
    Sql {
        /// The predicate.
        predicate: String,
    },
}

fn main_table() -> String {
    "main".into()
}

impl Check {
    /// The rule kind's code.
    pub fn kind(&self) -> &'static str {
        match self {
            Check::NotNull => "not_null",
            Check::Unique { .. } => "unique",
            Check::Regex { .. } => "regex",
            Check::Range { .. } => "range",
            Check::CodeList { .. } => "code_list",
            Check::CheckDigit { .. } => "check_digit",
            Check::IdAgreement { .. } => "id_agreement",
            Check::Reference { .. } => "reference",
            Check::Freshness => "freshness",
            Check::Sql { .. } => "sql",
        }
    }

    /// The dimension the check measures.
    pub fn dimension(&self) -> Dimension {
        match self {
            Check::NotNull => Dimension::Completeness,
            Check::Unique { .. } => Dimension::Uniqueness,
            Check::Regex { .. }
            | Check::Range { .. }
            | Check::CodeList { .. }
            | Check::CheckDigit { .. }
            | Check::Sql { .. } => Dimension::Validity,
            Check::IdAgreement { .. } | Check::Reference { .. } => Dimension::Consistency,
            Check::Freshness => Dimension::Timeliness,
        }
    }

    /// Whether the check needs a column.
    fn needs_column(&self) -> bool {
        !matches!(
            self,
            Check::Unique { .. } | Check::Freshness | Check::Sql { .. }
        )
    }
}

/// GB/T 2261.1 sex codes.
pub const SEX_CODES: [&str; 4] = ["0", "1", "2", "9"];

/// A sex column's value as a GB/T 2261.1 code (`男` → `1`, `女` → `2`; codes unchanged).
pub fn sex_code(text: &str) -> &str {
    match text {
        "男" => "1",
        "女" => "2",
        other => other,
    }
}

/// The key of a `unique` rule: its `columns`, or else the resource's key items.
pub fn unique_keys(declared: &[String], columns: &[Column]) -> Vec<String> {
    if declared.is_empty() {
        columns
            .iter()
            .filter(|c| c.is_key)
            .map(|c| c.name.clone())
            .collect()
    } else {
        declared.to_vec()
    }
}

/// A declared rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// Rule id (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// The resource the rule is declared on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The data element the rule is declared on (id or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// The column, for a resource rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The check.
    #[serde(flatten)]
    pub check: Check,
    /// What a failing row does at ingest.
    #[serde(default)]
    pub severity: Severity,
    /// Why the rule exists, for reports.
    #[serde(default)]
    pub description: String,
}

/// A file of rules.
#[derive(Debug, Deserialize)]
struct RuleFile {
    rules: Vec<RuleSpec>,
}

impl RuleSpec {
    /// Parses a TOML file holding `[[rules]]` (or one rule).
    pub fn parse_toml(text: &str) -> Result<Vec<RuleSpec>, String> {
        if let Ok(file) = toml::from_str::<RuleFile>(text) {
            return Ok(file.rules);
        }
        toml::from_str::<RuleSpec>(text)
            .map(|r| vec![r])
            .map_err(|e| e.to_string())
    }

    /// The rule as stored in the catalog.
    pub fn from_record(record: &QualityRuleRecord) -> Result<RuleSpec, String> {
        serde_json::from_str(&record.spec).map_err(|e| format!("rule {}: {e}", record.id))
    }

    /// Checks the rule's shape: exactly one scope, a column where the check needs one.
    pub fn validate_shape(&self) -> Result<(), String> {
        match (&self.resource, &self.element) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(format!(
                    "rule {}: give exactly one of `resource` or `element`",
                    self.id
                ));
            }
            (None, Some(_)) if self.column.is_some() => {
                return Err(format!(
                    "rule {}: an element rule applies to every column bound to the element; drop `column`",
                    self.id
                ));
            }
            (Some(_), None) if self.check.needs_column() && self.column.is_none() => {
                return Err(format!(
                    "rule {}: a {} rule needs `column`",
                    self.id,
                    self.check.kind()
                ));
            }
            _ => {}
        }
        if let Check::CheckDigit { validator } = &self.check {
            serde_json::from_value::<zhongshu_catalog::validators::Validator>(
                serde_json::Value::String(validator.clone()),
            )
            .map_err(|_| format!("rule {}: unknown validator `{validator}`", self.id))?;
        }
        if let Check::Sql { predicate } = &self.check {
            single_expression(predicate)
                .map_err(|e| format!("rule {}: predicate `{predicate}`: {e}", self.id))?;
        }
        if let Check::CodeList {
            standard,
            list,
            values,
            ..
        } = &self.check
            && standard.is_none()
            && list.is_none()
            && values.is_empty()
        {
            return Err(format!(
                "rule {}: a code list needs `standard` (gb2260, gb2261), `list` (a catalog code \
                 list) or `values`",
                self.id
            ));
        }
        if let Check::CodeList {
            standard: Some(s), ..
        } = &self.check
            && !matches!(s.as_str(), "gb2260" | "gb2261")
        {
            return Err(format!(
                "rule {}: unknown code standard `{s}` (gb2260, gb2261)",
                self.id
            ));
        }
        Ok(())
    }
}

/// A rule applied to one column (or table) of one resource.
#[derive(Debug, Clone)]
pub struct BoundRule {
    /// The declared rule.
    pub spec: RuleSpec,
    /// The column it checks, if any.
    pub column: Option<Column>,
}

/// Checks that `text` is one SQL expression and nothing more, so that a predicate can be
/// placed inside a larger query (the shared scan) without changing its shape.
fn single_expression(text: &str) -> Result<(), String> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use datafusion::sql::sqlparser::tokenizer::Token;
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(text)
        .map_err(|e| e.to_string())?;
    parser.parse_expr().map_err(|e| e.to_string())?;
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        other => Err(format!("unexpected `{other}` after the expression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_predicate_is_one_expression() {
        assert!(single_expression("monthly_base BETWEEN 0 AND 50000 OR status = '停保'").is_ok());
        assert!(single_expression("x) THEN 1 ELSE 0 END), SUM(CASE WHEN (TRUE").is_err());
        assert!(single_expression("x = 1; DROP TABLE t").is_err());
    }
}
