//! `zhongshu share`: the demand list, share requests, the negative list and the sharing
//! figures. Demands and requests are a principal's (`--as`), decided with Cedar through
//! `zhongshu_sharing`; the negative list is the chief data officer's (or the host's operator's).

use crate::cli::ShareCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use zhongshu_catalog::{
    CatalogStore as _, Conditions, DemandDecision, ElementId, Grantee, NegativeEntry, NewDemand,
    NewShareRequest, Principal, RequestDecision, ResourceId,
};
use zhongshu_policies::Action;
use zhongshu_sharing::{demands, metrics, requests};

async fn who(d: &Deployment, actor: &str) -> CliResult<Principal> {
    super::principal(d, actor).await?.ok_or_else(|| {
        CliError::Usage(
            "this is a principal's: run it --as USER (see `zhongshu catalog principals`)".into(),
        )
    })
}

/// Changing the negative list: the host's operator, or a principal who keeps the standards.
async fn may_keep_the_negative_list(d: &Deployment, actor: &str) -> CliResult {
    let Some(p) = super::principal(d, actor).await? else {
        return Ok(());
    };
    let decisions = d.core()?.query().decisions(&p, None).await?;
    if decisions.allows_on_catalogue(Action::ManageStandards) {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{actor} may not change the sharing negative list; the chief data officer keeps it"
        )))
    }
}

fn print_request(r: &zhongshu_catalog::ShareRequest, grant: Option<&zhongshu_catalog::Grant>) {
    match grant {
        Some(g) => println!(
            "request {} granted: grant {} on {} for {}, until {}",
            r.id,
            g.id,
            r.request.resource,
            r.request.grantee,
            g.grant.expires_at.as_deref().unwrap_or("-")
        ),
        None => println!(
            "request {} on {} is {}",
            r.id,
            r.request.resource,
            r.status.as_code()
        ),
    }
}

