//! 分类分级 and 一数一源 as a principal does them: discovery scans and the review of their
//! suggestions, grading a column, binding a column to its data element, and the privacy
//! officer's view of the sensitive columns.
//!
//! Every change is decided with Cedar (`classify` on the resource) exactly as
//! [`crate::catalogue::require`] decides it for every door, so the console, the HTTP API and the
//! CLI refuse the same things; a suggestion on a resource the principal may not discover looks
//! missing. The scan samples the table through the audited system session, whose reason names
//! the resource and the principal who asked.

use crate::catalogue::require;
use crate::core::Core;
use crate::error::{EngineError, Result};
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use zhongshu_catalog::discovery::classify_sample;
use zhongshu_catalog::{
    Actor, BindingRole, CatalogError, Category, ElementId, Grade, NewSuggestion, OrgId, Principal,
    ResourceId, Suggestion, SuggestionStatus,
};
use zhongshu_policies::Action;

/// Samples up to `sample` rows of each table of `resource` and stores one suggestion per
/// recognised column, as `actor`, without asking Cedar: the caller has decided (the host's
/// operator, or [`scan`]).
pub async fn scan_resource(
    core: &Core,
    actor: &Actor,
    resource: &ResourceId,
    sample: usize,
) -> Result<Vec<Suggestion>> {
    let detail = core
        .store()
        .get_resource(resource)
        .await?
        .ok_or_else(|| CatalogError::not_found("resource", resource))?;
    if detail.tables.is_empty() {
        return Err(EngineError::Refused(format!(
            "resource {resource} has no table yet; land data first, then scan it"
        )));
    }
    let reason = format!("discovery:{resource} for {}", actor.0);
    let mut found = Vec::new();
    for table in &detail.tables {
        let batches = core.lake().sample(&reason, &table.path, sample).await?;
        for column in &detail.columns {
            let mut values: Vec<Option<String>> = Vec::new();
            for batch in &batches {
                let Some(array) = batch.column_by_name(&column.name) else {
                    continue;
                };
                let strings = cast(array, &DataType::Utf8)?;
                let strings = strings.as_string::<i32>();
                values.extend(
                    (0..strings.len())
                        .map(|i| strings.is_valid(i).then(|| strings.value(i).to_owned())),
                );
            }
            if let Some(f) = classify_sample(values.iter().map(|v| v.as_deref())) {
                found.push(NewSuggestion {
                    resource: resource.clone(),
                    column: column.name.clone(),
                    element: Some(ElementId::new(f.detector.element)),
                    category: f.detector.category,
                    grade: f.detector.grade,
                    confidence: f.confidence,
                    evidence: f.evidence,
                });
            }
        }
    }
    Ok(core.store().add_suggestions(actor, &found).await?)
}

/// A discovery scan of `resource` asked by `principal`, who must be allowed to classify it.
pub async fn scan(
    core: &Core,
    principal: &Principal,
    resource: &ResourceId,
    sample: usize,
) -> Result<Vec<Suggestion>> {
    require(core, principal, resource, Action::Classify).await?;
    scan_resource(core, &actor(principal), resource, sample).await
}

/// The suggestions `principal` may review (on resources it may classify), newest first,
/// optionally of one status.
pub async fn suggestions(
    core: &Core,
    principal: &Principal,
    status: Option<SuggestionStatus>,
) -> Result<Vec<Suggestion>> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut list: Vec<Suggestion> = core
        .store()
        .list_suggestions(None, status)
        .await?
        .into_iter()
        .filter(|s| {
            decisions.allows(&s.resource, Action::Discover)
                && decisions.allows(&s.resource, Action::Classify)
        })
        .collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.id));
    Ok(list)
}

/// Accepts (the column takes the suggested category, grade and data element) or rejects
/// suggestion `id`. A suggestion on a resource `principal` may not discover is missing.
pub async fn decide(
    core: &Core,
    principal: &Principal,
    id: i64,
    accept: bool,
) -> Result<Suggestion> {
    require_suggestion(core, principal, id).await?;
    Ok(core
        .store()
        .decide_suggestion(&actor(principal), id, accept)
        .await?)
}

/// Accepts suggestion `id` with another category and grade than it suggested (its data
/// element is bound as suggested).
pub async fn accept_changed(
    core: &Core,
    principal: &Principal,
    id: i64,
    category: Category,
    grade: Grade,
) -> Result<Suggestion> {
    let s = decide(core, principal, id, true).await?;
    let reason = format!("suggestion {id} accepted with a change");
    core.store()
        .classify_column(
            &actor(principal),
            &s.resource,
            &s.column,
            category,
            grade,
            Some(&reason),
        )
        .await?;
    Ok(Suggestion {
        category,
        grade,
        ..s
    })
}

/// Gives `resource`.`column` a category and grade, with the reason kept in the change log. A
/// change of grade needs a reason (who lowers or raises a grade answers for it).
pub async fn classify(
    core: &Core,
    principal: &Principal,
    resource: &ResourceId,
    column: &str,
    (category, grade): (Category, Grade),
    reason: &str,
) -> Result<()> {
    require(core, principal, resource, Action::Classify).await?;
    let detail = core
        .store()
        .get_resource(resource)
        .await?
        .ok_or_else(|| CatalogError::not_found("resource", resource))?;
    let current = detail
        .columns
        .iter()
        .find(|c| c.name == column)
        .ok_or_else(|| CatalogError::not_found("column", format!("{resource}.{column}")))?;
    if current.grade != grade && reason.trim().is_empty() {
        return Err(CatalogError::Invalid {
            what: format!("grade of {resource}.{column}"),
            reason: format!(
                "say why the grade changes from {} to {} (the reason is kept in the change log)",
                current.grade.label(),
                grade.label()
            ),
        }
        .into());
    }
    Ok(core
        .store()
        .classify_column(
            &actor(principal),
            resource,
            column,
            category,
            grade,
            Some(reason),
        )
        .await?)
}

