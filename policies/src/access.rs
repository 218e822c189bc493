//! What a principal may query, as decided by [`crate::decide`]: the tables it sees, the columns
//! of each with their masks, and the row filter. The engine's governed session is the mechanism
//! that makes these hold whatever the SQL.

use crate::mask::Mask;
use serde::Serialize;

/// One column a principal sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnAccess {
    /// Column name.
    pub name: String,
    /// The mask applied, if any.
    pub mask: Option<Mask>,
}

/// One table a principal may query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableAccess {
    /// The schema it appears in (the library tier: `base`, `theme`, `special`, `raw`).
    pub schema: String,
    /// The name it appears under.
    pub name: String,
    /// Its lake path.
    pub path: String,
    /// The columns shown, in order; others are hidden.
    pub columns: Vec<ColumnAccess>,
    /// SQL predicate over the table's columns limiting the rows (principal attributes already
    /// substituted), if any.
    pub row_filter: Option<String>,
}

/// A table the principal may discover (it is listed, with its columns) but not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeniedTable {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Its lake path.
    pub path: String,
    /// The columns listed.
    pub columns: Vec<String>,
    /// Why it cannot be read, and what to do about it.
    pub reason: String,
}

/// Everything a principal's session holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionAccess {
    /// Tables it may read.
    pub tables: Vec<TableAccess>,
    /// Tables it may only discover.
    pub denied: Vec<DeniedTable>,
    /// Whether it may read the access audit log.
    pub audit_log: bool,
}

/// The schema and name a lake path appears under: its zone (`base`, `theme`, `special`,
/// `raw`) and its last segment.
pub fn table_name(path: &str) -> (String, String) {
    let mut parts = path.split('/');
    let schema = parts.next().unwrap_or("public").to_owned();
    let name = path.rsplit('/').next().unwrap_or(path).to_owned();
    (schema, name)
}
