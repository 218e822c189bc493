//! A grant's row filter with the principal's attributes written in.
//!
//! A grant limits rows with one SQL expression over the table's columns, which may name
//! `principal.jurisdiction`, `principal.org` and `principal.id`. They are replaced in the parsed
//! expression, not in its text: a rewrite of the text also changes string literals (`note =
//! 'see principal.org'`) and splices the principal's values into SQL, where a quote in a value
//! could end the literal and widen the filter. In the tree a value can only be a string literal,
//! and the SQL handed to the engine is checked to read back as exactly that tree.
//!
//! - `principal.org` and `principal.id` become string literals;
//! - `principal.jurisdiction` is a list of codes, so it stands only in an IN list, where it
//!   becomes one literal per code: `street_code IN (principal.jurisdiction)`. A principal without
//!   a jurisdiction gets `NULL`, which no row matches, so both `IN` and `NOT IN` show no rows;
//! - any other `principal.…` is refused.
//!
//! Unquoted identifiers are compared without case, as DataFusion reads them.

use datafusion::sql::sqlparser::ast::{AccessExpr, Expr, Ident, Value, VisitMut, VisitorMut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;
use std::ops::ControlFlow;
use zhongshu_catalog::Principal;

/// A grant's row filter with the principal's attributes substituted (see the module
/// documentation), as the SQL text of one expression.
pub fn row_filter(filter: &str, principal: &Principal) -> Result<String, String> {
    let mut expr = parse(filter)?;
    if let ControlFlow::Break(reason) = expr.visit(&mut Substitute { principal }) {
        return Err(reason);
    }
    let sql = expr.to_string();
    // The engine parses this text again: it must be the tree built here, values only literals.
    if !matches!(parse(&sql), Ok(read) if read == expr) {
        return Err(format!(
            "`{filter}` does not read back as the same expression once written out as SQL; \
             write it more simply"
        ));
    }
    Ok(sql)
}

/// `sql` as exactly one expression, read as DataFusion's default (generic) dialect does.
fn parse(sql: &str) -> Result<Expr, String> {
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| e.to_string())?;
    let expr = parser.parse_expr().map_err(|e| e.to_string())?;
    if parser.peek_token().token != Token::EOF {
        return Err(format!("`{sql}` is more than one expression"));
    }
    Ok(expr)
}

#[derive(Debug, Clone, Copy)]
enum Attribute {
    Jurisdiction,
    Org,
    Id,
}

/// The attribute `expr` names if it is `principal.…`, or why it names none.
fn attribute(expr: &Expr) -> Option<Result<Attribute, String>> {
    let name = match expr {
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [first, name] if is_principal(first) => Some(name),
            [first, ..] if is_principal(first) => None,
            _ => return None,
        },
        // `principal.org[1]` and the like.
        Expr::CompoundFieldAccess { root, access_chain }
            if matches!(&**root, Expr::Identifier(first) if is_principal(first))
                && matches!(access_chain.first(), Some(AccessExpr::Dot(_))) =>
        {
            None
        }
        _ => return None,
    };
    let attribute = match name.map(normalized).as_deref() {
        Some("jurisdiction") => Attribute::Jurisdiction,
        Some("org") => Attribute::Org,
        Some("id") => Attribute::Id,
        _ => {
            return Some(Err(format!(
                "{expr} is not a principal attribute (use principal.jurisdiction, \
                 principal.org or principal.id)"
            )));
        }
    };
    Some(Ok(attribute))
}

/// An identifier as DataFusion reads it: unquoted ones in lower case.
fn normalized(ident: &Ident) -> String {
    match ident.quote_style {
        None => ident.value.to_lowercase(),
        Some(_) => ident.value.clone(),
    }
}

fn is_principal(ident: &Ident) -> bool {
    normalized(ident) == "principal"
}

/// `value` as a string literal, refused if its SQL text would read back as something else
/// (sqlparser writes a quote after a backslash, and two quotes in a row, as they are).
fn literal(attribute: &str, value: &str) -> Result<Expr, String> {
    let quoted = Expr::Value(Value::SingleQuotedString(value.to_owned()).into());
    match parse(&quoted.to_string()) {
        Ok(read) if read == quoted => Ok(quoted),
        _ => Err(format!(
            "the principal's {attribute} `{value}` cannot be written as a SQL string literal; \
             correct the principal"
        )),
    }
}

/// Replaces the principal's attributes in an expression tree, before its children are visited.
struct Substitute<'a> {
    principal: &'a Principal,
}

impl Substitute<'_> {
    fn substitute(&self, expr: &mut Expr) -> Result<(), String> {
        if let Expr::InList { list, .. } = expr {
            let mut expanded = Vec::with_capacity(list.len());
            for element in std::mem::take(list) {
                if matches!(attribute(&element), Some(Ok(Attribute::Jurisdiction))) {
                    expanded.extend(self.jurisdiction()?);
                } else {
                    expanded.push(element);
                }
            }
            // The other elements, and the tested expression, are visited next.
            *list = expanded;
            return Ok(());
        }
        let value = match attribute(expr) {
            None => return Ok(()),
            Some(Err(reason)) => return Err(reason),
            Some(Ok(Attribute::Jurisdiction)) => {
                return Err(
                    "principal.jurisdiction is a list of codes and stands only in an IN \
                     list, as in `street_code IN (principal.jurisdiction)`"
                        .to_owned(),
                );
            }
            Some(Ok(Attribute::Org)) => literal("org", self.principal.org.as_str())?,
            Some(Ok(Attribute::Id)) => literal("id", self.principal.id.as_str())?,
        };
        *expr = value;
        Ok(())
    }

    /// The elements `principal.jurisdiction` stands for in an IN list: `NULL` if there are no
    /// codes, so that no row matches.
    fn jurisdiction(&self) -> Result<Vec<Expr>, String> {
        let codes = &self.principal.attributes.jurisdiction;
        if codes.is_empty() {
            return Ok(vec![Expr::Value(Value::Null.into())]);
        }
        codes
            .iter()
            .map(|code| literal("jurisdiction", code))
            .collect()
    }
}

