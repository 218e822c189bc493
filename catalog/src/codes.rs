//! Code lists (代码表): the district's controlled vocabularies — a national standard such as
//! GB/T 4754 industry sections, or a department's own list of statuses — kept in the catalog so
//! `code_list` quality rules can check values against them by id.
//!
//! A list arrives as a file (CSV with a `code` and a `label` column, UTF-8, header first). A
//! bad file is refused whole, with the line and column of the first problem, so a list is never
//! half-loaded.

use crate::error::{CatalogError, Result};
use serde::{Deserialize, Serialize};

/// One code of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeValue {
    /// The code as stored in data, e.g. `C`.
    pub code: String,
    /// What it means, e.g. 制造业.
    pub label: String,
}

/// A code list as written: its id, names and every code in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCodeList {
    /// Stable identifier, e.g. `gb4754-sections`.
    pub id: String,
    /// Name, e.g. 国民经济行业分类门类.
    pub name: String,
    /// The standard defining it, e.g. `GB/T 4754-2017`.
    #[serde(default)]
    pub standard: Option<String>,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The codes, in the order of the file.
    pub values: Vec<CodeValue>,
}

/// A stored code list without its codes (for listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeListSummary {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Defining standard.
    pub standard: Option<String>,
    /// What it is for.
    pub description: String,
    /// How many codes it has.
    pub codes: i64,
    /// Who last loaded it.
    pub updated_by: String,
    /// When, RFC 3339.
    pub updated_at: String,
}

/// Reads the codes of a code-list file: CSV, UTF-8 (a byte-order mark is allowed), a header
/// naming a `code` column and a `label` column (or 代码 and 名称), one code per line. `file`
/// names the file in errors.
pub fn parse_code_file(file: &str, bytes: &[u8]) -> Result<Vec<CodeValue>> {
    let bad = |line: u64, column: &str, reason: String| CatalogError::Invalid {
        what: format!("code list file {file}, line {line}, column {column}"),
        reason,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        bad(line as u64, "-", "not UTF-8: save the file as UTF-8".into())
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| bad(1, "-", e.to_string()))?
        .clone();
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h));
    let code_at = find(&["code", "代码"])
        .ok_or_else(|| bad(1, "code", "the header names no `code` (代码) column".into()))?;
    let label_at = find(&["label", "名称", "name"]).ok_or_else(|| {
        bad(
            1,
            "label",
            "the header names no `label` (名称) column".into(),
        )
    })?;
    let mut values: Vec<CodeValue> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, "-", e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let code = record.get(code_at).unwrap_or_default();
        let label = record.get(label_at).unwrap_or_default();
        if code.is_empty() {
            return Err(bad(line, "code", "the code is empty".into()));
        }
        if label.is_empty() {
            return Err(bad(line, "label", format!("code `{code}` has no label")));
        }
        if let Some(first) = seen.insert(code.to_owned(), line) {
            return Err(bad(
                line,
                "code",
                format!("code `{code}` appears again (first on line {first})"),
            ));
        }
        values.push(CodeValue {
            code: code.to_owned(),
            label: label.to_owned(),
        });
    }
    if values.is_empty() {
        return Err(bad(2, "code", "the file has no codes".into()));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_in_order_with_a_bom_and_chinese_headers() {
        let file = "\u{feff}代码,名称\nA,农、林、牧、渔业\n\"C\",制造业\n";
        let values = parse_code_file("x.csv", file.as_bytes()).unwrap();
        assert_eq!(values.len(), 2);
        assert_eq!(values[1].code, "C");
        assert_eq!(values[1].label, "制造业");
    }

    #[test]
    fn names_line_and_column_of_the_first_problem() {
        let err = parse_code_file("x.csv", b"code,label\nA,one\nB,\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("line 3") && text.contains("column label"),
            "{text}"
        );
        let err = parse_code_file("x.csv", b"code,label\nA,one\nA,again\n").unwrap_err();
        assert!(err.to_string().contains("first on line 2"), "{err}");
        let err = parse_code_file("x.csv", b"id,label\nA,one\n").unwrap_err();
        assert!(err.to_string().contains("no `code`"), "{err}");
        let err = parse_code_file("x.csv", b"code,label\n").unwrap_err();
        assert!(err.to_string().contains("no codes"), "{err}");
        let err = parse_code_file("x.csv", b"code,label\nA,\xff\n").unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }
}
