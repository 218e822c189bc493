//! Data quality for zhongshu: rules declared per resource or per data element, evaluated as
//! SQL over the lake with the standard validators as functions; 一数一源 consistency checks
//! between replicas and their authoritative source; a metric history in the catalog; dimension
//! scores per resource and a ranking of departments.
#![deny(missing_docs)]

pub mod evaluate;
pub mod mask;
pub mod rule;
pub mod score;
pub mod udf;

pub use evaluate::{QualityError, check_consistency, evaluate_resource, rules_for};
pub use rule::{Check, Dimension, RuleSpec, Severity};
pub use score::{DepartmentScore, ResourceScore, rank, score_resource};

use zhongshu_catalog::{Actor, CatalogStore, QualityResult, QualityRuleRecord, ResourceId};
use zhongshu_engine::Lake;

/// Validates rules against the catalog and stores them.
pub async fn add_rules(
    store: &dyn CatalogStore,
    actor: &Actor,
    rules: &[RuleSpec],
) -> Result<(), QualityError> {
    for rule in rules {
        rule.validate_shape().map_err(QualityError::Rule)?;
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

/// Evaluates every rule on `only` (or on every resource with a table) and the 一数一源
/// consistency of their replicas, and records the results as one evaluation. Returns them.
pub async fn check(
    store: &dyn CatalogStore,
    lake: &Lake,
    only: Option<&ResourceId>,
    trigger: &str,
) -> Result<Vec<QualityResult>, QualityError> {
    let rules: Vec<RuleSpec> = store
        .list_quality_rules()
        .await?
        .iter()
        .map(RuleSpec::from_record)
        .collect::<Result<_, _>>()
        .map_err(QualityError::Rule)?;
    let ids: Vec<ResourceId> = match only {
        Some(id) => vec![id.clone()],
        None => all_resources(store)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    };
    let elements = store.list_elements().await?;
    let mut results = Vec::new();
    for id in &ids {
        let Some(detail) = store.get_resource(id).await? else {
            return Err(QualityError::Rule(format!("no resource {id}")));
        };
        results.extend(evaluate_resource(store, lake, &rules, &elements, &detail, trigger).await?);
    }
    results.extend(check_consistency(store, lake, only, trigger).await?);
    if !results.is_empty() {
        let evaluation = store.record_quality_results(&results).await?;
        for r in &mut results {
            r.evaluation = evaluation;
        }
    }
    Ok(results)
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

/// Departments ranked by the quality of the resources they provide.
pub async fn department_ranking(
    store: &dyn CatalogStore,
) -> Result<Vec<DepartmentScore>, QualityError> {
    let latest = store.quality_results(None, true).await?;
    let orgs = store.list_orgs().await?;
    let mut resources = Vec::new();
    for r in all_resources(store).await? {
        let name = orgs
            .iter()
            .find(|o| o.id == r.provider)
            .map_or(r.provider.to_string(), |o| o.name.clone());
        let has_table = store
            .get_resource(&r.id)
            .await?
            .is_some_and(|d| !d.tables.is_empty());
        resources.push((r.provider.to_string(), name, r.id, has_table));
    }
    Ok(rank(&resources, &latest))
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
