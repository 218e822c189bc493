//! The golden file of the governed query path, `tests/golden/governed.slt`, run by the
//! sqllogictest crate: the same statements as several principals (each connection is one
//! principal's session, opened with `SET SESSION AUTHORIZATION`), with EXPLAIN, through the
//! query service every door opens its sessions with, on the demo at scale 0.01.

use std::path::Path;
use std::sync::Arc;
use zhongshu_catalog::PrincipalId;
use zhongshu_cli::deployment::Deployment;
use zhongshu_engine::arrow::util::display::{ArrayFormatter, FormatOptions};
use zhongshu_engine::{ClientInfo, PrincipalSession, QueryService};
use zhongshu_tests::{ok, zhongshu};

/// One connection: a principal's governed session, once `SET SESSION AUTHORIZATION` named it.
struct Governed {
    service: Arc<QueryService>,
    session: Option<PrincipalSession>,
}

/// A statement's failure, with the SQLSTATE a PostgreSQL client would get.
#[derive(Debug)]
struct Failure {
    message: String,
    sqlstate: Option<&'static str>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn failure(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        sqlstate: None,
    }
}

/// The quoted value of `SET NAME = 'value'` / `SET SESSION AUTHORIZATION 'value'`.
fn setting<'a>(sql: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = sql.trim().trim_end_matches(';').strip_prefix(prefix)?;
    let rest = rest.trim().trim_start_matches('=').trim();
    rest.strip_prefix('\'')?.strip_suffix('\'')
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Governed {
    type Error = Failure;
    type ColumnType = sqllogictest::DefaultColumnType;

    async fn run(
        &mut self,
        sql: &str,
    ) -> Result<sqllogictest::DBOutput<Self::ColumnType>, Failure> {
        if let Some(user) = setting(sql, "SET SESSION AUTHORIZATION") {
            let principal = self
                .service
                .store()
                .get_principal(&PrincipalId::new(user))
                .await
                .map_err(|e| failure(e.to_string()))?
                .ok_or_else(|| failure(format!("no principal {user}")))?;
            let session = self
                .service
                .open(principal, None, ClientInfo::answering("golden", "cli"))
                .await
                .map_err(|e| failure(e.to_string()))?;
            self.session = Some(session);
            return Ok(sqllogictest::DBOutput::StatementComplete(0));
        }
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| failure("name the principal first: SET SESSION AUTHORIZATION 'USER'"))?;
        if let Some(purpose) = setting(sql, "SET zhongshu.purpose") {
            session
                .set_purpose(Some(purpose.to_owned()))
                .await
                .map_err(|e| failure(e.to_string()))?;
            return Ok(sqllogictest::DBOutput::StatementComplete(0));
        }
        let (schema, batches) = session.query(sql).await.map_err(|e| Failure {
            message: e.to_string(),
            sqlstate: Some(zhongshu_sql_gateway::engine_sqlstate(&e)),
        })?;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let columns: Vec<ArrayFormatter<'_>> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<_, _>>()
                .map_err(|e| failure(e.to_string()))?;
            for row in 0..batch.num_rows() {
                rows.push(columns.iter().map(|c| c.value(row).to_string()).collect());
            }
        }
        Ok(sqllogictest::DBOutput::Rows {
            types: vec![sqllogictest::DefaultColumnType::Any; schema.fields().len()],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn error_sql_state(err: &Failure) -> Option<String> {
        err.sqlstate.map(str::to_owned)
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

#[tokio::test]
async fn the_golden_file_holds_for_every_principal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    ok(zhongshu(&[
        "demo",
        "--no-serve",
        "--scale",
        "0.01",
        "--data-dir",
        &data_arg,
    ]));
    // A fixed masking key, so that keyed hashes are the same on every run.
    std::fs::write(data.join("mask.key"), "golden-file-masking-key-0123456789").unwrap();
    let deployment = Deployment::open(&data, None).await.unwrap();
    let service = deployment.query_service().unwrap();
    let mut runner = sqllogictest::Runner::new(move || {
        let service = service.clone();
        async move {
            Ok::<_, Failure>(Governed {
                service,
                session: None,
            })
        }
    });
    runner.with_column_validator(|_, _| true);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/governed.slt");
    if let Err(e) = runner.run_file_async(&golden).await {
        panic!("{}", e.display(true));
    }
}
