//! What a principal sees of the catalogue: the resources it may discover, and the data
//! elements' sources and replicas among them.
//!
//! The same decisions as its SQL sessions (`discover` per resource), so the HTTP catalogue,
//! search and the console list exactly the resources `information_schema` shows it, and a
//! hidden resource is missing everywhere: from lists, totals, pages and element bindings.

use crate::core::Core;
use crate::error::Result;
use zhongshu_catalog::{Coverage, ElementBindings, Principal, Resource, ResourceFilter};
use zhongshu_policies::Action;

/// One page of resources and how many there are in all.
#[derive(Debug, Clone)]
pub struct ResourcePage {
    /// The resources of the page, by id.
    pub items: Vec<Resource>,
    /// How many resources the principal may discover that match the filter.
    pub total: usize,
}

/// The resources `principal` may discover that match `filter`, ordered by id, `limit` of them
/// from `offset`.
pub async fn resources(
    core: &Core,
    principal: &Principal,
    filter: &ResourceFilter,
    offset: i64,
    limit: i64,
) -> Result<ResourcePage> {
    let decisions = core.query().decisions(principal, None).await?;
    let all = core.query().resources().await?;
    let mut matching: Vec<&Resource> = all
        .iter()
        .map(|d| &d.resource)
        .filter(|r| filter.provider.as_ref().is_none_or(|p| &r.provider == p))
        .filter(|r| filter.tier.is_none_or(|t| r.tier == t))
        .filter(|r| filter.open_attr.is_none_or(|o| r.open_attr == o))
        .filter(|r| decisions.allows(&r.id, Action::Discover))
        .collect();
    matching.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ResourcePage {
        total: matching.len(),
        items: matching
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.max(0) as usize)
            .cloned()
            .collect(),
    })
}

/// Every data element with its source and replicas among the resources `principal` may
/// discover.
pub async fn elements(core: &Core, principal: &Principal) -> Result<Vec<ElementBindings>> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut out = Vec::new();
    for e in core.store().list_elements().await? {
        let bindings = core.store().element_bindings(e.id.as_str()).await?;
        out.push(discoverable_bindings(&decisions, bindings));
    }
    Ok(out)
}

/// One data element (by id or name) with its source and replicas among the resources
/// `principal` may discover.
pub async fn element(core: &Core, principal: &Principal, key: &str) -> Result<ElementBindings> {
    let decisions = core.query().decisions(principal, None).await?;
    let bindings = core.store().element_bindings(key).await?;
    Ok(discoverable_bindings(&decisions, bindings))
}

/// 一数一源 coverage as `principal` sees it: every data element counts (the vocabulary is
/// public), and an element has a source when the principal may discover the source's resource
/// or count it in the district's assessment figures (`assess`: government principals, by the
/// base policies). The public's coverage is the coverage of what is open.
pub async fn coverage(core: &Core, principal: &Principal) -> Result<Coverage> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut elements = 0;
    let mut with_source = 0;
    for e in core.store().list_elements().await? {
        elements += 1;
        let bindings = core.store().element_bindings(e.id.as_str()).await?;
        if bindings.source.is_some_and(|s| {
            decisions.allows(&s.resource, Action::Assess)
                || decisions.allows(&s.resource, Action::Discover)
        }) {
            with_source += 1;
        }
    }
    Ok(Coverage::of(elements, with_source))
}

fn discoverable_bindings(
    decisions: &zhongshu_policies::Decisions,
    mut bindings: ElementBindings,
) -> ElementBindings {
    let seen =
        |r: &zhongshu_catalog::ElementBinding| decisions.allows(&r.resource, Action::Discover);
    bindings.source = bindings.source.filter(seen);
    bindings.replicas.retain(seen);
    bindings
}

/// Succeeds when `principal` may do `action` on `resource`: a resource it may not discover is
/// missing (`NotFound`, as if it did not exist), a refused action is `Refused` naming it. Every
/// door calls this before a management use case (classify, bind, manage jobs and rules).
pub async fn require(
    core: &Core,
    principal: &Principal,
    resource: &zhongshu_catalog::ResourceId,
    action: Action,
) -> Result<()> {
    let decisions = core.query().decisions(principal, None).await?;
    if !decisions.allows(resource, Action::Discover) {
        return Err(zhongshu_catalog::CatalogError::NotFound {
            kind: "resource",
            id: resource.to_string(),
        }
        .into());
    }
    if !decisions.allows(resource, action) {
        return Err(crate::EngineError::Refused(format!(
            "{} may not {} {resource}; ask its department's data officer or an administrator",
            principal.id,
            action.as_str().replace('_', " ")
        )));
    }
    Ok(())
}
