//! `zhongshu sql`: the operator's door to the governed session — the same decision, masks,
//! row filters, limits and audit as the SQL gateway, with `cli` as the client.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use zhongshu_catalog::{CatalogStore as _, PrincipalId};
use zhongshu_engine::ClientInfo;

/// Runs one statement as `principal` and prints the result.
pub async fn run(
    d: &Deployment,
    principal: &str,
    purpose: Option<String>,
    format: &str,
    sql: &str,
) -> CliResult {
    if !matches!(format, "table" | "csv" | "json") {
        return Err(CliError::Usage(format!(
            "--format {format}: use table, csv or json"
        )));
    }
    let principal = d
        .store
        .get_principal(&PrincipalId::new(principal))
        .await?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--as {principal}: no such principal; see `zhongshu catalog principals`"
            ))
        })?;
    let service = d.query_service()?;
    let session = service
        .open(
            principal,
            purpose,
            ClientInfo {
                address: "cli".into(),
                protocol: "cli",
                download: format == "csv",
            },
        )
        .await?;
    let (schema, batches) = session.query(sql).await?;
    let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let rows = rows(&batches)?;
    match format {
        "csv" => {
            let mut out = csv::Writer::from_writer(std::io::stdout());
            let fail = |e: csv::Error| CliError::Failed(e.to_string());
            out.write_record(&headers).map_err(fail)?;
            for row in &rows {
                out.write_record(row.iter().map(|c| c.as_deref().unwrap_or("")))
                    .map_err(fail)?;
            }
            out.flush().map_err(|e| CliError::Failed(e.to_string()))?;
        }
        "json" => {
            let numeric: Vec<bool> = schema
                .fields()
                .iter()
                .map(|f| f.data_type().is_numeric() || f.data_type() == &DataType::Boolean)
                .collect();
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    headers
                        .iter()
                        .zip(row)
                        .zip(&numeric)
                        .map(|((h, cell), numeric)| {
                            let value = match cell {
                                None => serde_json::Value::Null,
                                Some(text) if *numeric => serde_json::from_str(text)
                                    .unwrap_or_else(|_| serde_json::Value::String(text.clone())),
                                Some(text) => serde_json::Value::String(text.clone()),
                            };
                            (h.clone(), value)
                        })
                        .collect()
                })
                .collect();
            output::json(&objects);
        }
        _ => {
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let cells: Vec<Vec<String>> = rows
                .into_iter()
                .map(|r| r.into_iter().map(|c| c.unwrap_or_default()).collect())
                .collect();
            output::table(&headers, &cells);
            eprintln!("({} rows)", cells.len());
        }
    }
    Ok(())
}

/// Each cell as display text, `None` for null.
fn rows(batches: &[RecordBatch]) -> CliResult<Vec<Vec<Option<String>>>> {
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CliError::Failed(e.to_string()))?;
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| (!c.is_null(row)).then(|| f.value(row).to_string()))
                    .collect(),
            );
        }
    }
    Ok(out)
}
