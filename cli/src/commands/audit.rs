//! `zhongshu audit …`: verifying and reading the hash-chained change log and access audit log.

use crate::cli::AuditCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use zhongshu_catalog::CatalogStore as _;

/// Runs an audit command.
pub async fn run(d: &Deployment, command: AuditCommand) -> CliResult {
    match command {
        AuditCommand::Verify => {
            let mut broken = Vec::new();
            for (name, report) in [
                ("change log", d.store.verify_change_log().await?),
                ("access audit log", d.store.verify_audit_log().await?),
            ] {
                match report.first_broken {
                    None => println!(
                        "{name} intact: {} entries verified, head {}",
                        report.entries,
                        report.head.as_deref().unwrap_or("-")
                    ),
                    Some(b) => broken.push(format!(
                        "{name} BROKEN at entry {}: {} ({} entries checked)",
                        b.seq, b.reason, report.entries
                    )),
                }
            }
            if broken.is_empty() {
                Ok(())
            } else {
                Err(CliError::Failed(format!(
                    "{}; restore the catalog from a backup and investigate who changed it",
                    broken.join("; ")
                )))
            }
        }
        AuditCommand::Queries { after, limit } => {
            let entries = d.store.audit_records(after, limit).await?;
            let rows = entries
                .iter()
                .map(|e| {
                    let r = &e.record;
                    vec![
                        e.seq.to_string(),
                        e.at.clone(),
                        r.principal.clone(),
                        r.purpose.clone().unwrap_or_default(),
                        r.protocol.clone(),
                        r.outcome.as_code().to_owned(),
                        r.completes.map(|s| s.to_string()).unwrap_or_default(),
                        r.rows.to_string(),
                        format!("{} ms", r.duration_ms),
                        r.tables.join(","),
                        r.masks.len().to_string(),
                        r.sql.chars().take(60).collect(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &[
                    "seq",
                    "time",
                    "principal",
                    "purpose",
                    "door",
                    "outcome",
                    "completes",
                    "rows",
                    "duration",
                    "tables",
                    "masks",
                    "sql",
                ],
                &rows,
            );
            Ok(())
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
