//! Grants as the people who answer for them see them: the owning department's data officer and
//! the chief data officer (`approve` on the resource) and administrators (`administer`) list and
//! revoke the grants on resources they may discover, and anyone may ask what its own session
//! holds (an administrator, anyone's).
//!
//! A revocation takes effect on the next statement through every door, because every session
//! decides its access from the catalog when the statement starts.

use crate::core::Core;
use crate::error::{EngineError, Result};
use zhongshu_catalog::{Actor, CatalogError, Grant, Principal, PrincipalId};
use zhongshu_policies::{Action, Decisions, SessionAccess};

/// Whether the holder of `decisions` answers for grants on `resource`.
fn answers_for(decisions: &Decisions, resource: &zhongshu_catalog::ResourceId) -> bool {
    decisions.allows(resource, Action::Discover)
        && (decisions.allows(resource, Action::Approve)
            || decisions.allows(resource, Action::Administer))
}

/// The grants `principal` answers for, newest first.
pub async fn list(core: &Core, principal: &Principal) -> Result<Vec<Grant>> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut grants: Vec<Grant> = core
        .store()
        .list_grants(None)
        .await?
        .into_iter()
        .filter(|g| answers_for(&decisions, &g.grant.resource))
        .collect();
    grants.sort_by_key(|g| std::cmp::Reverse(g.id));
    Ok(grants)
}

/// Revokes grant `id`; a grant `principal` does not answer for is missing to it.
pub async fn revoke(core: &Core, principal: &Principal, id: i64) -> Result<Grant> {
    let missing = || EngineError::from(CatalogError::not_found("grant", id));
    let grant = core.store().get_grant(id).await?.ok_or_else(missing)?;
    let decisions = core.query().decisions(principal, None).await?;
    if !answers_for(&decisions, &grant.grant.resource) {
        return Err(missing());
    }
    if grant.revoked_at.is_some() {
        return Err(CatalogError::Invalid {
            what: format!("grant {id}"),
            reason: "it is already revoked".into(),
        }
        .into());
    }
    Ok(core
        .store()
        .revoke_grant(&Actor::principal(&principal.id), id)
        .await?)
}

/// Whether `principal` administers (may look into other principals' sessions).
pub async fn administers(core: &Core, principal: &Principal) -> Result<bool> {
    let decisions = core.query().decisions(principal, None).await?;
    Ok(core
        .query()
        .resources()
        .await?
        .iter()
        .any(|d| decisions.allows(&d.resource.id, Action::Administer)))
}

/// What the session of `subject` (declaring `purpose`) holds: the tables it reads with their
/// columns, masks and row filter, and those it may only discover. Anyone may ask of itself; of
/// another principal only an administrator, and to anyone else that principal is missing.
pub async fn explain(
    core: &Core,
    principal: &Principal,
    subject: &str,
    purpose: Option<&str>,
) -> Result<(Principal, SessionAccess)> {
    let subject = if subject == principal.id.as_str() {
        principal.clone()
    } else {
        let missing = || EngineError::from(CatalogError::not_found("principal", subject));
        if !administers(core, principal).await? {
            return Err(missing());
        }
        core.store()
            .get_principal(&PrincipalId::new(subject))
            .await?
            .ok_or_else(missing)?
    };
    let access = core.query().access(&subject, purpose, false).await?;
    Ok((subject, access))
}
