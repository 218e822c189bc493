//! What PostgreSQL clients ask of the catalog beyond what datafusion-pg-catalog answers.
//!
//! Database browsers (DBeaver, and every Java tool through pgjdbc's `DatabaseMetaData`) read
//! `pg_catalog` to draw their trees. datafusion-pg-catalog provides the tables; this module fills
//! the gaps those clients hit:
//!
//! - `session_user` / `current_user` name the principal who signed in (the library answers
//!   `postgres` for everyone, which an auditor reading a client's log would take at its word);
//! - `pg_settings` lists the server's fixed settings ([`SERVER_SETTINGS`], the same values `SHOW`
//!   answers), where the library lists one; pgjdbc reads `max_index_keys` from it before it
//!   looks up foreign keys;
//! - `pg_index` and `pg_constraint` are empty: lake tables have no indexes or constraints, and
//!   the library's rows describe a PostgreSQL server's own system catalogs, which are not here.
//!   Their array columns (`indkey`, `conkey`, …) are arrays, not the library's text, so that
//!   pgjdbc's index and foreign-key lookups, which index into them, plan and answer "none";
//!   `pg_get_indexdef` answers NULL, as PostgreSQL does for an oid that is no index;
//! - `information_schema._pg_expandarray(array)`, the set-returning function pgjdbc uses for
//!   primary keys and indexes: [`rewrite`] turns each call into `unnest(_pg_expandarray(…))`,
//!   where `_pg_expandarray` is a scalar function listing the `(x, n)` records, so DataFusion
//!   yields one row per element as PostgreSQL does.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int16Builder, Int32Builder, ListBuilder, StringArray, StructBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, create_udf,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    AccessExpr, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Statement, Value, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;
use std::sync::{Arc, LazyLock};

/// The settings clients read, by `SHOW name` or from `pg_catalog.pg_settings`. None can be changed
/// (see the module docs of [`crate::pgwire`] for what `SET` does).
pub const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("server_version", "16.6"),
    ("server_version_num", "160006"),
    ("server_encoding", "UTF8"),
    ("client_encoding", "UTF8"),
    ("standard_conforming_strings", "on"),
    ("DateStyle", "ISO, YMD"),
    ("TimeZone", "Asia/Shanghai"),
    ("search_path", "public"),
    ("transaction_isolation", "read committed"),
    ("default_transaction_read_only", "on"),
    ("integer_datetimes", "on"),
    ("max_identifier_length", "63"),
    ("max_index_keys", "32"),
    ("max_function_args", "100"),
];

/// The value of a server setting, by its name in any case (`SHOW TIME ZONE` is `TimeZone`).
pub fn setting(name: &str) -> Option<&'static str> {
    let name = match name {
        "time zone" => "timezone",
        "transaction isolation level" => "transaction_isolation",
        other => other,
    };
    SERVER_SETTINGS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// Adds the functions and the `pg_settings` table of this module to a session whose
/// `pg_catalog` datafusion-pg-catalog has just set up, for the principal `user`.
pub fn attach(context: &SessionContext, catalog: &str, user: &str) -> Result<()> {
    let user = user.to_owned();
    context.register_udf(create_udf(
        "session_user",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_args: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(
                datafusion::scalar::ScalarValue::Utf8(Some(user.clone())),
            ))
        }),
    ));
    context.register_udf(ScalarUDF::new_from_impl(ExpandArray::new()));
    context.register_udf(ScalarUDF::new_from_impl(NoIndexDefinition::new()));
    let catalog = context
        .catalog(catalog)
        .ok_or_else(|| DataFusionError::Plan(format!("no catalog {catalog}")))?;
    let library = catalog
        .schema("pg_catalog")
        .ok_or_else(|| DataFusionError::Plan("pg_catalog is not set up".to_owned()))?;
    catalog.register_schema(
        "pg_catalog",
        Arc::new(PgCatalog {
            library,
            settings: SETTINGS_TABLE.clone(),
        }),
    )?;
    Ok(())
}

