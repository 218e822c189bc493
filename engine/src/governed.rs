//! The governed session: the one DataFusion session a principal queries through.
//!
//! The decisions — which tables the principal may discover, which columns it sees, under which
//! mask, with which row filter — are made by the policies layer and arrive here as
//! [`TableAccess`] values; this module is the mechanism that makes them hold whatever the SQL:
//!
//! - the session's catalog holds only the granted tables (also in `information_schema`), each
//!   in its schema (a department or a library tier); the Delta tables themselves are not
//!   registered anywhere the principal can name;
//! - each granted table is a view over its Delta scan: `scan → row filter → projection` where
//!   every masked column is replaced by its mask expression and hidden columns are absent. A
//!   user's WHERE, JOIN, GROUP BY or window is planned *above* the view, so it only ever sees
//!   masked values and filtered rows (no oracle); `EXPLAIN` shows the filter and masks;
//! - statements other than queries are refused before planning: DDL (CREATE … including
//!   CREATE EXTERNAL TABLE and CREATE FUNCTION), DML (INSERT, UPDATE, DELETE, COPY) and
//!   settings (SET). The session registers no function that reads files or URLs.

use crate::error::{EngineError, Result};
use crate::lake::Lake;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider};
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext, ident};
use std::collections::BTreeMap;
use std::sync::Arc;
use zhongshu_policies::{Mask, MaskKey};

/// The catalog name principals see.
pub const CATALOG: &str = "zhongshu";

/// One column a principal sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnAccess {
    /// Column name.
    pub name: String,
    /// The mask applied, if any.
    pub mask: Option<Mask>,
}

/// One table a principal may query, as decided by the policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAccess {
    /// The schema it appears in (a department or a library tier).
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

/// A principal's session: see the module documentation.
pub struct GovernedSession {
    ctx: SessionContext,
}

