//! How complex a statement may be, decided before it is parsed.
//!
//! DataFusion plans, optimises and evaluates expressions recursively, and so does dropping a
//! parsed statement: a chain of a few thousand `+` terms or `UNION ALL`s (which the parser builds
//! without recursing) overflowed a worker thread's stack and took every door down with it. The
//! parser's own recursion limit covers parentheses and subqueries, not chains. So every
//! statement is measured on its tokens, which the tokenizer reads in a loop: the count of
//! operators, keywords that build a node (`AND`, `CASE`, `SELECT`, `UNION`, `JOIN`, …) and
//! opening parentheses bounds how deep any tree built from it can be. A statement above
//! [`MAX_NODES`] is refused with a clear error; the server's threads have stacks large enough
//! for any statement below it (`zhongshu serve` sets them, see `cli`). Commas are not counted,
//! so long `IN (…)` lists and select lists stay allowed.

use crate::error::{EngineError, Result};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The most operators, node-building keywords and parentheses a statement may have.
pub const MAX_NODES: usize = 4096;

/// The most bytes a statement's text may have.
pub const MAX_BYTES: usize = 4 << 20;

/// The stack each thread that plans or runs statements needs for a statement of
/// [`MAX_NODES`]: measured at about 8 MiB for the deepest forms, doubled.
pub const STACK_BYTES: usize = 16 << 20;

/// Refuses `sql` when it is longer than [`MAX_BYTES`] or has more than [`MAX_NODES`] nodes.
/// Text the tokenizer cannot read passes, for the parser to report with its position.
pub fn check(sql: &str) -> Result<()> {
    if sql.len() > MAX_BYTES {
        return Err(EngineError::Limit(format!(
            "the statement is {} bytes long, more than the {MAX_BYTES} a statement may have",
            sql.len()
        )));
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return Ok(());
    };
    let nodes = tokens.iter().filter(|t| builds_a_node(t)).count();
    if nodes > MAX_NODES {
        return Err(EngineError::Limit(format!(
            "the statement has {nodes} operators, clauses and parentheses, more than the \
             {MAX_NODES} a statement may have; split it, or write long lists of values as \
             IN (…) lists"
        )));
    }
    Ok(())
}

fn builds_a_node(token: &Token) -> bool {
    match token {
        Token::Word(word) => matches!(
            word.keyword,
            Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::CASE
                | Keyword::WHEN
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::IS
                | Keyword::BETWEEN
                | Keyword::IN
                | Keyword::EXISTS
                | Keyword::SELECT
                | Keyword::UNION
                | Keyword::INTERSECT
                | Keyword::EXCEPT
                | Keyword::JOIN
                | Keyword::CAST
                | Keyword::OVER
                | Keyword::COLLATE
                | Keyword::AT
        ),
        Token::EOF
        | Token::Number(..)
        | Token::Char(_)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::Whitespace(_)
        | Token::Comma
        | Token::Period
        | Token::SemiColon
        | Token::RParen
        | Token::RBracket
        | Token::RBrace
        | Token::Placeholder(_) => false,
        // Every other token is an operator or opens a nested construct.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_beyond_the_limit_are_refused_and_lists_are_not() {
        let chain = |n: usize, op: &str| format!("SELECT {}", vec!["1"; n].join(op));
        assert!(check(&chain(MAX_NODES, "+")).is_ok());
        assert!(matches!(
            check(&chain(MAX_NODES + 2, "+")),
            Err(EngineError::Limit(_))
        ));
        assert!(check(&chain(MAX_NODES + 2, " AND ")).is_err());
        let unions = vec!["SELECT 1"; MAX_NODES].join(" UNION ALL ");
        assert!(check(&unions).is_err());
        let list = format!("SELECT 1 WHERE 1 IN ({})", vec!["1"; 100_000].join(","));
        assert!(check(&list).is_ok());
        assert!(check(&"x".repeat(MAX_BYTES + 1)).is_err());
        assert!(check("SELECT 'unterminated").is_ok());
    }
}
