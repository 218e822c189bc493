//! Cataloguing as people do it: registering a resource (编目) and editing its descriptive
//! metadata and its sharing and open attributes, decided with Cedar like every other door.
//!
//! Registering is a catalogue action (`register_resources`: data officers, the CDO, admins);
//! a data officer registers its own department's resources, the CDO and admins any (they may
//! `manage_standards`). Editing a resource is `publish` on it: the owning department's data
//! officers and the CDO decide what it is called, how often it is updated and who may read it.
//! The catalog then checks what it always checks — identifiers, column names and types, the
//! open attribute against the grade, 一数一源 and the responsibility list — and its refusal
//! names the field and the rule.

use crate::catalogue::require;
use crate::core::Core;
use crate::error::{EngineError, Result};
use zhongshu_catalog::{Actor, AttributeChange, NewResource, Principal, Resource, ResourceId};
use zhongshu_policies::Action;

/// Whether `principal` may register resources at all (of its own department at least).
pub async fn may_register(core: &Core, principal: &Principal) -> Result<bool> {
    let decisions = core.query().decisions(principal, None).await?;
    Ok(decisions.allows_on_catalogue(Action::RegisterResources))
}

/// Registers a resource as `principal`.
pub async fn register(core: &Core, principal: &Principal, new: &NewResource) -> Result<Resource> {
    let decisions = core.query().decisions(principal, None).await?;
    if !decisions.allows_on_catalogue(Action::RegisterResources) {
        return Err(EngineError::Refused(format!(
            "{} may not register resources; a department's data officer registers its resources",
            principal.id
        )));
    }
    if new.provider != principal.org && !decisions.allows_on_catalogue(Action::ManageStandards) {
        return Err(EngineError::Refused(format!(
            "{} registers resources of its own department ({}), not of {}",
            principal.id, principal.org, new.provider
        )));
    }
    Ok(core
        .store()
        .register_resource(&Actor::principal(&principal.id), new)
        .await?)
}

/// Edits `id`'s descriptive metadata and attributes as `principal` (`publish` on it; a
/// resource it may not discover is missing).
pub async fn edit(
    core: &Core,
    principal: &Principal,
    id: &ResourceId,
    change: &AttributeChange,
) -> Result<Resource> {
    require(core, principal, id, Action::Publish).await?;
    Ok(core
        .store()
        .set_attributes(&Actor::principal(&principal.id), id, change)
        .await?)
}
