//! The demand list: filing, listing and deciding demands.

use zhongshu_catalog::{
    Actor, CatalogError, Demand, DemandDecision, Grant, NewDemand, Principal, RequestStatus,
    ShareRequest,
};
use zhongshu_engine::Core;
use zhongshu_engine::error::{EngineError, Result};
use zhongshu_policies::{Action, Decisions};

/// A demand with whether a grant satisfies it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemandView {
    /// The demand.
    #[serde(flatten)]
    pub demand: Demand,
    /// An active grant from a request answering it exists.
    pub satisfied: bool,
}

/// Whether `demand` is satisfied: a granted request answering it whose grant is active.
pub(crate) fn satisfied(
    demand: &Demand,
    requests: &[ShareRequest],
    grants: &[Grant],
    now: &chrono::DateTime<chrono::Utc>,
) -> bool {
    requests.iter().any(|r| {
        r.request.demand == Some(demand.id)
            && r.status == RequestStatus::Granted
            && r.grant
                .is_some_and(|g| grants.iter().any(|x| x.id == g && x.is_active(now)))
    })
}

/// The demands `decisions` shows: the principal's department's, and all of them to those who
/// match demands.
fn shown(decisions: &Decisions, principal: &Principal, demand: &Demand) -> bool {
    demand.demand.org == principal.org || decisions.allows_on_catalogue(Action::MatchDemand)
}

/// Files a demand for the principal's department (`file_demand`: government principals).
pub async fn file(core: &Core, principal: &Principal, new: &NewDemand) -> Result<Demand> {
    let decisions = core.query().decisions(principal, None).await?;
    if !decisions.allows_on_catalogue(Action::FileDemand) {
        return Err(EngineError::Refused(format!(
            "{} may not file sharing demands; a government department files them",
            principal.id
        )));
    }
    if new.org != principal.org && !decisions.allows_on_catalogue(Action::ManageStandards) {
        return Err(EngineError::Refused(format!(
            "{} files demands for its own department ({}), not for {}",
            principal.id, principal.org, new.org
        )));
    }
    Ok(core
        .store()
        .file_demand(&Actor::principal(&principal.id), new)
        .await?)
}

/// The demands `principal` may see, with whether each is satisfied.
pub async fn list(core: &Core, principal: &Principal) -> Result<Vec<DemandView>> {
    let decisions = core.query().decisions(principal, None).await?;
    let requests = core.store().list_share_requests().await?;
    let grants = core.store().list_grants(None).await?;
    let now = chrono::Utc::now();
    Ok(core
        .store()
        .list_demands()
        .await?
        .into_iter()
        .filter(|d| shown(&decisions, principal, d))
        .map(|d| DemandView {
            satisfied: satisfied(&d, &requests, &grants, &now),
            demand: d,
        })
        .collect())
}

/// Decides demand `id` (`match_demand`); a match names a resource the principal may discover.
/// A demand it may not see is missing.
pub async fn decide(
    core: &Core,
    principal: &Principal,
    id: i64,
    decision: &DemandDecision,
) -> Result<Demand> {
    let decisions = core.query().decisions(principal, None).await?;
    let missing = || EngineError::from(CatalogError::not_found("demand", id));
    let demand = core
        .store()
        .list_demands()
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(missing)?;
    if !shown(&decisions, principal, &demand) {
        return Err(missing());
    }
    if !decisions.allows_on_catalogue(Action::MatchDemand) {
        return Err(EngineError::Refused(format!(
            "{} may not decide demands; a data officer or the chief data officer does",
            principal.id
        )));
    }
    if let DemandDecision::Match { resource } = decision
        && !decisions.allows(resource, Action::Discover)
    {
        return Err(CatalogError::not_found("resource", resource).into());
    }
    Ok(core
        .store()
        .decide_demand(&Actor::principal(&principal.id), id, decision)
        .await?)
}
