//! Data quality for zhongshu: rules declared per resource or per data element, evaluated as
//! SQL over the lake with the standard validators as functions; 一数一源 consistency checks
//! between replicas and their authoritative source; a metric history in the catalog; dimension
//! scores per resource and a ranking of departments.
#![deny(missing_docs)]

pub mod anomaly;
pub mod evaluate;
pub mod manage;
pub mod objection;
pub mod profile;
pub mod report;
pub mod row;
pub mod rule;
pub mod schedule;
pub mod score;
pub mod udf;
pub mod views;

pub use evaluate::{QualityError, check_consistency, evaluate_resource, rules_for};
pub use rule::{Check, Dimension, RuleSpec, Severity};
pub use score::{DepartmentScore, ResourceScore, rank, score_resource};

use zhongshu_catalog::{
    Actor, CatalogStore, QualityIncident, QualityResult, QualityRuleRecord, ResourceId,
};
use zhongshu_engine::Lake;

/// Validates rules against the catalog and stores them.
pub async fn add_rules(
    store: &dyn CatalogStore,
    actor: &Actor,
    rules: &[RuleSpec],
) -> Result<(), QualityError> {
    for rule in rules {
        rule.validate_shape().map_err(QualityError::Rule)?;
        if let Check::CodeList { list: Some(l), .. } = &rule.check
            && store.get_code_list(l).await?.is_none()
        {
            return Err(QualityError::Rule(format!(
                "rule {}: no code list {l} in the catalog; load it first (数据标准 → 代码表)",
                rule.id
            )));
        }
        let resource = match &rule.resource {
            Some(r) => {
                let detail = store
                    .get_resource(&ResourceId::new(r.clone()))
                    .await?
                    .ok_or_else(|| {
                        QualityError::Rule(format!("rule {}: no resource {r}", rule.id))
                    })?;
                if let Some(c) = &rule.column
                    && !detail.columns.iter().any(|col| &col.name == c)
                {
                    return Err(QualityError::Rule(format!(
                        "rule {}: resource {r} has no column `{c}`",
                        rule.id
                    )));
                }
                Some(detail.resource.id)
            }
            None => None,
        };
        let element = match &rule.element {
            Some(e) => Some(
                store
                    .get_element(e)
                    .await?
                    .ok_or_else(|| {
                        QualityError::Rule(format!("rule {}: no data element {e}", rule.id))
                    })?
                    .id,
            ),
            None => None,
        };
        let record = QualityRuleRecord {
            id: rule.id.clone(),
            resource,
            element,
            spec: serde_json::to_string(rule).map_err(|e| QualityError::Rule(e.to_string()))?,
            created_at: String::new(),
            updated_at: String::new(),
        };
        store.upsert_quality_rule(actor, &record).await?;
    }
    Ok(())
}

/// One evaluation: its number, the rule results and the incidents it raised.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// Evaluation number (0 when nothing was evaluated).
    pub evaluation: i64,
    /// Rule and consistency results.
    pub results: Vec<QualityResult>,
    /// Incidents opened because a metric left its trailing band.
    pub incidents: Vec<QualityIncident>,
    /// Resources that could not be evaluated, with why (when evaluating them all).
    pub errors: Vec<String>,
}

