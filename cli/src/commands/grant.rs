//! `zhongshu grant …` and `zhongshu policy …`: grants created directly by an operator (the
//! sharing workflow creates them from approved requests), and custom Cedar policies.

use crate::cli::{GrantCommand, PolicyCommand};
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use std::collections::BTreeMap;
use zhongshu_catalog::{
    Actor, CatalogStore as _, Grantee, NewGrant, OrgId, PrincipalId, ResourceId,
};
use zhongshu_policies::authorizer::{BASE_POLICIES, SCHEMA};
use zhongshu_policies::{Authorizer, Mask};

/// Runs a grant command.
pub async fn run(d: &Deployment, command: GrantCommand) -> CliResult {
    let actor = Actor("operator".into());
    match command {
        GrantCommand::Create {
            resource,
            principal,
            org,
            columns,
            purpose,
            filter,
            masks,
            expires,
        } => {
            let grantee = match (principal, org) {
                (Some(p), None) => Grantee::Principal(PrincipalId::new(p)),
                (None, Some(o)) => Grantee::Org(OrgId::new(o)),
                _ => {
                    return Err(CliError::Usage(
                        "give exactly one of --principal and --org".into(),
                    ));
                }
            };
            let mut mask_map = BTreeMap::new();
            for m in masks {
                let Some((column, mask)) = m.split_once('=') else {
                    return Err(CliError::Usage(format!(
                        "--mask {m}: write COLUMN=MASK, e.g. --mask id_no=resident_id"
                    )));
                };
                if mask != "none" {
                    mask.parse::<Mask>()
                        .map_err(|e| CliError::Usage(format!("--mask {m}: {e} or none")))?;
                }
                mask_map.insert(column.trim().to_owned(), mask.trim().to_owned());
            }
            if let Some(f) = &filter {
                // Checked with a stand-in principal: the attributes are substituted per session.
                let probe = zhongshu_catalog::Principal {
                    id: PrincipalId::new("probe"),
                    display_name: String::new(),
                    kind: zhongshu_catalog::PrincipalKind::User,
                    org: OrgId::new("probe"),
                    roles: vec![],
                    attributes: zhongshu_catalog::PrincipalAttributes {
                        jurisdiction: vec!["000000".into()],
                        clearance: None,
                    },
                };
                zhongshu_policies::row_filter(f, &probe)
                    .map_err(|e| CliError::Usage(format!("--filter: {e}")))?;
            }
            let grant = d
                .store
                .create_grant(
                    &actor,
                    &NewGrant {
                        resource: ResourceId::new(resource),
                        grantee,
                        columns,
                        purpose,
                        row_filter: filter,
                        masks: mask_map,
                        expires_at: expires,
                    },
                )
                .await?;
            println!(
                "grant {} created: {} → {}",
                grant.id, grant.grant.resource, grant.grant.grantee
            );
            Ok(())
        }
        GrantCommand::List { resource } => {
            let resource = resource.map(ResourceId::new);
            let grants = d.store.list_grants(resource.as_ref()).await?;
            let now = chrono::Utc::now();
            let rows: Vec<Vec<String>> = grants
                .iter()
                .map(|g| {
                    vec![
                        g.id.to_string(),
                        g.grant.resource.to_string(),
                        g.grant.grantee.to_string(),
                        if g.grant.columns.is_empty() {
                            "(≤L3)".into()
                        } else {
                            g.grant.columns.join(",")
                        },
                        g.grant.purpose.clone().unwrap_or_default(),
                        g.grant.row_filter.clone().unwrap_or_default(),
                        g.grant
                            .masks
                            .iter()
                            .map(|(c, m)| format!("{c}={m}"))
                            .collect::<Vec<_>>()
                            .join(","),
                        g.grant.expires_at.clone().unwrap_or_default(),
                        if g.revoked_at.is_some() {
                            "revoked 已撤销".into()
                        } else if g.is_active(&now) {
                            "active 有效".into()
                        } else {
                            "expired 已过期".into()
                        },
                    ]
                })
                .collect();
            output::table(
                &[
                    "id", "resource", "grantee", "columns", "purpose", "filter", "masks",
                    "expires", "status",
                ],
                &rows,
            );
            Ok(())
        }
        GrantCommand::Revoke { id } => {
            let g = d.store.revoke_grant(&actor, id).await?;
            println!(
                "grant {id} revoked ({} → {})",
                g.grant.resource, g.grant.grantee
            );
            Ok(())
        }
        GrantCommand::Explain { principal, purpose } => {
            let principal = d
                .store
                .get_principal(&PrincipalId::new(&principal))
                .await?
                .ok_or_else(|| CliError::Usage(format!("no principal `{principal}`")))?;
            let access = d
                .query_service()?
                .access(&principal, purpose.as_deref(), false)
                .await?;
            let mut rows = Vec::new();
            for t in &access.tables {
                rows.push(vec![
                    format!("{}.{}", t.schema, t.name),
                    "read 可读".into(),
                    t.columns
                        .iter()
                        .map(|c| match c.mask {
                            Some(m) => format!("{}[{}]", c.name, m.as_code()),
                            None => c.name.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    t.row_filter.clone().unwrap_or_default(),
                ]);
            }
            for t in &access.denied {
                rows.push(vec![
                    format!("{}.{}", t.schema, t.name),
                    "discover only 仅可发现".into(),
                    String::new(),
                    t.reason.clone(),
                ]);
            }
            if access.audit_log {
                rows.push(vec![
                    "audit.queries".into(),
                    "read 可读".into(),
                    String::new(),
                    String::new(),
                ]);
            }
            output::table(
                &["table", "access", "columns [mask]", "row filter / reason"],
                &rows,
            );
            Ok(())
        }
    }
}

/// Runs a policy command.
pub async fn run_policy(d: &Deployment, command: PolicyCommand) -> CliResult {
    let actor = Actor("operator".into());
    match command {
        PolicyCommand::Add {
            id,
            file,
            description,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            Authorizer::validate_custom(&id, &text).map_err(|e| CliError::Usage(e.to_string()))?;
            d.store
                .upsert_policy(&actor, &id, &description, &text)
                .await?;
            // The whole set must still validate together.
            let all = d.store.list_policies().await?;
            if let Err(e) = Authorizer::new(&all) {
                d.store.delete_policy(&actor, &id).await?;
                return Err(CliError::Usage(e.to_string()));
            }
            println!("policy {id} added; {} custom policies in force", all.len());
            Ok(())
        }
        PolicyCommand::List => {
            let mut rows: Vec<Vec<String>> = BASE_POLICIES
                .iter()
                .map(|(id, _)| vec![(*id).to_owned(), "base 基础".into(), String::new()])
                .collect();
            for p in d.store.list_policies().await? {
                rows.push(vec![p.id, "custom 自定义".into(), p.description]);
            }
            output::table(&["id", "kind", "description"], &rows);
            Ok(())
        }
        PolicyCommand::Remove { id } => {
            d.store.delete_policy(&actor, &id).await?;
            println!("policy {id} removed");
            Ok(())
        }
        PolicyCommand::Schema => {
            println!("{}", SCHEMA.trim());
            Ok(())
        }
    }
}
