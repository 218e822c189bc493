//! One module per command group.

pub mod audit;
pub mod catalog;
pub mod grant;
pub mod ingest;
pub mod objection;
pub mod quality;
pub mod share;
pub mod sql;
pub mod standards;
pub mod table;

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use zhongshu_catalog::{Actor, CatalogStore as _, PrincipalId};

/// The actor a command records (`--as USER`): `operator`, or an existing principal.
pub async fn actor(d: &Deployment, name: &str) -> CliResult<Actor> {
    if name != "operator"
        && d.store
            .get_principal(&PrincipalId::new(name))
            .await?
            .is_none()
    {
        return Err(CliError::Usage(format!(
            "--as {name}: no such principal; see `zhongshu catalog principals`"
        )));
    }
    Ok(Actor(name.to_owned()))
}

/// Decides a management action of `--as NAME` on `resource` with Cedar, as every door does (a
/// resource it may not discover is missing). The host's `operator`, who holds the data
/// directory itself, is no catalog principal and is not asked.
pub async fn permit(
    d: &Deployment,
    name: &str,
    resource: &zhongshu_catalog::ResourceId,
    action: zhongshu_policies::Action,
) -> CliResult {
    let Some(principal) = principal(d, name).await? else {
        return Ok(());
    };
    zhongshu_engine::catalogue::require(&d.core()?, &principal, resource, action).await?;
    Ok(())
}

/// The catalog principal `--as NAME` names, or `None` for the host's `operator`, whose views
/// are the whole catalogue's.
pub async fn principal(
    d: &Deployment,
    name: &str,
) -> CliResult<Option<zhongshu_catalog::Principal>> {
    if name == "operator" {
        return Ok(None);
    }
    d.store
        .get_principal(&PrincipalId::new(name))
        .await?
        .map(Some)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--as {name}: no such principal; see `zhongshu catalog principals`"
            ))
        })
}

/// [`permit`] for a resource the caller reached through something else (a suggestion, a rule's
/// data element, an existing job). A resource hidden from `name` must not be named back to it,
/// so its absence is reported as `instead` says.
pub async fn permit_indirect(
    d: &Deployment,
    name: &str,
    resource: &zhongshu_catalog::ResourceId,
    action: zhongshu_policies::Action,
    instead: impl FnOnce() -> CliError,
) -> CliResult {
    match permit(d, name, resource, action).await {
        Err(CliError::Engine(zhongshu_engine::EngineError::Catalog(
            zhongshu_catalog::CatalogError::NotFound {
                kind: "resource", ..
            },
        ))) => Err(instead()),
        other => other,
    }
}
