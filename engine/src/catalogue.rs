//! What a principal sees of the catalogue: the resources it may discover, and the data
//! elements' sources and replicas among them.
//!
//! The same decisions as its SQL sessions (`discover` per resource), so the HTTP catalogue,
//! search and the console list exactly the resources `information_schema` shows it, and a
//! hidden resource is missing everywhere: from lists, totals, pages and element bindings.

use crate::core::Core;
use crate::error::Result;
use zhongshu_catalog::{
    Coverage, ElementBindings, Grade, LibraryTier, OpenAttr, OrgId, Principal, Resource,
    ResourceDetail, ResourceFilter, ResourceId, ShareAttr, UpdateCycle,
};
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

/// What a catalogue browser asks for: words to search, facet values to keep, an order and a
/// page.
#[derive(Debug, Clone, Default)]
pub struct Browse {
    /// Words to search for (Chinese-aware: abbreviations and parts of names match).
    pub text: Option<String>,
    /// Only this provider department.
    pub provider: Option<OrgId>,
    /// Only this tier.
    pub tier: Option<LibraryTier>,
    /// Only this sharing attribute.
    pub share_attr: Option<ShareAttr>,
    /// Only this open attribute.
    pub open_attr: Option<OpenAttr>,
    /// Only this grade.
    pub grade: Option<Grade>,
    /// Only this update cycle.
    pub update_cycle: Option<UpdateCycle>,
    /// The order.
    pub sort: BrowseOrder,
    /// The first result of the page, from 0.
    pub offset: usize,
    /// At most this many results.
    pub limit: usize,
}

/// How browsed resources are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BrowseOrder {
    /// Best match first when there are words, else by code.
    #[default]
    Relevance,
    /// By name.
    Name,
    /// Most recently changed first.
    Updated,
    /// By resource code.
    Code,
}

/// One facet value and how many resources have it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FacetCount {
    /// The value's code (an organisation id, a vocabulary code).
    pub value: String,
    /// Resources that have it, among those matching the words and the other facets.
    pub count: usize,
}

/// The facets of a browse: per dimension, the values present and their counts.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Facets {
    /// Provider departments.
    pub provider: Vec<FacetCount>,
    /// Tiers.
    pub tier: Vec<FacetCount>,
    /// Sharing attributes.
    pub share_attr: Vec<FacetCount>,
    /// Open attributes.
    pub open_attr: Vec<FacetCount>,
    /// Grades.
    pub grade: Vec<FacetCount>,
    /// Update cycles.
    pub update_cycle: Vec<FacetCount>,
}

/// A page of browsed resources.
#[derive(Debug, Clone)]
pub struct Browsed {
    /// The page, in order.
    pub items: Vec<ResourceDetail>,
    /// How many resources match in all.
    pub total: usize,
    /// Facet counts over the matching resources.
    pub facets: Facets,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dim {
    Provider,
    Tier,
    Share,
    Open,
    Grade,
    Cycle,
}

impl Browse {
    /// Whether `r` has the selected values of every dimension but `skip`.
    fn keeps(&self, r: &Resource, skip: Option<Dim>) -> bool {
        let on = |d: Dim| skip != Some(d);
        (!on(Dim::Provider) || self.provider.as_ref().is_none_or(|p| &r.provider == p))
            && (!on(Dim::Tier) || self.tier.is_none_or(|t| r.tier == t))
            && (!on(Dim::Share) || self.share_attr.is_none_or(|s| r.share_attr == s))
            && (!on(Dim::Open) || self.open_attr.is_none_or(|o| r.open_attr == o))
            && (!on(Dim::Grade) || self.grade.is_none_or(|g| r.grade == Some(g)))
            && (!on(Dim::Cycle) || self.update_cycle.is_none_or(|c| r.update_cycle == c))
    }
}

/// Counts of `value` over `matching`, by value.
fn counts<'a>(
    matching: impl Iterator<Item = &'a Resource>,
    value: impl Fn(&Resource) -> Option<String>,
) -> Vec<FacetCount> {
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for r in matching {
        if let Some(v) = value(r) {
            *by.entry(v).or_default() += 1;
        }
    }
    by.into_iter()
        .map(|(value, count)| FacetCount { value, count })
        .collect()
}

