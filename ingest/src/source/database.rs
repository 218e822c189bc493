//! A PostgreSQL query or table, incremental on a watermark column.
//!
//! Planning reads the largest watermark now in the source and saves the range (above the last
//! landed watermark, up to that maximum) in the run's inputs; reading selects exactly that
//! range, so a resumed run reads the same rows and rows written meanwhile wait for the next
//! run. Rows travel as `row_to_json` text and are typed by the target like any other source.

use super::{PlanContext, Source, SourceColumn, WatermarkRange, watermark_input};
use crate::error::{InputError, RunError};
use crate::lander::Lander;
use crate::spec::expand_env;
use futures::TryStreamExt;
use sqlx::{Column, Connection, Executor, PgConnection, Row, SqlSafeStr, Statement, TypeInfo};
use zhongshu_catalog::RunInput;

/// See the module documentation.
pub struct PostgresSource {
    pub url: String,
    pub query: String,
    pub watermark: Option<String>,
}

fn db_error(what: &str, e: sqlx::Error) -> RunError {
    InputError::new("source database", format!("{what}: {e}")).into()
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresSource {
    /// The source query: the text itself, or every row of a named table.
    fn select(&self) -> String {
        let q = self.query.trim().trim_end_matches(';');
        let lower = q.to_ascii_lowercase();
        if lower.starts_with("select") || lower.starts_with("with") {
            q.to_owned()
        } else {
            format!("SELECT * FROM {q}")
        }
    }

    /// The ledger name of the watermark: column and query, so a changed query starts over.
    fn watermark_name(&self, column: &str) -> String {
        format!("watermark {column} of {}", self.select())
    }

    async fn connect(&self) -> Result<PgConnection, RunError> {
        let url = expand_env(&self.url)
            .map_err(|e| RunError::from(InputError::new("source database url", e)))?;
        PgConnection::connect(&url)
            .await
            .map_err(|e| db_error("connect", e))
    }
}

#[async_trait::async_trait]
impl Source for PostgresSource {
    async fn plan(&self, cx: &PlanContext<'_>) -> Result<Vec<RunInput>, RunError> {
        let select = self.select();
        let Some(column) = &self.watermark else {
            return Ok(vec![RunInput {
                kind: "query".into(),
                name: select,
                size: 0,
                checksum: String::new(),
                rows: 0,
            }]);
        };
        let mut conn = self.connect().await?;
        let sql = format!(
            "SELECT max(q.{})::text AS through FROM ({select}) q",
            quote_ident(column)
        );
        let through: Option<String> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .and_then(|r| r.try_get("through"))
            .map_err(|e| db_error("watermark", e))?;
        let name = self.watermark_name(column);
        let after = cx.last_landed(&name).map(str::to_owned);
        let Some(through) = through else {
            return Ok(Vec::new());
        };
        if after.as_deref() == Some(through.as_str()) {
            return Ok(Vec::new());
        }
        let range = WatermarkRange { after, through };
        Ok(vec![
            RunInput {
                kind: "query".into(),
                name: select,
                size: 0,
                checksum: serde_json::to_string(&range).unwrap_or_default(),
                rows: 0,
            },
            watermark_input(&name, &range.through),
        ])
    }

    async fn columns(&self, input: &RunInput) -> Result<Vec<SourceColumn>, RunError> {
        if input.kind != "query" {
            return Ok(Vec::new());
        }
        let mut conn = self.connect().await?;
        let statement = conn
            .prepare(sqlx::AssertSqlSafe(self.select()).into_sql_str())
            .await
            .map_err(|e| db_error("query", e))?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| SourceColumn::text(c.name()))
            .collect())
    }

    async fn read(&self, input: &RunInput, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        if input.kind != "query" {
            return Ok(0);
        }
        let select = self.select();
        let mut conn = self.connect().await?;
        let header: Vec<String> = conn
            .prepare(sqlx::AssertSqlSafe(select.clone()).into_sql_str())
            .await
            .map_err(|e| db_error("query", e))?
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        lander.begin(&select, &header)?;
        let mut sql = format!("SELECT row_to_json(q)::text AS row FROM ({select}) q");
        let mut bounds = Vec::new();
        if let Some(column) = &self.watermark {
            let range: WatermarkRange = serde_json::from_str(&input.checksum).map_err(|e| {
                RunError::Internal(format!("run input has no watermark range: {e}"))
            })?;
            // The comparison is typed like the column itself.
            let typed = conn
                .prepare(
                    sqlx::AssertSqlSafe(format!(
                        "SELECT q.{} FROM ({select}) q",
                        quote_ident(column)
                    ))
                    .into_sql_str(),
                )
                .await
                .map_err(|e| db_error("watermark column", e))?;
            let type_name = typed
                .columns()
                .first()
                .map(|c| c.type_info().name().to_owned())
                .unwrap_or_else(|| "text".into());
            let column = quote_ident(column);
            sql.push_str(&format!(" WHERE q.{column} <= CAST($1 AS {type_name})"));
            bounds.push(range.through);
            if let Some(after) = range.after {
                sql.push_str(&format!(" AND q.{column} > CAST($2 AS {type_name})"));
                bounds.push(after);
            }
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for bound in bounds {
            query = query.bind(bound);
        }
        let mut rows = query.fetch(&mut conn);
        let mut read = 0u64;
        while let Some(row) = rows.try_next().await.map_err(|e| db_error("read", e))? {
            read += 1;
            let text: String = row.try_get("row").map_err(|e| db_error("read", e))?;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(object)) => {
                    lander.object(read, &text, &object).await?
                }
                _ => lander.reject(read, &text, "json", "not a row object".into()),
            }
        }
        Ok(read)
    }
}
