//! 数据标准 and 系统清单 as people keep them: adding data elements and code lists, the system
//! inventory, and the data dictionary of a department or the whole catalogue.
//!
//! Adding is a catalogue action (`define_standards`: data officers, the CDO, admins), decided
//! with Cedar; changing what someone else defined, or another department's systems, takes
//! `manage_standards` (the chief data officer). The vocabulary itself — elements, code lists,
//! which systems exist — is public to every signed-in principal; what it points at is not: a
//! system's resources and the dictionary's rows are only those the reader may discover.

use crate::core::Core;
use crate::error::{EngineError, Result};
use zhongshu_catalog::{
    Actor, CatalogError, CodeListSummary, DataElement, InformationSystem, NewCodeList, NewSystem,
    OrgId, Principal, ResourceId,
};
use zhongshu_policies::{Action, Decisions};

fn actor(principal: &Principal) -> Actor {
    Actor::principal(&principal.id)
}

/// What `principal` may do to the standards: add (`define`), and change what others defined
/// (`manage`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StandardsRights {
    /// May add elements, code lists and its department's systems.
    pub define: bool,
    /// May change or remove anyone's.
    pub manage: bool,
}

/// The rights of `principal`, decided with Cedar.
pub async fn rights(core: &Core, principal: &Principal) -> Result<StandardsRights> {
    let decisions = core.query().decisions(principal, None).await?;
    Ok(rights_of(&decisions))
}

fn rights_of(decisions: &Decisions) -> StandardsRights {
    StandardsRights {
        define: decisions.allows_on_catalogue(Action::DefineStandards),
        manage: decisions.allows_on_catalogue(Action::ManageStandards),
    }
}

fn refused(principal: &Principal, what: &str) -> EngineError {
    EngineError::Refused(format!(
        "{} may not {what}; ask a data officer or the chief data officer",
        principal.id
    ))
}

async fn require_define(core: &Core, principal: &Principal, what: &str) -> Result<StandardsRights> {
    let rights = rights(core, principal).await?;
    if rights.define || rights.manage {
        Ok(rights)
    } else {
        Err(refused(principal, what))
    }
}

/// Adds a data element. An element whose id or name exists already is refused unless the
/// principal may manage the standards (the CDO changes existing elements, which every bound
/// column uses).
pub async fn add_element(
    core: &Core,
    principal: &Principal,
    element: &DataElement,
) -> Result<DataElement> {
    let rights = require_define(core, principal, "add data elements").await?;
    let invalid = |reason: String| CatalogError::Invalid {
        what: format!("data element {}", element.id),
        reason,
    };
    if element.name.trim().is_empty() {
        return Err(invalid("give the element a Chinese name (名称)".into()).into());
    }
    if !matches!(
        element.data_type.as_str(),
        "string" | "int64" | "float64" | "date" | "timestamp" | "boolean"
    ) {
        return Err(invalid(format!(
            "type `{}` is not one of string, int64, float64, date, timestamp, boolean",
            element.data_type
        ))
        .into());
    }
    for key in [element.id.as_str(), element.name.as_str()] {
        if let Some(existing) = core.store().get_element(key).await?
            && !rights.manage
        {
            return Err(invalid(format!(
                "{key} is already the element {} ({}); the chief data officer changes existing elements",
                existing.id, existing.name
            ))
            .into());
        }
    }
    core.store()
        .upsert_element(&actor(principal), element)
        .await?;
    core.store()
        .get_element(element.id.as_str())
        .await?
        .ok_or_else(|| CatalogError::not_found("data element", &element.id).into())
}

/// Every code list.
pub async fn code_lists(core: &Core) -> Result<Vec<CodeListSummary>> {
    Ok(core.store().list_code_lists().await?)
}

/// One code list with its codes.
pub async fn code_list(core: &Core, id: &str) -> Result<NewCodeList> {
    core.store()
        .get_code_list(id)
        .await?
        .ok_or_else(|| CatalogError::not_found("code list", id).into())
}