/// The resources `principal` may discover that match `browse`, a page of them in its order,
/// with facet counts (each dimension counted over the words and the other dimensions'
/// selections, so that a reader sees what choosing another value would give).
pub async fn browse(core: &Core, principal: &Principal, browse: &Browse) -> Result<Browsed> {
    let decisions = core.query().decisions(principal, None).await?;
    let all = core.query().resources().await?;
    let visible: Vec<&ResourceDetail> = all
        .iter()
        .filter(|d| decisions.allows(&d.resource.id, Action::Discover))
        .collect();
    let words = browse
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let scores: Option<std::collections::HashMap<ResourceId, f32>> = match words {
        None => None,
        Some(words) => {
            let mut index = core.search().lock().await;
            index.sync(core.store().as_ref()).await?;
            let found = index.search_where(words, 0, visible.len().max(1), &|id| {
                decisions.allows(id, Action::Discover)
            })?;
            Some(found.hits.into_iter().map(|h| (h.id, h.score)).collect())
        }
    };
    let worded: Vec<&ResourceDetail> = visible
        .into_iter()
        .filter(|d| {
            scores
                .as_ref()
                .is_none_or(|s| s.contains_key(&d.resource.id))
        })
        .collect();
    let except = |dim: Dim| {
        worded
            .iter()
            .map(|d| &d.resource)
            .filter(move |r| browse.keeps(r, Some(dim)))
    };
    let facets = Facets {
        provider: counts(except(Dim::Provider), |r| Some(r.provider.to_string())),
        tier: counts(except(Dim::Tier), |r| Some(r.tier.as_code().to_owned())),
        share_attr: counts(except(Dim::Share), |r| {
            Some(r.share_attr.as_code().to_owned())
        }),
        open_attr: counts(except(Dim::Open), |r| {
            Some(r.open_attr.as_code().to_owned())
        }),
        grade: counts(except(Dim::Grade), |r| {
            r.grade.map(|g| g.as_code().to_owned())
        }),
        update_cycle: counts(except(Dim::Cycle), |r| {
            Some(r.update_cycle.as_code().to_owned())
        }),
    };
    let mut matching: Vec<&ResourceDetail> = worded
        .into_iter()
        .filter(|d| browse.keeps(&d.resource, None))
        .collect();
    let score = |d: &ResourceDetail| {
        scores
            .as_ref()
            .and_then(|s| s.get(&d.resource.id).copied())
            .unwrap_or(0.0)
    };
    match browse.sort {
        BrowseOrder::Relevance if scores.is_some() => matching.sort_by(|a, b| {
            score(b)
                .total_cmp(&score(a))
                .then_with(|| a.resource.id.cmp(&b.resource.id))
        }),
        BrowseOrder::Relevance | BrowseOrder::Code => {
            matching.sort_by(|a, b| a.resource.id.cmp(&b.resource.id))
        }
        BrowseOrder::Name => matching.sort_by(|a, b| {
            a.resource
                .name
                .cmp(&b.resource.name)
                .then_with(|| a.resource.id.cmp(&b.resource.id))
        }),
        BrowseOrder::Updated => matching.sort_by(|a, b| {
            b.resource
                .updated_at
                .cmp(&a.resource.updated_at)
                .then_with(|| a.resource.id.cmp(&b.resource.id))
        }),
    }
    Ok(Browsed {
        total: matching.len(),
        items: matching
            .into_iter()
            .skip(browse.offset)
            .take(browse.limit)
            .cloned()
            .collect(),
        facets,
    })
}

/// The longest a table may go without a commit and still be within its resource's update
/// cycle (鲜活); `None` for an irregular cycle, which is never late.
pub fn within_cycle(cycle: UpdateCycle) -> Option<chrono::Duration> {
    let days = match cycle {
        UpdateCycle::Realtime | UpdateCycle::Daily => 1,
        UpdateCycle::Weekly => 7,
        UpdateCycle::Monthly => 31,
        UpdateCycle::Quarterly => 92,
        UpdateCycle::Yearly => 366,
        UpdateCycle::Irregular => return None,
    };
    Some(chrono::Duration::days(days))
}