impl GovernedSession {
    /// Builds the session holding exactly `tables`.
    pub async fn new(lake: &Lake, tables: &[TableAccess], key: &MaskKey) -> Result<Self> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG, "public")
            .with_create_default_catalog_and_schema(false);
        let ctx = SessionContext::new_with_config(config);
        let catalog = Arc::new(MemoryCatalogProvider::new());
        let mut schemas: BTreeMap<String, Arc<MemorySchemaProvider>> = BTreeMap::new();
        schemas.insert("public".into(), Arc::new(MemorySchemaProvider::new()));
        for access in tables {
            let table = lake.open_table(&access.path).await?;
            table.update_datafusion_session(&ctx.state())?;
            let provider = table.table_provider().await?;
            let scan = LogicalPlanBuilder::scan(
                format!("{}.{}", access.schema, access.name),
                provider_as_source(provider),
                None,
            )?;
            let mut frame = DataFrame::new(ctx.state(), scan.build()?);
            if let Some(filter) = &access.row_filter {
                let predicate = frame.parse_sql_expr(filter).map_err(|e| {
                    EngineError::Schema(format!(
                        "row filter of {}.{}: {e}",
                        access.schema, access.name
                    ))
                })?;
                frame = frame.filter(predicate)?;
            }
            let fields = frame.schema().clone();
            let mut projection: Vec<Expr> = Vec::with_capacity(access.columns.len());
            for c in &access.columns {
                let (_, field) = fields
                    .qualified_field_with_unqualified_name(&c.name)
                    .map_err(|_| {
                        EngineError::Schema(format!(
                            "{}.{} has no column `{}`",
                            access.schema, access.name, c.name
                        ))
                    })?;
                let column = ident(&c.name);
                projection.push(match c.mask {
                    Some(mask) => mask.expr(column, field.data_type(), key).alias(&c.name),
                    None => column,
                });
            }
            let plan = frame.select(projection)?.into_unoptimized_plan();
            let view = ViewTable::new(plan, None);
            let schema = schemas
                .entry(access.schema.clone())
                .or_insert_with(|| Arc::new(MemorySchemaProvider::new()));
            datafusion::catalog::SchemaProvider::register_table(
                schema.as_ref(),
                access.name.clone(),
                Arc::new(view),
            )?;
        }
        for (name, schema) in schemas {
            catalog.register_schema(&name, schema)?;
        }
        ctx.register_catalog(CATALOG, catalog);
        Ok(GovernedSession { ctx })
    }

    /// Plans a query; anything but a query (or EXPLAIN of one) is refused with
    /// [`EngineError::Refused`].
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let state = self.ctx.state();
        let plan = state.create_logical_plan(sql).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| EngineError::Refused(e.to_string()))?;
        Ok(DataFrame::new(state, plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::{LakeConfig, WriteMode};
    use datafusion::arrow::array::{AsArray, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    async fn lake_with_people() -> (tempfile::TempDir, Lake) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id_no", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("street_code", DataType::Utf8, true),
            Field::new("income", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    "440310199001011234",
                    "440310198505052345",
                    "440310197003033456",
                ])),
                Arc::new(StringArray::from(vec!["张三", "李四", "王五"])),
                Arc::new(StringArray::from(vec![
                    "440310001",
                    "440310002",
                    "440310001",
                ])),
                Arc::new(StringArray::from(vec!["9000", "12000", "7000"])),
            ],
        )
        .unwrap();
        lake.write_once(
            "base/population/persons",
            "persons",
            schema,
            vec![batch],
            WriteMode::Append,
            "test",
            1,
        )
        .await
        .unwrap();
        (dir, lake)
    }

    fn access(filter: Option<&str>) -> TableAccess {
        TableAccess {
            schema: "base".into(),
            name: "persons".into(),
            path: "base/population/persons".into(),
            columns: vec![
                ColumnAccess {
                    name: "id_no".into(),
                    mask: Some(Mask::ResidentId),
                },
                ColumnAccess {
                    name: "name".into(),
                    mask: Some(Mask::Name),
                },
                ColumnAccess {
                    name: "street_code".into(),
                    mask: None,
                },
            ],
            row_filter: filter.map(str::to_owned),
        }
    }

    async fn rows(session: &GovernedSession, sql: &str) -> Vec<Vec<String>> {
        let batches = session.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            let cols: Vec<_> = b
                .columns()
                .iter()
                .map(|c| datafusion::arrow::compute::cast(c, &DataType::Utf8).unwrap())
                .collect();
            for r in 0..b.num_rows() {
                out.push(
                    cols.iter()
                        .map(|c| c.as_string::<i32>().value(r).to_owned())
                        .collect(),
                );
            }
        }
        out
    }

    fn key() -> MaskKey {
        MaskKey::new(b"governed-session-test-key").unwrap()
    }

    #[tokio::test]
    async fn masks_and_filters_sit_below_every_user_expression() {
        let (_dir, lake) = lake_with_people().await;
        let session = GovernedSession::new(
            &lake,
            &[access(Some("street_code IN ('440310001')"))],
            &key(),
        )
        .await
        .unwrap();
        assert_eq!(
            rows(
                &session,
                "SELECT id_no, name FROM base.persons ORDER BY id_no"
            )
            .await,
            vec![
                vec!["440310********1234".to_owned(), "张*".to_owned()],
                vec!["440310********3456".to_owned(), "王*".to_owned()],
            ]
        );
        // WHERE on the real value is no oracle; the filtered-out row cannot be reached.
        for probe in [
            "SELECT COUNT(*) FROM base.persons WHERE id_no = '440310199001011234'",
            "SELECT COUNT(*) FROM base.persons WHERE name = '张三'",
            "SELECT COUNT(*) FROM base.persons WHERE street_code = '440310002'",
            "WITH p AS (SELECT * FROM base.persons) SELECT COUNT(*) FROM p a JOIN p b ON a.id_no = b.id_no WHERE a.name LIKE '李%'",
        ] {
            assert_eq!(
                rows(&session, probe).await,
                vec![vec!["0".to_owned()]],
                "{probe}"
            );
        }
        // Hidden columns do not exist for the principal.
        assert!(
            session
                .sql("SELECT income FROM base.persons")
                .await
                .is_err()
        );
        // The catalog lists only what was granted.
        let tables = rows(
            &session,
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema <> 'information_schema'",
        )
        .await;
        assert_eq!(tables, vec![vec!["base".to_owned(), "persons".to_owned()]]);
        // EXPLAIN shows the rewrite.
        let plan = rows(&session, "EXPLAIN SELECT name FROM base.persons").await;
        let text = plan
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            text.contains("zs_mask_name") && text.contains("440310001"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn statements_other_than_queries_are_refused() {
        let (_dir, lake) = lake_with_people().await;
        let session = GovernedSession::new(&lake, &[access(None)], &key())
            .await
            .unwrap();
        for statement in [
            "CREATE TABLE x AS SELECT 1",
            "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/etc'",
            "CREATE VIEW v AS SELECT * FROM base.persons",
            "DROP TABLE base.persons",
            "INSERT INTO base.persons VALUES ('1', '2', '3')",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "SET datafusion.execution.batch_size = 1",
        ] {
            let refused = session.sql(statement).await;
            assert!(
                matches!(refused, Err(EngineError::Refused(_))),
                "{statement} was not refused"
            );
        }
        // Functions that read files are not in the session.
        assert!(
            session
                .sql("SELECT * FROM read_parquet('/etc/passwd')")
                .await
                .is_err()
        );
    }
}