/// Loads (or reloads) a code list. Reloading a list someone else loaded needs
/// `manage_standards`.
pub async fn load_code_list(
    core: &Core,
    principal: &Principal,
    list: &NewCodeList,
) -> Result<CodeListSummary> {
    let rights = require_define(core, principal, "load code lists").await?;
    let existing = core
        .store()
        .list_code_lists()
        .await?
        .into_iter()
        .find(|l| l.id == list.id);
    if let Some(existing) = existing
        && existing.updated_by != principal.id.as_str()
        && !rights.manage
    {
        return Err(EngineError::Refused(format!(
            "code list {} was loaded by {}; the chief data officer reloads another's list",
            list.id, existing.updated_by
        )));
    }
    Ok(core.store().put_code_list(&actor(principal), list).await?)
}

/// Removes a code list that no rule uses (`used_by` names the rules that use it: the caller
/// knows the rules). Needs `manage_standards`, or to be the one who loaded it.
pub async fn remove_code_list(
    core: &Core,
    principal: &Principal,
    id: &str,
    used_by: &[String],
) -> Result<()> {
    let rights = require_define(core, principal, "remove code lists").await?;
    let existing = core
        .store()
        .list_code_lists()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| CatalogError::not_found("code list", id))?;
    if existing.updated_by != principal.id.as_str() && !rights.manage {
        return Err(refused(principal, "remove a code list someone else loaded"));
    }
    if !used_by.is_empty() {
        return Err(CatalogError::Invalid {
            what: format!("code list {id}"),
            reason: format!(
                "the rules {} check values against it: remove them first",
                used_by.join(", ")
            ),
        }
        .into());
    }
    Ok(core.store().remove_code_list(&actor(principal), id).await?)
}

/// A system of the inventory as a reader sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemRow {
    /// The system, its resources cut to those the reader may discover.
    pub system: InformationSystem,
    /// The resources it produces that the reader may discover, with their names.
    pub resources: Vec<(ResourceId, String)>,
    /// It produces no catalogued resource at all: data outside the catalogue. (Whether a
    /// system has any resource is an assessment figure, like 一数一源 coverage; which ones
    /// is not, so hidden resources are left out of `resources` without a count.)
    pub uncatalogued: bool,
    /// The reader may change it (its department's data officer, or the CDO).
    pub editable: bool,
}

/// The system inventory as `principal` sees it.
pub async fn systems(core: &Core, principal: &Principal) -> Result<Vec<SystemRow>> {
    let decisions = core.query().decisions(principal, None).await?;
    let rights = rights_of(&decisions);
    let all = core.query().resources().await?;
    let name_of = |id: &ResourceId| {
        all.iter()
            .find(|d| &d.resource.id == id)
            .map(|d| d.resource.name.clone())
    };
    Ok(core
        .store()
        .list_systems()
        .await?
        .into_iter()
        .map(|mut system| {
            let uncatalogued = system.system.resources.is_empty();
            system
                .system
                .resources
                .retain(|r| decisions.allows(r, Action::Discover));
            let resources = system
                .system
                .resources
                .iter()
                .filter_map(|r| name_of(r).map(|n| (r.clone(), n)))
                .collect();
            SystemRow {
                uncatalogued,
                editable: rights.manage || (rights.define && system.system.org == principal.org),
                resources,
                system,
            }
        })
        .collect())
}