impl VisitorMut for Substitute<'_> {
    type Break = String;

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<String> {
        match self.substitute(expr) {
            Ok(()) => ControlFlow::Continue(()),
            Err(reason) => ControlFlow::Break(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;
    use zhongshu_catalog::{OrgId, PrincipalAttributes, PrincipalId, PrincipalKind};

    fn principal(org: &str, jurisdiction: &[&str]) -> Principal {
        Principal {
            id: PrincipalId::new("pingshan_street"),
            display_name: String::new(),
            kind: PrincipalKind::User,
            org: OrgId::new(org),
            roles: vec![],
            attributes: PrincipalAttributes {
                jurisdiction: jurisdiction.iter().map(|j| (*j).to_owned()).collect(),
                clearance: None,
            },
        }
    }

    /// How many rows of a table with street codes 440310001, 440310002 and x the filter shows.
    async fn rows_shown(filter: &str) -> usize {
        let sql = format!(
            "SELECT street_code FROM (VALUES ('440310001'), ('440310002'), ('x')) \
             AS t (street_code) WHERE {filter}"
        );
        let batches = SessionContext::new()
            .sql(&sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        batches.iter().map(|b| b.num_rows()).sum()
    }

    #[test]
    fn string_literals_keep_their_text() {
        let p = principal("440310-rsj", &[]);
        assert_eq!(
            row_filter("note = 'see principal.org' AND org = principal.org", &p).unwrap(),
            "note = 'see principal.org' AND org = '440310-rsj'"
        );
    }

    #[test]
    fn org_and_id_become_string_literals() {
        let p = principal("440310-rsj", &[]);
        assert_eq!(
            row_filter("filed_by = principal.id OR (org = PRINCIPAL.ORG)", &p).unwrap(),
            "filed_by = 'pingshan_street' OR (org = '440310-rsj')"
        );
    }

    #[test]
    fn jurisdiction_becomes_its_codes_in_an_in_list_and_is_refused_elsewhere() {
        let p = principal("440310001", &["440310001", "440310002"]);
        assert_eq!(
            row_filter("street_code IN (principal.jurisdiction)", &p).unwrap(),
            "street_code IN ('440310001', '440310002')"
        );
        assert_eq!(
            row_filter(
                "street_code NOT IN ('440310003', principal.jurisdiction)",
                &p
            )
            .unwrap(),
            "street_code NOT IN ('440310003', '440310001', '440310002')"
        );
        let err = row_filter("street_code = principal.jurisdiction", &p).unwrap_err();
        assert!(err.contains("stands only in an IN list"), "{err}");
    }

    #[tokio::test]
    async fn quotes_in_values_stay_inside_literals() {
        let widening = "x') OR (1=1";
        let p = principal("o'rg", &[widening]);
        let sql = row_filter("street_code IN (principal.jurisdiction)", &p).unwrap();
        let Ok(Expr::InList {
            list,
            negated: false,
            ..
        }) = parse(&sql)
        else {
            panic!("not one IN list: {sql}");
        };
        assert_eq!(
            list,
            [Expr::Value(
                Value::SingleQuotedString(widening.to_owned()).into()
            )]
        );
        assert_eq!(rows_shown(&sql).await, 0, "{sql}");
        assert_eq!(
            row_filter("org = principal.org", &p).unwrap(),
            "org = 'o''rg'"
        );
        // sqlparser would write this value out unescaped, and the generic dialect would end the
        // literal at the quote and comment out the rest: it is refused instead.
        let p = principal("440310001", &["x\\') OR (1=1) --"]);
        let err = row_filter("street_code IN (principal.jurisdiction)", &p).unwrap_err();
        assert!(
            err.contains("cannot be written as a SQL string literal"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_empty_jurisdiction_shows_no_rows() {
        let p = principal("440310-rsj", &[]);
        for (filter, expected) in [
            (
                "street_code IN (principal.jurisdiction)",
                "street_code IN (NULL)",
            ),
            (
                "street_code NOT IN (principal.jurisdiction)",
                "street_code NOT IN (NULL)",
            ),
        ] {
            let sql = row_filter(filter, &p).unwrap();
            assert_eq!(sql, expected);
            assert_eq!(rows_shown(&sql).await, 0, "{sql}");
        }
        let street = principal("440310001", &["440310001"]);
        let sql = row_filter("street_code IN (principal.jurisdiction)", &street).unwrap();
        assert_eq!(rows_shown(&sql).await, 1, "{sql}");
    }

    #[test]
    fn other_principal_attributes_are_refused() {
        let p = principal("440310-rsj", &["440310001"]);
        for filter in ["a = principal.salary", "a = principal.org.name"] {
            let err = row_filter(filter, &p).unwrap_err();
            assert!(
                err.contains(
                    "is not a principal attribute (use principal.jurisdiction, principal.org \
                     or principal.id)"
                ),
                "{filter}: {err}"
            );
        }
    }

    #[test]
    fn more_than_one_expression_is_refused() {
        let p = principal("440310-rsj", &[]);
        let err = row_filter("a = 1; DROP TABLE x", &p).unwrap_err();
        assert!(err.contains("more than one expression"), "{err}");
    }
}
