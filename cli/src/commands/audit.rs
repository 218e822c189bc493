//! `zhongshu audit …`: verifying and reading the hash-chained change log.

use crate::cli::AuditCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use zhongshu_catalog::CatalogStore as _;

/// Runs an audit command.
pub async fn run(d: &Deployment, command: AuditCommand) -> CliResult {
    match command {
        AuditCommand::Verify => {
            let report = d.store.verify_change_log().await?;
            match report.first_broken {
                None => {
                    println!(
                        "change log intact: {} entries verified, head {}",
                        report.entries,
                        report.head.as_deref().unwrap_or("-")
                    );
                    Ok(())
                }
                Some(broken) => Err(CliError::Failed(format!(
                    "change log BROKEN at entry {}: {} ({} entries checked); restore the catalog from a backup and investigate who changed it",
                    broken.seq, broken.reason, report.entries
                ))),
            }
        }
        AuditCommand::Log { after, limit } => {
            let entries = d.store.changes_since(after, limit).await?;
            let rows = entries
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        e.at.clone(),
                        e.actor.clone(),
                        e.entity_kind.clone(),
                        e.entity_id.clone(),
                        e.action.clone(),
                        e.hash[..12].to_owned(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &["seq", "time", "actor", "entity", "id", "action", "hash"],
                &rows,
            );
            Ok(())
        }
    }
}
