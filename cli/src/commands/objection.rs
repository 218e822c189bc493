//! `zhongshu objection …`: the objection loop (数据纠错) from the command line. `--as USER`
//! names the principal filing or deciding; the default `operator` acts as an administrator.

use crate::cli::ObjectionCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use std::collections::BTreeMap;
use zhongshu_catalog::{
    CatalogStore as _, NewObjection, Objection, ObjectionStatus, OrgId, Principal, PrincipalId,
    PrincipalKind, ResourceId, Role,
};

/// The principal `--as` names.
async fn principal(d: &Deployment, name: &str) -> CliResult<Principal> {
    if name == "operator" {
        return Ok(Principal {
            id: PrincipalId::new("operator"),
            display_name: "operator".into(),
            kind: PrincipalKind::User,
            org: OrgId::new("operator"),
            roles: vec![Role::Admin],
            attributes: Default::default(),
        });
    }
    d.store
        .get_principal(&PrincipalId::new(name))
        .await?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--as {name}: no such principal; see `zhongshu catalog principals`"
            ))
        })
}

fn print(o: &Objection, json: bool) {
    if json {
        output::json(o);
    } else {
        println!(
            "objection {} on {} {} `{}` → `{}`: {} ({}){}{}",
            o.id,
            o.filed.resource,
            serde_json::to_string(&o.filed.record_key).unwrap_or_default(),
            o.filed.column,
            o.filed.proposed_value,
            o.status.label(),
            o.status.as_code(),
            o.table_version
                .map(|v| format!(", corrected in table version {v}"))
                .unwrap_or_default(),
            o.decision_reason
                .as_deref()
                .map(|r| format!(", reason: {r}"))
                .unwrap_or_default(),
        );
    }
}

/// Runs an objection command.
pub async fn run(d: &Deployment, actor: &str, command: ObjectionCommand) -> CliResult {
    let who = principal(d, actor).await?;
    let core = d.core()?;
    match command {
        ObjectionCommand::File {
            resource,
            key,
            column,
            value,
            evidence,
            current,
            table,
            json,
        } => {
            let mut record_key = BTreeMap::new();
            for k in key {
                let (c, v) = k
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("--key {k}: write COLUMN=VALUE")))?;
                record_key.insert(c.trim().to_owned(), v.trim().to_owned());
            }
            let filed = NewObjection {
                resource: ResourceId::new(resource),
                table,
                record_key,
                column,
                current_value: current,
                proposed_value: value,
                evidence,
            };
            let o = zhongshu_quality::objection::file(&core, &who, "cli", &filed).await?;
            print(&o, json);
            if !json {
                println!("sent to the inbox of {}", o.owner);
            }
        }
        ObjectionCommand::List { status, json } => {
            let status = status
                .map(|s| s.parse::<ObjectionStatus>())
                .transpose()
                .map_err(CliError::Usage)?;
            let now = chrono::Utc::now();
            let list: Vec<Objection> =
                zhongshu_quality::objection::list(&core, &who, status).await?;
            if json {
                output::json(&list);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|o| {
                        vec![
                            o.id.to_string(),
                            o.filed.resource.to_string(),
                            serde_json::to_string(&o.filed.record_key).unwrap_or_default(),
                            o.filed.column.clone(),
                            o.filed.proposed_value.clone(),
                            o.owner.to_string(),
                            o.filed_by.clone(),
                            o.status.label().to_owned(),
                            format!("{:.1}", zhongshu_quality::objection::age_days(o, now)),
                            o.table_version.map(|v| v.to_string()).unwrap_or_default(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "no.", "resource", "record", "column", "proposed", "owner", "filed by",
                        "status", "days", "version",
                    ],
                    &rows,
                );
            }
        }
        ObjectionCommand::Accept { id, note, json } => {
            let o = zhongshu_quality::objection::accept(&core, &who, id, note.as_deref()).await?;
            print(&o, json);
        }
        ObjectionCommand::Reject { id, reason, json } => {
            let o = zhongshu_quality::objection::reject(&core, &who, id, &reason).await?;
            print(&o, json);
        }
    }
    Ok(())
}