/// Registers (or changes) a system of the inventory. A data officer registers its own
/// department's systems; the CDO any department's. Each resource must be one the principal
/// may discover (others look missing) and be provided by the system's department.
pub async fn register_system(
    core: &Core,
    principal: &Principal,
    system: &NewSystem,
) -> Result<InformationSystem> {
    let decisions = core.query().decisions(principal, None).await?;
    let rights = rights_of(&decisions);
    if !(rights.define || rights.manage) {
        return Err(refused(principal, "register information systems"));
    }
    let existing = core
        .store()
        .list_systems()
        .await?
        .into_iter()
        .find(|s| s.system.id == system.id);
    let theirs = |org: &OrgId| org == &principal.org;
    if !rights.manage && (!theirs(&system.org) || existing.is_some_and(|e| !theirs(&e.system.org)))
    {
        return Err(refused(
            principal,
            "register or change another department's systems",
        ));
    }
    for r in &system.resources {
        if !decisions.allows(r, Action::Discover) {
            return Err(CatalogError::not_found("resource", r).into());
        }
    }
    Ok(core.store().put_system(&actor(principal), system).await?)
}

/// Removes a system from the inventory (same rights as registering it).
pub async fn remove_system(core: &Core, principal: &Principal, id: &str) -> Result<()> {
    let row = systems(core, principal)
        .await?
        .into_iter()
        .find(|s| s.system.system.id == id)
        .ok_or_else(|| CatalogError::not_found("information system", id))?;
    if !row.editable {
        return Err(refused(principal, "remove another department's systems"));
    }
    Ok(core.store().remove_system(&actor(principal), id).await?)
}

/// One item (信息项) of the data dictionary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DictionaryRow {
    /// Provider department.
    pub department: String,
    /// Resource code.
    pub resource: String,
    /// Resource name.
    pub resource_name: String,
    /// Column name.
    pub column: String,
    /// Column title (信息项名称).
    pub title: String,
    /// Logical type.
    pub data_type: String,
    /// Bound data element, if any.
    pub element: String,
    /// Source or replica.
    pub binding: String,
    /// Category label.
    pub category: String,
    /// Grade label.
    pub grade: String,
    /// Sharing attribute label.
    pub share: String,
    /// Open attribute label.
    pub open: String,
    /// Update cycle label.
    pub update_cycle: String,
}

/// The data dictionary: every item of every resource `principal` may discover, of
/// `department` or of the whole catalogue, by resource and column position.
pub async fn dictionary(
    core: &Core,
    principal: &Principal,
    department: Option<&OrgId>,
) -> Result<Vec<DictionaryRow>> {
    let decisions = core.query().decisions(principal, None).await?;
    dictionary_of(core, department, |id| {
        decisions.allows(id, Action::Discover)
    })
    .await
}

/// The data dictionary of the resources `seen` keeps (the host's operator, who holds the data
/// directory, sees them all).
pub async fn dictionary_of(
    core: &Core,
    department: Option<&OrgId>,
    seen: impl Fn(&ResourceId) -> bool,
) -> Result<Vec<DictionaryRow>> {
    let orgs = core.store().list_orgs().await?;
    let org_name = |id: &OrgId| {
        orgs.iter()
            .find(|o| &o.id == id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    let mut resources: Vec<_> = core
        .query()
        .resources()
        .await?
        .iter()
        .filter(|d| department.is_none_or(|o| &d.resource.provider == o))
        .filter(|d| seen(&d.resource.id))
        .cloned()
        .collect();
    resources.sort_by(|a, b| a.resource.id.cmp(&b.resource.id));
    let mut rows = Vec::new();
    for d in &resources {
        let r = &d.resource;
        for c in &d.columns {
            rows.push(DictionaryRow {
                department: org_name(&r.provider),
                resource: r.id.to_string(),
                resource_name: r.name.clone(),
                column: c.name.clone(),
                title: c.title.clone(),
                data_type: c.data_type.clone(),
                element: c
                    .element
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                binding: c.binding.map(|b| b.label().to_owned()).unwrap_or_default(),
                category: c.category.label().to_owned(),
                grade: c.grade.label().to_owned(),
                share: r.share_attr.label().to_owned(),
                open: r.open_attr.label().to_owned(),
                update_cycle: r.update_cycle.label().to_owned(),
            });
        }
    }
    Ok(rows)
}