/// A table later than its resource's update cycle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StaleTable {
    /// The resource.
    pub resource: ResourceId,
    /// Its name.
    pub name: String,
    /// The table.
    pub table: String,
    /// Its last commit, RFC 3339.
    pub last_update: String,
    /// The resource's update cycle (code).
    pub update_cycle: String,
}

/// Freshness (鲜活率) of the tables `principal` may discover.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Freshness {
    /// Tables with a regular update cycle.
    pub tables: usize,
    /// Of them, those updated within their cycle.
    pub fresh: usize,
    /// `fresh / tables` (1 when there are none).
    pub ratio: f64,
    /// The late ones, latest commit oldest first.
    pub stale: Vec<StaleTable>,
}

/// How many of the tables `principal` may discover were updated within their resource's
/// update cycle, as of `now`.
pub async fn freshness(
    core: &Core,
    principal: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Freshness> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut out = Freshness::default();
    for d in core.query().resources().await?.iter() {
        let r = &d.resource;
        let Some(allowed) = within_cycle(r.update_cycle) else {
            continue;
        };
        if !decisions.allows(&r.id, Action::Discover) {
            continue;
        }
        for t in &d.tables {
            out.tables += 1;
            let updated = chrono::DateTime::parse_from_rfc3339(&t.last_update)
                .map(|u| u.with_timezone(&chrono::Utc));
            match updated {
                Ok(u) if now - u <= allowed => out.fresh += 1,
                _ => out.stale.push(StaleTable {
                    resource: r.id.clone(),
                    name: r.name.clone(),
                    table: t.name.clone(),
                    last_update: t.last_update.clone(),
                    update_cycle: r.update_cycle.as_code().to_owned(),
                }),
            }
        }
    }
    out.stale.sort_by(|a, b| a.last_update.cmp(&b.last_update));
    out.ratio = if out.tables == 0 {
        1.0
    } else {
        out.fresh as f64 / out.tables as f64
    };
    Ok(out)
}

/// Which change-log entries to show: by actor and entity kind (each `None` for all).
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Who made the change.
    pub actor: Option<String>,
    /// The kind of entity changed (`resource`, `column`, `grant`, `responsibility`, …).
    pub kind: Option<String>,
}

/// Entries of the change log, newest first, `limit` of those `filter` keeps after skipping
/// `offset`, and whether more follow. Only those whose sessions may read the access audit
/// (`audit.queries`, the same decision) may read the change log; to anyone else it is missing.
pub async fn change_log(
    core: &Core,
    principal: &Principal,
    filter: &ChangeFilter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<zhongshu_catalog::ChangeEvent>, bool)> {
    let decisions = core.query().decisions(principal, None).await?;
    if !decisions.allows_audit_log(Action::Read) {
        return Err(zhongshu_catalog::CatalogError::not_found("page", "change log").into());
    }
    const CHUNK: i64 = 500;
    let keep = |e: &zhongshu_catalog::ChangeEvent| {
        filter.actor.as_deref().is_none_or(|a| e.actor == a)
            && filter.kind.as_deref().is_none_or(|k| e.entity_kind == k)
    };
    let (mut kept, mut skipped) = (Vec::new(), 0);
    let mut before = core.store().head_seq().await? + 1;
    while before > 1 && kept.len() <= limit {
        let from = (before - 1 - CHUNK).max(0);
        let mut chunk = core.store().changes_since(from, before - 1 - from).await?;
        chunk.reverse();
        for e in chunk.into_iter().filter(keep) {
            if skipped < offset {
                skipped += 1;
            } else if kept.len() <= limit {
                kept.push(e);
            }
        }
        before = from + 1;
    }
    let more = kept.len() > limit;
    kept.truncate(limit);
    Ok((kept, more))
}