/// Evaluates every rule on `only` (or on every resource with a table) and the 一数一源
/// consistency of their replicas, measures row counts and null rates, records all of it as one
/// evaluation and opens incidents for metrics that jumped.
pub async fn check(
    store: &dyn CatalogStore,
    lake: &Lake,
    only: Option<&ResourceId>,
    trigger: &str,
) -> Result<Evaluation, QualityError> {
    let rules = manage::stored_rules(store).await?;
    let ids: Vec<ResourceId> = match only {
        Some(id) => vec![id.clone()],
        None => all_resources(store)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    };
    let elements = store.list_elements().await?;
    let at = chrono::Utc::now().to_rfc3339();
    let mut results = Vec::new();
    let mut metrics = Vec::new();
    let mut measured = Vec::new();
    let mut errors = Vec::new();
    for id in &ids {
        let Some(detail) = store.get_resource(id).await? else {
            return Err(QualityError::Rule(format!("no resource {id}")));
        };
        let started = std::time::Instant::now();
        let evaluated =
            match evaluate_resource(store, lake, &rules, &elements, &detail, trigger).await {
                Ok(r) => r,
                // One broken rule or table must not stop the evaluation of every other resource.
                Err(e) if only.is_none() => {
                    errors.push(format!("{id}: {e}"));
                    continue;
                }
                Err(e) => return Err(e),
            };
        results.extend(evaluated);
        let elapsed = started.elapsed();
        let m = anomaly::measure(lake, &detail, &at).await?;
        tracing::debug!(resource = %id, evaluated = ?elapsed, measured = ?(started.elapsed() - elapsed), "resource evaluated");
        if !m.is_empty() {
            measured.push(id.clone());
        }
        metrics.extend(m);
    }
    results.extend(check_consistency(store, lake, only, trigger).await?);
    if results.is_empty() && metrics.is_empty() {
        return Ok(Evaluation {
            evaluation: 0,
            results,
            incidents: Vec::new(),
            errors,
        });
    }
    let evaluation = store.record_quality_results(&results, &metrics).await?;
    for r in &mut results {
        r.evaluation = evaluation;
    }
    let open = store.list_incidents(None, true).await?;
    let mut incidents = Vec::new();
    for id in &measured {
        let history = store.quality_metrics(id).await?;
        incidents.extend(anomaly::detect(&history, &at).into_iter().filter(|new| {
            !open.iter().any(|o| {
                o.resource == new.resource && o.metric == new.metric && o.column == new.column
            })
        }));
    }
    let incidents = if incidents.is_empty() {
        incidents
    } else {
        store.open_incidents(&incidents).await?
    };
    Ok(Evaluation {
        evaluation,
        results,
        incidents,
        errors,
    })
}

/// Scores of every evaluated resource (or of `only`), from the latest results.
pub async fn resource_scores(
    store: &dyn CatalogStore,
    only: Option<&ResourceId>,
) -> Result<Vec<ResourceScore>, QualityError> {
    let latest = store.quality_results(only, true).await?;
    let mut ids: Vec<ResourceId> = latest.iter().map(|r| r.resource.clone()).collect();
    ids.sort();
    ids.dedup();
    Ok(ids
        .iter()
        .filter_map(|id| score_resource(id, &latest))
        .collect())
}

/// Departments ranked by the quality of the resources they provide, counting the resources of
/// `catalogue` (the query service's, with their tables) that `counted` admits and the open
/// objections on them: every resource for the host's operator, what a principal may assess or
/// discover for a door ([`views::ranking`]).
pub async fn department_ranking(
    store: &dyn CatalogStore,
    catalogue: &[zhongshu_catalog::ResourceDetail],
    counted: &(dyn Fn(&ResourceId) -> bool + Sync),
) -> Result<Vec<DepartmentScore>, QualityError> {
    let latest: Vec<QualityResult> = store
        .quality_results(None, true)
        .await?
        .into_iter()
        .filter(|r| counted(&r.resource))
        .collect();
    let orgs = store.list_orgs().await?;
    let names: std::collections::HashMap<&str, &str> = orgs
        .iter()
        .map(|o| (o.id.as_str(), o.name.as_str()))
        .collect();
    let mut resources = Vec::new();
    for d in catalogue {
        let r = &d.resource;
        if !counted(&r.id) {
            continue;
        }
        let name = names
            .get(r.provider.as_str())
            .map_or(r.provider.to_string(), |n| (*n).to_owned());
        resources.push((
            r.provider.to_string(),
            name,
            r.id.clone(),
            !d.tables.is_empty(),
        ));
    }
    let now = chrono::Utc::now();
    let mut open: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for o in store
        .list_objections(None, Some(zhongshu_catalog::ObjectionStatus::Open))
        .await?
        .into_iter()
        .filter(|o| counted(&o.filed.resource))
    {
        open.entry(o.owner.to_string())
            .or_default()
            .push(objection::age_days(&o, now));
    }
    Ok(rank(&resources, &latest, &open))
}

/// Every resource of the catalog, page by page.
async fn all_resources(
    store: &dyn CatalogStore,
) -> Result<Vec<zhongshu_catalog::Resource>, QualityError> {
    let mut out = Vec::new();
    let mut page = zhongshu_catalog::Page {
        offset: 0,
        limit: 500,
    };
    loop {
        let listed = store.list_resources(&Default::default(), page).await?;
        let n = listed.items.len();
        out.extend(listed.items);
        if n < page.limit as usize {
            return Ok(out);
        }
        page.offset += page.limit;
    }
}
