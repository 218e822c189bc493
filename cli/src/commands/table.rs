//! `zhongshu table …`: Delta maintenance on a resource's table, keeping the catalog's record
//! of the table (version, row count, last update) in step.

use crate::cli::TableCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use zhongshu_catalog::{Actor, CatalogStore as _, ResourceId, TableRecord};
use zhongshu_engine::maintenance;

async fn table_of(d: &Deployment, resource: &str, table: &str) -> CliResult<TableRecord> {
    let detail = d
        .store
        .get_resource(&ResourceId::new(resource))
        .await?
        .ok_or_else(|| {
            CliError::Failed(format!(
                "no resource {resource}; see `zhongshu catalog resources`"
            ))
        })?;
    detail
        .tables
        .into_iter()
        .find(|t| t.name == table)
        .ok_or_else(|| CliError::Failed(format!("resource {resource} has no table `{table}`")))
}

async fn refresh(d: &Deployment, t: &TableRecord, action: &str) -> CliResult<TableRecord> {
    let record = d.lake.table_record(&t.resource, &t.name, &t.path).await?;
    d.store
        .upsert_table(&Actor(format!("table:{action}")), &record)
        .await?;
    Ok(record)
}

/// Runs a table command.
pub async fn run(d: &Deployment, command: TableCommand) -> CliResult {
    match command {
        TableCommand::History {
            resource,
            table,
            limit,
        } => {
            let t = table_of(d, &resource, &table).await?;
            let entries = maintenance::history(&d.lake, &t.path, limit).await?;
            let rows = entries
                .iter()
                .map(|e| {
                    let time = e
                        .timestamp
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    vec![
                        e.version.to_string(),
                        time,
                        e.operation.clone().unwrap_or_default(),
                        e.parameters.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["version", "time", "operation", "parameters"], &rows);
        }
        TableCommand::Optimize { resource, table } => {
            let t = table_of(d, &resource, &table).await?;
            let (version, added, removed) = maintenance::optimize(&d.lake, &t.path).await?;
            let record = refresh(d, &t, "optimize").await?;
            println!(
                "{resource}.{table}: {removed} files compacted into {added}; version {version}, {} rows",
                record.row_count
            );
        }
        TableCommand::Vacuum {
            resource,
            table,
            retention_hours,
            dry_run,
        } => {
            let t = table_of(d, &resource, &table).await?;
            let files = maintenance::vacuum(&d.lake, &t.path, retention_hours, dry_run).await?;
            let verb = if dry_run { "would delete" } else { "deleted" };
            println!(
                "{resource}.{table}: {verb} {} files older than {retention_hours} h",
                files.len()
            );
            if !dry_run {
                refresh(d, &t, "vacuum").await?;
            }
        }
        TableCommand::Restore {
            resource,
            version,
            table,
        } => {
            let t = table_of(d, &resource, &table).await?;
            if version as i64 > t.version {
                return Err(CliError::Usage(format!(
                    "{resource}.{table} has no version {version} (current {})",
                    t.version
                )));
            }
            let new = maintenance::restore(&d.lake, &t.path, version).await?;
            let record = refresh(d, &t, "restore").await?;
            println!(
                "{resource}.{table}: version {version} restored as version {new} ({} rows)",
                record.row_count
            );
        }
    }
    Ok(())
}
