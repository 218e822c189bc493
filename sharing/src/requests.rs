//! Share requests: filing (granted at once for 无条件共享), the decision of the owner's data
//! officer or the CDO, renewal, and who sees which.

use zhongshu_catalog::{
    Actor, CatalogError, Grant, Grantee, NewShareRequest, Principal, RequestDecision,
    RequestStatus, ShareAttr, ShareRequest,
};
use zhongshu_engine::Core;
use zhongshu_engine::error::{EngineError, Result};
use zhongshu_policies::{Action, Decisions};

/// The actor recorded for a request granted by the 无条件共享 attribute itself.
pub const UNCONDITIONAL: &str = "system:unconditional-sharing";

/// A request as a reader sees it, with what the reader may do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestView {
    /// The request.
    #[serde(flatten)]
    pub request: ShareRequest,
    /// The reader may decide it now.
    pub decidable: bool,
    /// Only the CDO decides it (a 不予共享 resource).
    pub for_the_cdo: bool,
    /// For a granted request: whether its grant is still in force (not revoked or expired).
    pub grant_in_force: Option<bool>,
}

fn is_for(grantee: &Grantee, principal: &Principal) -> bool {
    match grantee {
        Grantee::Principal(p) => p == &principal.id,
        Grantee::Org(o) => o == &principal.org,
    }
}

/// Whether the reader answers for requests on `resource` (as for its grants).
fn answers_for(decisions: &Decisions, resource: &zhongshu_catalog::ResourceId) -> bool {
    decisions.allows(resource, Action::Discover)
        && (decisions.allows(resource, Action::Approve)
            || decisions.allows(resource, Action::Administer))
}

/// Whether the reader sees `r` (on a resource of `share` attribute): its filer, its grantee,
/// whoever answers for the resource's grants, and the CDO for 不予共享 data.
fn shown(decisions: &Decisions, principal: &Principal, r: &ShareRequest, share: ShareAttr) -> bool {
    r.filed_by == principal.id.as_str()
        || is_for(&r.request.grantee, principal)
        || answers_for(decisions, &r.request.resource)
        || (share == ShareAttr::NotShared && decisions.allows_on_catalogue(Action::ManageStandards))
}

/// Whether the reader may decide `r`: for 不予共享 data only the CDO (`manage_standards`), for
/// the rest whoever may `approve` on the resource.
fn may_decide(decisions: &Decisions, r: &ShareRequest, share: ShareAttr) -> bool {
    r.status == RequestStatus::Pending
        && match share {
            ShareAttr::NotShared => decisions.allows_on_catalogue(Action::ManageStandards),
            _ => {
                decisions.allows(&r.request.resource, Action::Discover)
                    && decisions.allows(&r.request.resource, Action::Approve)
            }
        }
}

async fn share_attr(core: &Core, r: &zhongshu_catalog::ResourceId) -> Result<ShareAttr> {
    Ok(core
        .store()
        .get_resource(r)
        .await?
        .ok_or_else(|| CatalogError::not_found("resource", r))?
        .resource
        .share_attr)
}

/// Files a request as `principal`, for itself or its department, on a resource it may
/// discover (others look missing). A 无条件共享 resource's request is granted at once.
pub async fn file(
    core: &Core,
    principal: &Principal,
    new: &NewShareRequest,
) -> Result<(ShareRequest, Option<Grant>)> {
    let decisions = core.query().decisions(principal, None).await?;
    if !decisions.allows(&new.resource, Action::Discover) {
        return Err(CatalogError::not_found("resource", &new.resource).into());
    }
    if !is_for(&new.grantee, principal) && !decisions.allows(&new.resource, Action::Administer) {
        return Err(EngineError::Refused(format!(
            "{} requests data for itself or its department, not for {}",
            principal.id, new.grantee
        )));
    }
    let filed = core
        .store()
        .file_share_request(&Actor::principal(&principal.id), new)
        .await?;
    if share_attr(core, &new.resource).await? == ShareAttr::Unconditional {
        let (granted, grant) = core
            .store()
            .decide_share_request(
                &Actor(UNCONDITIONAL.into()),
                filed.id,
                &RequestDecision::Approve { conditions: None },
            )
            .await?;
        return Ok((granted, grant));
    }
    Ok((filed, None))
}