/// Runs a share command as `actor`.
pub async fn run(d: &Deployment, actor: &str, command: ShareCommand) -> CliResult {
    let core = d.core()?;
    match command {
        ShareCommand::Demand {
            title,
            business,
            basis,
            items,
            urgency,
        } => {
            let p = who(d, actor).await?;
            let new = NewDemand {
                org: p.org.clone(),
                title,
                business,
                legal_basis: basis,
                items,
                urgency,
            };
            let demand = demands::file(&core, &p, &new).await?;
            println!("demand {} filed for {}", demand.id, demand.demand.org);
        }
        ShareCommand::Demands { json } => {
            let p = who(d, actor).await?;
            let all = demands::list(&core, &p).await?;
            if json {
                output::json(&all);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|v| {
                    vec![
                        v.demand.id.to_string(),
                        v.demand.demand.org.to_string(),
                        v.demand.demand.title.clone(),
                        v.demand.status.as_code().into(),
                        v.demand
                            .resource
                            .as_ref()
                            .map(|r| r.to_string())
                            .unwrap_or_default(),
                        if v.satisfied { "yes" } else { "" }.into(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "id",
                    "department",
                    "data needed",
                    "status",
                    "resource",
                    "satisfied",
                ],
                &rows,
            );
        }
        ShareCommand::Match {
            id,
            resource,
            to_catalogue,
            not_shareable,
        } => {
            let p = who(d, actor).await?;
            let decision = match (resource, to_catalogue, not_shareable) {
                (Some(r), None, None) => DemandDecision::Match {
                    resource: ResourceId::new(r),
                },
                (None, Some(reason), None) => DemandDecision::ToCatalogue { reason },
                (None, None, Some(reason)) => DemandDecision::NotShareable { reason },
                _ => {
                    return Err(CliError::Usage(
                        "give one of --resource, --to-catalogue or --not-shareable".into(),
                    ));
                }
            };
            let demand = demands::decide(&core, &p, id, &decision).await?;
            println!("demand {} is {}", demand.id, demand.status.as_code());
        }
        ShareCommand::Request {
            resource,
            columns,
            purpose,
            basis,
            rows,
            days,
            demand,
            for_department,
        } => {
            let p = who(d, actor).await?;
            let new = NewShareRequest {
                resource: ResourceId::new(resource),
                grantee: if for_department {
                    Grantee::Org(p.org.clone())
                } else {
                    Grantee::Principal(p.id.clone())
                },
                columns,
                purpose,
                legal_basis: basis,
                row_filter: rows,
                days,
                demand,
                renews: None,
            };
            let (r, grant) = requests::file(&core, &p, &new).await?;
            print_request(&r, grant.as_ref());
        }
        ShareCommand::Requests { json } => {
            let p = who(d, actor).await?;
            let all = requests::list(&core, &p).await?;
            if json {
                output::json(&all);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|v| {
                    let r = &v.request;
                    vec![
                        r.id.to_string(),
                        r.request.resource.to_string(),
                        r.request.grantee.to_string(),
                        r.request.purpose.clone(),
                        r.status.as_code().into(),
                        r.grant.map(|g| g.to_string()).unwrap_or_default(),
                        if v.decidable { "you decide" } else { "" }.into(),
                    ]
                })
                .collect();
            output::table(
                &["id", "resource", "for", "purpose", "status", "grant", ""],
                &rows,
            );
        }
        ShareCommand::Approve {
            id,
            columns,
            masks,
            rows,
            days,
        } => {
            let p = who(d, actor).await?;
            let mut conditions = Conditions {
                columns: (!columns.is_empty()).then_some(columns),
                row_filter: rows,
                days,
                ..Conditions::default()
            };
            for m in masks {
                let (column, mask) = m
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("--mask {m}: write COLUMN=MASK")))?;
                conditions.masks.insert(column.into(), mask.into());
            }
            let conditions = (conditions != Conditions::default()).then_some(conditions);
            let (r, grant) =
                requests::decide(&core, &p, id, &RequestDecision::Approve { conditions }).await?;
            print_request(&r, grant.as_ref());
        }
        ShareCommand::Reject { id, reason } => {
            let p = who(d, actor).await?;
            let (r, _) =
                requests::decide(&core, &p, id, &RequestDecision::Reject { reason }).await?;
            print_request(&r, None);
        }
        ShareCommand::Renew { id } => {
            let p = who(d, actor).await?;
            let (r, grant) = requests::renew(&core, &p, id).await?;
            print_request(&r, grant.as_ref());
        }
        ShareCommand::NegativeAdd {
            id,
            element,
            resource,
            column,
            basis,
        } => {
            may_keep_the_negative_list(d, actor).await?;
            let entry = NegativeEntry {
                id,
                element: element.map(ElementId::new),
                resource: resource.map(ResourceId::new),
                column,
                legal_basis: basis,
            };
            let added = d
                .store
                .put_negative(&zhongshu_catalog::Actor(actor.into()), &entry)
                .await?;
            println!("{} is on the sharing negative list", added.id);
        }
        ShareCommand::Negative => {
            let rows: Vec<Vec<String>> = d
                .store
                .list_negative()
                .await?
                .iter()
                .map(|e| {
                    vec![
                        e.id.clone(),
                        e.element
                            .as_ref()
                            .map(|x| x.to_string())
                            .unwrap_or_default(),
                        match (&e.resource, &e.column) {
                            (Some(r), Some(c)) => format!("{r}.{c}"),
                            _ => String::new(),
                        },
                        e.legal_basis.clone(),
                    ]
                })
                .collect();
            output::table(&["id", "element", "column", "legal basis"], &rows);
        }
        ShareCommand::NegativeRemove { id } => {
            may_keep_the_negative_list(d, actor).await?;
            d.store
                .remove_negative(&zhongshu_catalog::Actor(actor.into()), &id)
                .await?;
            println!("{id} is off the sharing negative list");
        }
        ShareCommand::Metrics { json } => {
            let p = who(d, actor).await?;
            let m = metrics::metrics(&core, &p, chrono::Utc::now()).await?;
            if json {
                output::json(&m);
                return Ok(());
            }
            let pct = |r: Option<f64>| r.map_or("-".into(), |r| format!("{:.1}%", r * 100.0));
            let hours = |h: Option<f64>| h.map_or("-".into(), |h| format!("{h:.1} h"));
            let line = |name: &str, f: &metrics::Figures| {
                vec![
                    name.to_owned(),
                    format!("{}/{}", f.satisfied, f.should_share),
                    pct(f.satisfaction_rate),
                    hours(f.median_hours),
                    hours(f.p90_hours),
                    f.waiting_too_long.to_string(),
                    pct(f.sharing_rate),
                ]
            };
            let mut rows = vec![line("district", &m.district)];
            rows.extend(m.departments.iter().map(|(_, name, f)| line(name, f)));
            output::table(
                &[
                    "",
                    "satisfied",
                    "satisfaction",
                    "median decision",
                    "p90 decision",
                    "waiting too long",
                    "sharing rate",
                ],
                &rows,
            );
        }
    }
    Ok(())
}