static SETTINGS_TABLE: LazyLock<Arc<dyn TableProvider>> = LazyLock::new(|| {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        text("name"),
        text("setting"),
        text("unit"),
        text("category"),
        text("short_desc"),
        text("context"),
        text("vartype"),
        text("source"),
        text("boot_val"),
        text("reset_val"),
        Field::new("pending_restart", DataType::Boolean, false),
    ]));
    let column = |values: Vec<Option<&str>>| Arc::new(StringArray::from(values)) as ArrayRef;
    let n = SERVER_SETTINGS.len();
    let names = SERVER_SETTINGS.iter().map(|(n, _)| Some(*n)).collect();
    let values: Vec<Option<&str>> = SERVER_SETTINGS.iter().map(|(_, v)| Some(*v)).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            column(names),
            column(values.clone()),
            column(vec![None; n]),
            column(vec![Some("zhongshu"); n]),
            column(vec![Some("fixed by the zhongshu gateway"); n]),
            column(vec![Some("internal"); n]),
            column(vec![Some("string"); n]),
            column(vec![Some("default"); n]),
            column(values.clone()),
            column(values),
            Arc::new(datafusion::arrow::array::BooleanArray::from(vec![false; n])),
        ],
    )
    .expect("pg_settings columns match their schema");
    Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("one partition"))
});

/// datafusion-pg-catalog's `pg_catalog` with this module's `pg_settings` in place of its own.
#[derive(Debug)]
struct PgCatalog {
    library: Arc<dyn SchemaProvider>,
    settings: Arc<dyn TableProvider>,
}

#[async_trait::async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        self.library.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name == "pg_settings" {
            return Ok(Some(self.settings.clone()));
        }
        let table = self.library.table(name).await?;
        let arrays: &[(&str, DataType)] = match name {
            "pg_index" => &[
                ("indkey", DataType::Int16),
                ("indcollation", DataType::Int32),
                ("indclass", DataType::Int32),
                ("indoption", DataType::Int16),
            ],
            "pg_constraint" => &[
                ("conkey", DataType::Int16),
                ("confkey", DataType::Int16),
                ("conpfeqop", DataType::Int32),
                ("conppeqop", DataType::Int32),
                ("conffeqop", DataType::Int32),
                ("confdelsetcols", DataType::Int16),
                ("conexclop", DataType::Int32),
            ],
            _ => return Ok(table),
        };
        let Some(table) = table else {
            return Ok(None);
        };
        let fields: Vec<Field> = table
            .schema()
            .fields()
            .iter()
            .map(|f| match arrays.iter().find(|(n, _)| n == f.name()) {
                Some((_, item)) => {
                    f.as_ref()
                        .clone()
                        .with_data_type(DataType::List(Arc::new(Field::new(
                            "item",
                            item.clone(),
                            true,
                        ))))
                }
                None => f.as_ref().clone(),
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        Ok(Some(Arc::new(MemTable::try_new(schema, vec![vec![]])?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        name == "pg_settings" || self.library.table_exist(name)
    }
}

const EXPAND_ARRAY: &str = "_pg_expandarray";

/// Turns each `_pg_expandarray(a)` (after the compatibility parser has dropped its
/// `information_schema.` qualifier) into `unnest(_pg_expandarray(a))`, and PostgreSQL's field
/// selection from a parenthesised record, `(r).x`, which DataFusion does not parse into a plan,
/// into `get_field(r, 'x')`.
pub fn rewrite(statement: &mut Statement) {
    let _ = statement.visit(&mut ExpandArrayCalls);
}

struct ExpandArrayCalls;

impl VisitorMut for ExpandArrayCalls {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::CompoundFieldAccess { root, access_chain } = expr
            && matches!(**root, Expr::Nested(_))
            && access_chain
                .iter()
                .all(|a| matches!(a, AccessExpr::Dot(Expr::Identifier(_))))
        {
            let mut record = std::mem::replace(&mut **root, Expr::value(Value::Null));
            for access in access_chain.iter() {
                if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                    record = call(
                        "get_field",
                        vec![
                            record,
                            Expr::value(Value::SingleQuotedString(field.value.clone())),
                        ],
                    );
                }
            }
            *expr = record;
            return ControlFlow::Continue(());
        }
        let is_call = matches!(expr, Expr::Function(f)
            if f.name.0.len() == 1 && f.name.to_string().eq_ignore_ascii_case(EXPAND_ARRAY));
        if is_call {
            let expand = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = call("unnest", vec![expand]);
        }
        ControlFlow::Continue(())
    }
}

/// The call `name(args…)`.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// `_pg_expandarray(a)`: the list of `(x, n)` records of the array `a` — each element with its
/// 1-based position. `a` is an `int2vector` as `pg_index` holds it (text, `"1 2"`) or a list of
/// integers.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExpandArray {
    signature: Signature,
}

impl ExpandArray {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn record_fields() -> Fields {
        Fields::from(vec![
            Field::new("x", DataType::Int16, true),
            Field::new("n", DataType::Int32, false),
        ])
    }
}

