//! Table maintenance: history, compaction, vacuum and restore, each one Delta operation.

use crate::error::Result;
use crate::lake::Lake;
use futures::StreamExt;
use serde::Serialize;

/// One commit of a table's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Table version.
    pub version: i64,
    /// Commit time, milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// Operation, e.g. `WRITE`, `OPTIMIZE`, `RESTORE`.
    pub operation: Option<String>,
    /// Operation parameters as JSON.
    pub parameters: String,
}

/// The table's commits, newest first.
pub async fn history(lake: &Lake, path: &str, limit: usize) -> Result<Vec<HistoryEntry>> {
    let table = lake.open_table(path).await?;
    let latest = table.version().unwrap_or_default() as i64;
    let commits: Vec<_> = table.history(Some(limit)).collect().await;
    let mut out = Vec::with_capacity(commits.len());
    for (i, commit) in commits.into_iter().enumerate() {
        let commit = commit?;
        out.push(HistoryEntry {
            version: latest - i as i64,
            timestamp: commit.timestamp,
            operation: commit.operation,
            parameters: serde_json::to_string(&commit.operation_parameters).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Compacts small files; returns (new version, files added, files removed).
pub async fn optimize(lake: &Lake, path: &str) -> Result<(u64, u64, u64)> {
    let table = lake.open_table(path).await?;
    let (table, metrics) = table.optimize().await?;
    Ok((
        table.version().unwrap_or_default(),
        metrics.num_files_added,
        metrics.num_files_removed,
    ))
}

/// Deletes files no version within `retention_hours` refers to; returns the files deleted (or,
/// with `dry_run`, those that would be).
pub async fn vacuum(
    lake: &Lake,
    path: &str,
    retention_hours: i64,
    dry_run: bool,
) -> Result<Vec<String>> {
    let table = lake.open_table(path).await?;
    let (_, metrics) = table
        .vacuum()
        .with_retention_period(chrono::Duration::hours(retention_hours))
        .with_enforce_retention_duration(false)
        .with_dry_run(dry_run)
        .await?;
    Ok(metrics.files_deleted)
}

/// Makes `version`'s contents current again, as a new commit; returns the new version.
pub async fn restore(lake: &Lake, path: &str, version: u64) -> Result<u64> {
    let table = lake.open_table(path).await?;
    let (table, _) = table.restore().with_version_to_restore(version).await?;
    Ok(table.version().unwrap_or_default())
}

/// The latest `limit` commits of each table of `resource`, as a principal that may discover it
/// sees them: version, time and operation, without the operation's parameters (a correction's
/// predicate names the values of a row). A resource it may not discover is missing.
pub async fn resource_history(
    core: &crate::core::Core,
    principal: &zhongshu_catalog::Principal,
    resource: &zhongshu_catalog::ResourceId,
    limit: usize,
) -> Result<Vec<(String, Vec<HistoryEntry>)>> {
    crate::catalogue::require(
        core,
        principal,
        resource,
        zhongshu_policies::Action::Discover,
    )
    .await?;
    let Some(detail) = core.store().get_resource(resource).await? else {
        return Err(zhongshu_catalog::CatalogError::not_found("resource", resource).into());
    };
    let mut out = Vec::new();
    for table in &detail.tables {
        let mut commits = history(core.lake(), &table.path, limit).await?;
        for c in &mut commits {
            c.parameters.clear();
        }
        out.push((table.name.clone(), commits));
    }
    Ok(out)
}
