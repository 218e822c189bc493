//! Which name a statement that failed to plan does not know: a table, a table function or a
//! function. The SQL doors answer each with its own SQLSTATE (42P01, 42883) and the HTTP doors
//! with a 4xx; deciding that here, from the statement and the session's own registries, means no
//! door has to recognise DataFusion's error text.
//!
//! Only a statement that already failed is examined, so a statement DataFusion can plan is never
//! refused by a check of ours. A table the principal may not discover is absent from its session,
//! so it is reported exactly like a table that does not exist.

use datafusion::common::TableReference;
use datafusion::execution::SessionState;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArguments, Ident, ObjectName, TableFactor, Visit, Visitor,
};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// A name the statement uses that the session does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnknownName {
    /// A table (or view) in `FROM`, hidden or missing.
    Table(String),
    /// A table function in `FROM`, or a scalar, aggregate or window function.
    Function(String),
}

/// The first unknown name in `statement`, in the order DataFusion plans them (relations before
/// expressions), or `None` when every name exists and the failure has another cause.
pub(crate) fn first_unknown(state: &SessionState, statement: &DfStatement) -> Option<UnknownName> {
    let mut names = Names::default();
    visit(statement, &mut names);
    if let Some(name) = names
        .table_functions
        .iter()
        .find(|name| !state.table_functions().contains_key(*name))
    {
        return Some(UnknownName::Function(name.clone()));
    }
    let references = state.resolve_table_references(statement).ok()?;
    for reference in references {
        if let TableReference::Bare { table } = &reference
            && names.table_function_references.contains(table.as_ref())
        {
            continue;
        }
        let exists = state
            .schema_for_ref(reference.clone())
            .is_ok_and(|schema| schema.table_exist(reference.table()));
        if !exists {
            return Some(UnknownName::Table(reference.to_string()));
        }
    }
    names
        .functions
        .into_iter()
        .find(|name| {
            !state.scalar_functions().contains_key(name)
                && !state.aggregate_functions().contains_key(name)
                && !state.window_functions().contains_key(name)
                && !PLANNED_BY_NAME.contains(&name.as_str())
        })
        .map(UnknownName::Function)
}

/// Functions the SQL planner handles itself rather than through a registry.
const PLANNED_BY_NAME: &[&str] = &["unnest"];

fn visit(statement: &DfStatement, names: &mut Names) {
    match statement {
        DfStatement::Statement(statement) => {
            let _ = statement.visit(names);
        }
        DfStatement::Explain(explain) => visit(&explain.statement, names),
        DfStatement::CopyTo(_) | DfStatement::CreateExternalTable(_) | DfStatement::Reset(_) => {}
    }
}

/// The function and table-function names of a statement, normalised as DataFusion resolves
/// them (an unquoted single name in lower case, a qualified one as written).
#[derive(Default)]
struct Names {
    functions: Vec<String>,
    /// Table functions as DataFusion looks them up: the first part as written.
    table_functions: BTreeSet<String>,
    /// The same names as table references resolve them, to tell them apart from tables.
    table_function_references: BTreeSet<String>,
}

fn function_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(normalised),
        _ => Some(name.to_string()),
    }
}

fn normalised(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

impl Visitor for Names {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            args: Some(_),
            ..
        } = factor
            && let Some(name) = name.0.first().and_then(|part| part.as_ident())
        {
            self.table_functions.insert(name.to_string());
            self.table_function_references.insert(normalised(name));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        // `CURRENT_DATE` and friends without parentheses fall back to identifiers when no
        // function has the name, so only calls with an argument list are function names.
        if let Expr::Function(function) = expr
            && !matches!(function.args, FunctionArguments::None)
            && let Some(name) = function_name(&function.name)
        {
            self.functions.push(name);
        }
        ControlFlow::Continue(())
    }
}