/// Binds `resource`.`column` to data element `element` (an id or name) as its source or a
/// replica. A second source is refused (一数一源); when `principal` may not discover the
/// existing source, the refusal does not name it.
pub async fn bind(
    core: &Core,
    principal: &Principal,
    resource: &ResourceId,
    column: &str,
    element: &str,
    role: BindingRole,
) -> Result<ElementId> {
    require(core, principal, resource, Action::Classify).await?;
    let e = core
        .store()
        .get_element(element)
        .await?
        .ok_or_else(|| CatalogError::not_found("data element", element))?;
    match core
        .store()
        .bind_column(&actor(principal), resource, column, &e.id, role)
        .await
    {
        Ok(()) => Ok(e.id),
        Err(CatalogError::SecondSource(conflict)) => {
            let decisions = core.query().decisions(principal, None).await?;
            if decisions.allows(&conflict.source_resource, Action::Discover) {
                Err(CatalogError::SecondSource(conflict).into())
            } else {
                Err(EngineError::Refused(format!(
                    "{} ({}) already has its authoritative source in {} (一数一源); bind this \
                     column as a replica, or ask the chief data officer to move the source",
                    conflict.element_name, conflict.element, conflict.owner_name
                )))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes the binding of `resource`.`column` (releasing a source).
pub async fn unbind(
    core: &Core,
    principal: &Principal,
    resource: &ResourceId,
    column: &str,
) -> Result<()> {
    require(core, principal, resource, Action::Classify).await?;
    Ok(core
        .store()
        .unbind_column(&actor(principal), resource, column)
        .await?)
}

/// A column graded at or above the floor of [`sensitive_columns`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct SensitiveColumn {
    /// The resource.
    pub resource: ResourceId,
    /// Its name.
    pub resource_name: String,
    /// The providing department.
    pub provider: OrgId,
    /// The column.
    pub column: String,
    /// Its item name.
    pub title: String,
    /// Its category.
    pub category: Category,
    /// Its grade.
    pub grade: Grade,
    /// The data element it carries, if bound.
    pub element: Option<ElementId>,
}

/// One page of [`sensitive_columns`], with the counts by department.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SensitivePage {
    /// Every department with sensitive columns, by id, with how many.
    pub by_department: Vec<(OrgId, usize)>,
    /// How many columns match (in the chosen department, if one is).
    pub total: usize,
    /// The columns of the page, by department, resource and column.
    pub items: Vec<SensitiveColumn>,
}

/// The columns graded `floor` or above on the resources `principal` may discover, by
/// department, resource and column — the privacy officer's view of where sensitive data is:
/// the counts by department, and `limit` columns from `offset` of those in `provider` (or of
/// all). Only the page's columns are copied, so the view stays fast over a large catalogue.
pub async fn sensitive_columns(
    core: &Core,
    principal: &Principal,
    floor: Grade,
    provider: Option<&OrgId>,
    (offset, limit): (usize, usize),
) -> Result<SensitivePage> {
    let decisions = core.query().decisions(principal, None).await?;
    let catalogue = core.query().resources().await?;
    let mut seen: Vec<&zhongshu_catalog::ResourceDetail> = catalogue
        .iter()
        .filter(|d| decisions.allows(&d.resource.id, Action::Discover))
        .collect();
    seen.sort_by(|a, b| {
        (&a.resource.provider, &a.resource.id).cmp(&(&b.resource.provider, &b.resource.id))
    });
    let mut page = SensitivePage {
        by_department: Vec::new(),
        total: 0,
        items: Vec::new(),
    };
    for d in seen {
        let mut columns: Vec<&zhongshu_catalog::Column> =
            d.columns.iter().filter(|c| c.grade >= floor).collect();
        if columns.is_empty() {
            continue;
        }
        match page.by_department.last_mut() {
            Some((org, n)) if *org == d.resource.provider => *n += columns.len(),
            _ => page
                .by_department
                .push((d.resource.provider.clone(), columns.len())),
        }
        if provider.is_some_and(|p| *p != d.resource.provider) {
            continue;
        }
        let first = page.total;
        page.total += columns.len();
        if page.total <= offset || page.items.len() >= limit {
            continue;
        }
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        for (i, c) in columns.into_iter().enumerate() {
            if first + i >= offset && page.items.len() < limit {
                page.items.push(SensitiveColumn {
                    resource: d.resource.id.clone(),
                    resource_name: d.resource.name.clone(),
                    provider: d.resource.provider.clone(),
                    column: c.name.clone(),
                    title: c.title.clone(),
                    category: c.category,
                    grade: c.grade,
                    element: c.element.clone(),
                });
            }
        }
    }
    Ok(page)
}

/// Succeeds when `principal` may review suggestion `id`; a suggestion on a resource it may not
/// discover is missing, like the resource.
async fn require_suggestion(core: &Core, principal: &Principal, id: i64) -> Result<()> {
    let missing = || CatalogError::not_found("suggestion", id);
    let resource = core
        .store()
        .list_suggestions(None, None)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.resource)
        .ok_or_else(missing)?;
    match require(core, principal, &resource, Action::Classify).await {
        Err(EngineError::Catalog(CatalogError::NotFound {
            kind: "resource", ..
        })) => Err(missing().into()),
        other => other,
    }
}

/// The change-log actor of `principal`.
fn actor(principal: &Principal) -> Actor {
    Actor::principal(&principal.id)
}