/// The requests `principal` may see: its own, those for it or its department, and those it
/// answers for, newest first.
pub async fn list(core: &Core, principal: &Principal) -> Result<Vec<RequestView>> {
    let decisions = core.query().decisions(principal, None).await?;
    let resources = core.query().resources().await?;
    let grants = core.store().list_grants(None).await?;
    let now = chrono::Utc::now();
    let in_force = |id: i64| grants.iter().any(|g| g.id == id && g.is_active(&now));
    let share_attrs: std::collections::HashMap<&zhongshu_catalog::ResourceId, ShareAttr> =
        resources
            .iter()
            .map(|d| (&d.resource.id, d.resource.share_attr))
            .collect();
    let attr = |id: &zhongshu_catalog::ResourceId| share_attrs.get(id).copied();
    let mut out: Vec<RequestView> = core
        .store()
        .list_share_requests()
        .await?
        .into_iter()
        .filter_map(|r| {
            let share = attr(&r.request.resource).unwrap_or(ShareAttr::NotShared);
            shown(&decisions, principal, &r, share).then_some((r, share))
        })
        .map(|(r, share)| RequestView {
            decidable: may_decide(&decisions, &r, share),
            for_the_cdo: share == ShareAttr::NotShared,
            grant_in_force: r.grant.map(in_force),
            request: r,
        })
        .collect();
    out.sort_by_key(|v| std::cmp::Reverse(v.request.id));
    Ok(out)
}

/// Decides request `id` as `principal`: the owning department's data officer or the CDO for
/// 有条件共享, only the CDO for 不予共享. A request it may not see is missing.
pub async fn decide(
    core: &Core,
    principal: &Principal,
    id: i64,
    decision: &RequestDecision,
) -> Result<(ShareRequest, Option<Grant>)> {
    let decisions = core.query().decisions(principal, None).await?;
    let missing = || EngineError::from(CatalogError::not_found("share request", id));
    let request = core
        .store()
        .list_share_requests()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(missing)?;
    let share = share_attr(core, &request.request.resource).await?;
    if !shown(&decisions, principal, &request, share) {
        return Err(missing());
    }
    if request.status == RequestStatus::Pending && !may_decide(&decisions, &request, share) {
        return Err(EngineError::Refused(if share == ShareAttr::NotShared {
            format!(
                "request {id} is for 不予共享 data: only the chief data officer decides it, on its legal basis"
            )
        } else {
            format!(
                "{} may not decide request {id}; the owning department's data officer does",
                principal.id
            )
        }));
    }
    Ok(core
        .store()
        .decide_share_request(&Actor::principal(&principal.id), id, decision)
        .await?)
}

/// Renews granted request `id` before its grant expires: a new request with the same terms,
/// decided like the first. Only its filer or grantee renews it.
pub async fn renew(
    core: &Core,
    principal: &Principal,
    id: i64,
) -> Result<(ShareRequest, Option<Grant>)> {
    let missing = || EngineError::from(CatalogError::not_found("share request", id));
    let old = core
        .store()
        .list_share_requests()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(missing)?;
    if old.filed_by != principal.id.as_str() && !is_for(&old.request.grantee, principal) {
        return Err(missing());
    }
    let active = match old.grant {
        Some(g) => core
            .store()
            .get_grant(g)
            .await?
            .is_some_and(|g| g.is_active(&chrono::Utc::now())),
        None => false,
    };
    if old.status != RequestStatus::Granted || !active {
        return Err(CatalogError::Invalid {
            what: format!("renewal of share request {id}"),
            reason: "only a granted request whose grant is still in force is renewed; file a new request"
                .into(),
        }
        .into());
    }
    let mut again = old.request.clone();
    again.renews = Some(id);
    file(core, principal, &again).await
}