impl ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        EXPAND_ARRAY
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(Self::record_fields()),
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [array] = ColumnarValue::values_to_arrays(&args.args)?
            .try_into()
            .map_err(|_| DataFusionError::Plan(format!("{EXPAND_ARRAY} takes one array")))?;
        let elements: Vec<Option<Vec<Option<i64>>>> = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = datafusion::arrow::compute::cast(&array, &DataType::Utf8)?;
                text.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(parse_vector).transpose())
                    .collect::<Result<_>>()?
            }
            DataType::List(_) | DataType::LargeList(_) => {
                let ints = datafusion::arrow::compute::cast(
                    &array,
                    &DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
                )?;
                let lists = ints.as_list::<i32>();
                (0..lists.len())
                    .map(|i| {
                        (!lists.is_null(i)).then(|| {
                            let values = lists.value(i);
                            values.as_primitive::<Int64Type>().iter().collect()
                        })
                    })
                    .collect()
            }
            DataType::Null => vec![None; array.len()],
            other => return exec_err!("{EXPAND_ARRAY} takes an array, not {other}"),
        };
        let mut records = ListBuilder::new(StructBuilder::new(
            Self::record_fields(),
            vec![
                Box::new(Int16Builder::new()) as Box<dyn datafusion::arrow::array::ArrayBuilder>,
                Box::new(Int32Builder::new()),
            ],
        ))
        .with_field(Arc::new(Field::new(
            "item",
            DataType::Struct(Self::record_fields()),
            true,
        )));
        for row in elements {
            let Some(values) = row else {
                records.append_null();
                continue;
            };
            for (position, value) in values.into_iter().enumerate() {
                let entry = records.values();
                let x = value.map(i16::try_from).transpose().map_err(|_| {
                    DataFusionError::Execution(format!("{EXPAND_ARRAY}: element out of range"))
                })?;
                entry
                    .field_builder::<Int16Builder>(0)
                    .expect("x is Int16")
                    .append_option(x);
                entry
                    .field_builder::<Int32Builder>(1)
                    .expect("n is Int32")
                    .append_value(position as i32 + 1);
                entry.append(true);
            }
            records.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(records.finish())))
    }
}

/// `pg_get_indexdef(index_oid [, column, pretty])`: NULL, as there are no indexes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NoIndexDefinition {
    signature: Signature,
}

impl NoIndexDefinition {
    fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for NoIndexDefinition {
    fn name(&self) -> &str {
        "pg_get_indexdef"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(
            datafusion::scalar::ScalarValue::Utf8(None),
        ))
    }
}

/// The elements of an `int2vector` in its text form, `"1 2"`.
fn parse_vector(text: &str) -> Result<Vec<Option<i64>>> {
    text.split_whitespace()
        .map(|word| {
            word.parse::<i64>().map(Some).map_err(|_| {
                DataFusionError::Execution(format!("{EXPAND_ARRAY}: not an integer: {word}"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_found_in_any_case() {
        assert_eq!(setting("datestyle"), Some("ISO, YMD"));
        assert_eq!(setting("time zone"), Some("Asia/Shanghai"));
        assert_eq!(setting("max_index_keys"), Some("32"));
        assert_eq!(setting("no_such_setting"), None);
    }

    #[tokio::test]
    async fn expandarray_yields_a_row_per_element_with_its_position() {
        let context = SessionContext::new();
        datafusion_pg_catalog::setup_pg_catalog(
            &context,
            "datafusion",
            datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider,
        )
        .unwrap();
        attach(&context, "datafusion", "gaj_officer").unwrap();
        let sql = "SELECT k, (information_schema._pg_expandarray(v)).n AS n, \
                   information_schema._pg_expandarray(v) AS r \
                   FROM (VALUES ('a', '3 1'), ('b', ''), ('c', '7')) AS t(k, v) ORDER BY k, n";
        let mut statement = datafusion_pg_catalog::sql::PostgresCompatibilityParser::new()
            .parse(sql)
            .unwrap()
            .remove(0);
        rewrite(&mut statement);
        let batches = context
            .sql(&statement.to_string())
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows,
            [
                "| k | n | r            |",
                "| a | 1 | {x: 3, n: 1} |",
                "| a | 2 | {x: 1, n: 2} |",
                "| c | 1 | {x: 7, n: 1} |",
            ],
            "{text}"
        );
        assert_eq!(
            text_value(&context, "SELECT session_user").await,
            "gaj_officer"
        );
        let max_keys = "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'max_index_keys'";
        assert_eq!(text_value(&context, max_keys).await, "32");
    }

    /// The one text value `sql` answers.
    async fn text_value(context: &SessionContext, sql: &str) -> String {
        let batches = context.sql(sql).await.unwrap().collect().await.unwrap();
        batches[0].column(0).as_string::<i32>().value(0).to_owned()
    }
}
