//! Landing one demo file in its Delta table and recording the table in the catalog.

use super::generate::Manifest;
use super::spec::DemoResource;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use std::path::Path;
use zhongshu_catalog::{Actor, CatalogStore};
use zhongshu_engine::{WriteMode, schema::arrow_schema};
use zhongshu_ingest::{FileSpec, read_file};

/// Reads the resource's delivered file with its declared encoding and the schema of its items,
/// writes it to the resource's table in one commit and records the table version in the
/// catalog. Returns the rows written.
pub async fn land(
    deployment: &Deployment,
    generated: &Path,
    manifest: &Manifest,
    r: &DemoResource,
) -> CliResult<u64> {
    let entry = manifest
        .files
        .iter()
        .find(|f| f.resource == r.resource.id.as_str())
        .ok_or_else(|| {
            CliError::Failed(format!(
                "the generated manifest has no file for {}",
                r.resource.id
            ))
        })?;
    let schema = arrow_schema(&r.resource.columns)?;
    let spec = FileSpec {
        path: generated.join(&entry.file),
        format: entry.format,
        encoding: entry.encoding,
    };
    let batches = read_file(&spec, schema)?;
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    if rows != entry.rows {
        return Err(CliError::Failed(format!(
            "{}: read {rows} rows but the manifest lists {}",
            entry.file, entry.rows
        )));
    }
    let outcome = deployment
        .lake
        .write(
            r.table_path,
            r.resource.id.as_str(),
            batches,
            WriteMode::Overwrite,
        )
        .await?;
    let record = deployment
        .lake
        .table_record(&r.resource.id, "main", r.table_path, outcome.rows)
        .await?;
    deployment
        .store
        .upsert_table(&Actor::system(), &record)
        .await?;
    Ok(outcome.rows)
}
