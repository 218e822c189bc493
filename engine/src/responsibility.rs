//! The responsibility list (数据权责清单) as people use it: every data element with the
//! department responsible for it, the legal basis and the update duty, beside where its
//! authoritative source is today — flagged when another department holds it, for the chief data
//! officer to settle. Assigning is a catalogue action (`manage_standards`), decided with Cedar;
//! the catalog then refuses a source bound by any other department, at every door.

use crate::core::Core;
use crate::error::{EngineError, Result};
use zhongshu_catalog::{
    Actor, CatalogError, DataElement, ElementBinding, ElementId, NewResponsibility, Principal,
    Responsibility,
};
use zhongshu_policies::Action;

/// One element of the list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResponsibilityRow {
    /// The element.
    pub element: DataElement,
    /// Its assignment, if it has one.
    pub responsibility: Option<Responsibility>,
    /// Its authoritative source, when the reader may discover it.
    pub source: Option<ElementBinding>,
    /// The source is held by another department than the responsible one.
    pub flagged: bool,
}

/// The list as `principal` sees it: every element (the vocabulary is public), sources only on
/// resources it may discover.
pub async fn list(core: &Core, principal: &Principal) -> Result<Vec<ResponsibilityRow>> {
    let decisions = core.query().decisions(principal, None).await?;
    rows(core, |s| decisions.allows(&s.resource, Action::Discover)).await
}

/// The list with the sources `seen` keeps (the host's operator, who holds the data directory,
/// sees them all).
pub async fn rows(
    core: &Core,
    seen: impl Fn(&ElementBinding) -> bool,
) -> Result<Vec<ResponsibilityRow>> {
    let assigned = core.store().list_responsibilities().await?;
    let mut rows = Vec::new();
    for element in core.store().list_elements().await? {
        let responsibility = assigned
            .iter()
            .find(|r| r.assigned.element == element.id)
            .cloned();
        let source = core
            .store()
            .element_bindings(element.id.as_str())
            .await?
            .source
            .filter(&seen);
        let flagged = match (&responsibility, &source) {
            (Some(r), Some(s)) => r.assigned.org != s.owner,
            _ => false,
        };
        rows.push(ResponsibilityRow {
            element,
            responsibility,
            source,
            flagged,
        });
    }
    Ok(rows)
}

/// Whether `principal` may keep the list (and the district's other standards).
pub async fn may_manage(core: &Core, principal: &Principal) -> Result<bool> {
    let decisions = core.query().decisions(principal, None).await?;
    Ok(decisions.allows_on_catalogue(Action::ManageStandards))
}

async fn require_manage(core: &Core, principal: &Principal) -> Result<()> {
    if may_manage(core, principal).await? {
        Ok(())
    } else {
        Err(EngineError::Refused(format!(
            "{} may not change the responsibility list; the chief data officer keeps it",
            principal.id
        )))
    }
}

/// Assigns an element (named by its id or its name) to its responsible department.
pub async fn assign(
    core: &Core,
    principal: &Principal,
    new: &NewResponsibility,
) -> Result<Responsibility> {
    require_manage(core, principal).await?;
    let element = core
        .store()
        .get_element(new.element.as_str())
        .await?
        .ok_or_else(|| CatalogError::not_found("data element", &new.element))?;
    let new = NewResponsibility {
        element: element.id,
        ..new.clone()
    };
    Ok(core
        .store()
        .assign_responsibility(&Actor::principal(&principal.id), &new)
        .await?)
}

/// Removes an element's assignment.
pub async fn unassign(core: &Core, principal: &Principal, element: &ElementId) -> Result<()> {
    require_manage(core, principal).await?;
    Ok(core
        .store()
        .remove_responsibility(&Actor::principal(&principal.id), element)
        .await?)
}
