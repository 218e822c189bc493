//! What a principal sees of quality, for every door that shows it (the HTTP API, the console).
//!
//! Quality facts are facts about a resource, so they are shown on the resource's terms: a
//! principal sees the results, scores, incidents and report of a resource it may `discover`
//! and `report` on, and nothing of any other — not a count, not a score — so a resource it
//! may not discover leaves no trace. Failing examples are values of rows (masked by grade), so
//! they are kept only for a principal that may also `read` the resource. Objections in a
//! report are those it may `read_objection`. Profiles, made of the rows' values, need `read`
//! and `profile`, and are read through the principal's own governed session, so they describe
//! the rows and values it reads. The department ranking counts what the principal may
//! `assess` (government principals: every resource) or else discover and report on.

use crate::evaluate::QualityError;
use crate::objection::readable;
use crate::profile::Profile;
use crate::report::Report;
use crate::score::{DepartmentScore, ResourceScore, score_resource};
use zhongshu_catalog::{
    CatalogError, Principal, QualityIncident, QualityResult, ResourceDetail, ResourceId,
};
use zhongshu_engine::Core;
use zhongshu_policies::{Action, Decisions};

fn missing(id: &ResourceId) -> QualityError {
    QualityError::Catalog(CatalogError::NotFound {
        kind: "resource",
        id: id.to_string(),
    })
}

fn reportable(decisions: &Decisions, id: &ResourceId) -> bool {
    decisions.allows_all(id, &[Action::Discover, Action::Report])
}

/// `only` when the principal may report on it (missing otherwise).
fn checked<'a>(
    decisions: &Decisions,
    only: Option<&'a ResourceId>,
) -> Result<Option<&'a ResourceId>, QualityError> {
    match only {
        Some(id) if !reportable(decisions, id) => Err(missing(id)),
        other => Ok(other),
    }
}

/// Drops the failing examples of results on resources the principal may not read, and the
/// source's values in 一数一源 consistency examples unless it may also read the element's
/// source resource (a replica's reader is not the source's).
async fn without_unreadable_examples(
    core: &Core,
    decisions: &Decisions,
    results: &mut [QualityResult],
) -> Result<(), QualityError> {
    let mut sources: std::collections::HashMap<String, bool> = Default::default();
    for r in results {
        if !decisions.allows(&r.resource, Action::Read) {
            r.examples.clear();
            continue;
        }
        let Some(element) = r.rule.strip_prefix("consistency:") else {
            continue;
        };
        let readable = match sources.get(element) {
            Some(known) => *known,
            None => {
                let source = core.store().element_bindings(element).await?.source;
                let known = source.is_some_and(|s| decisions.allows(&s.resource, Action::Read));
                sources.insert(element.to_owned(), known);
                known
            }
        };
        if !readable {
            for example in &mut r.examples {
                if let Some(object) = example.as_object_mut() {
                    object.remove("source_value");
                }
            }
        }
    }
    Ok(())
}

/// The latest results of every rule (or the whole history) on the resources the principal
/// may report on, or on `only`.
pub async fn results(
    core: &Core,
    principal: &Principal,
    only: Option<&ResourceId>,
    latest_only: bool,
) -> Result<Vec<QualityResult>, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let only = checked(&decisions, only)?;
    let mut results: Vec<QualityResult> = core
        .store()
        .quality_results(only, latest_only)
        .await?
        .into_iter()
        .filter(|r| reportable(&decisions, &r.resource))
        .collect();
    without_unreadable_examples(core, &decisions, &mut results).await?;
    Ok(results)
}

/// Scores of the resources the principal may report on, or of `only`.
pub async fn scores(
    core: &Core,
    principal: &Principal,
    only: Option<&ResourceId>,
) -> Result<Vec<ResourceScore>, QualityError> {
    let latest = results(core, principal, only, true).await?;
    let mut ids: Vec<&ResourceId> = latest.iter().map(|r| &r.resource).collect();
    ids.sort();
    ids.dedup();
    Ok(ids
        .into_iter()
        .filter_map(|id| score_resource(id, &latest))
        .collect())
}

/// Incidents (open only, or all) on the resources the principal may report on, or on `only`.
pub async fn incidents(
    core: &Core,
    principal: &Principal,
    only: Option<&ResourceId>,
    open_only: bool,
) -> Result<Vec<QualityIncident>, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let only = checked(&decisions, only)?;
    Ok(core
        .store()
        .list_incidents(only, open_only)
        .await?
        .into_iter()
        .filter(|i| reportable(&decisions, &i.resource))
        .collect())
}

/// The quality report of `id` as the principal may see it.
pub async fn report(
    core: &Core,
    principal: &Principal,
    id: &ResourceId,
) -> Result<Report, QualityError> {
    let mut decisions = core.query().decisions(principal, None).await?;
    checked(&decisions, Some(id))?;
    let mut report = crate::report::gather(core.store().as_ref(), id).await?;
    without_unreadable_examples(core, &decisions, &mut report.results).await?;
    report.objections = readable(&mut decisions, std::mem::take(&mut report.objections))?;
    Ok(report)
}

/// Departments ranked (考核) over the resources the principal may `assess`, or else discover and
/// report on: the whole district for government principals by the base policies, what is
/// open for the public.
pub async fn ranking(
    core: &Core,
    principal: &Principal,
) -> Result<Vec<DepartmentScore>, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let counted =
        |id: &ResourceId| decisions.allows(id, Action::Assess) || reportable(&decisions, id);
    let catalogue = core.query().resources().await?;
    crate::department_ranking(core.store().as_ref(), &catalogue, &counted).await
}

/// The resource `id` if the principal may discover it (missing otherwise).
pub async fn discoverable(
    core: &Core,
    decisions: &Decisions,
    id: &ResourceId,
) -> Result<ResourceDetail, QualityError> {
    if !decisions.allows(id, Action::Discover) {
        return Err(missing(id));
    }
    core.query()
        .resources()
        .await?
        .iter()
        .find(|r| &r.resource.id == id)
        .cloned()
        .ok_or_else(|| missing(id))
}

/// The profile of `id`'s main table, for a principal that may discover and profile it.
pub async fn profile(
    core: &Core,
    principal: &Principal,
    id: &ResourceId,
) -> Result<Profile, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let detail = discoverable(core, &decisions, id).await?;
    if !decisions.allows_all(id, &[Action::Read, Action::Profile]) {
        return Err(QualityError::Refused(format!(
            "profiling {id} is for its department, administrators and CDOs"
        )));
    }
    let reader = crate::profile::ProfileReader::governed(core, principal, &detail).await?;
    crate::profile::profile(&reader, &detail).await
}

/// One point of a resource's score over time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScorePoint {
    /// The evaluation.
    pub evaluation: i64,
    /// When it ran, RFC 3339.
    pub evaluated_at: String,
    /// The resource's score from that evaluation's results.
    pub score: f64,
}

/// The score of `id` after each of its evaluations, oldest first, for a principal that may
/// report on it (missing otherwise).
pub async fn score_history(
    core: &Core,
    principal: &Principal,
    id: &ResourceId,
) -> Result<Vec<ScorePoint>, QualityError> {
    let all = results(core, principal, Some(id), false).await?;
    let mut by_evaluation: std::collections::BTreeMap<i64, Vec<QualityResult>> = Default::default();
    for r in all {
        by_evaluation.entry(r.evaluation).or_default().push(r);
    }
    Ok(by_evaluation
        .into_iter()
        .filter_map(|(evaluation, results)| {
            let at = results.first()?.evaluated_at.clone();
            score_resource(id, &results).map(|s| ScorePoint {
                evaluation,
                evaluated_at: at,
                score: s.score,
            })
        })
        .collect())
}

/// Resolves incident `id` as `principal`: the department that answers for the resource's
/// quality (`manage_rules` on it), the CDO or an administrator. An incident on a resource the
/// principal may not report on looks missing.
pub async fn resolve_incident(
    core: &Core,
    principal: &Principal,
    id: i64,
) -> Result<QualityIncident, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let gone = || {
        QualityError::Catalog(CatalogError::NotFound {
            kind: "incident",
            id: id.to_string(),
        })
    };
    let incident = core
        .store()
        .list_incidents(None, false)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(gone)?;
    if !reportable(&decisions, &incident.resource) {
        return Err(gone());
    }
    if !decisions.allows(&incident.resource, Action::ManageRules) {
        return Err(QualityError::Refused(format!(
            "{} may not resolve incidents on {}; its department's data officer does",
            principal.id, incident.resource
        )));
    }
    Ok(core
        .store()
        .resolve_incident(&zhongshu_catalog::Actor::principal(&principal.id), id)
        .await?)
}

/// A department's data score (the mean of its resources' scores, before the objection
/// penalty) after each evaluation that touched it, oldest first, over the resources the
/// principal may count ([`ranking`]'s).
pub async fn department_trends(
    core: &Core,
    principal: &Principal,
) -> Result<std::collections::BTreeMap<String, Vec<ScorePoint>>, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let counted =
        |id: &ResourceId| decisions.allows(id, Action::Assess) || reportable(&decisions, id);
    let catalogue = core.query().resources().await?;
    let department: std::collections::HashMap<&ResourceId, &str> = catalogue
        .iter()
        .map(|d| (&d.resource.id, d.resource.provider.as_str()))
        .collect();
    let mut by_evaluation: std::collections::BTreeMap<i64, Vec<QualityResult>> = Default::default();
    for r in core.store().quality_results(None, false).await? {
        if counted(&r.resource) && department.contains_key(&r.resource) {
            by_evaluation.entry(r.evaluation).or_default().push(r);
        }
    }
    // The latest result of each rule on each resource as of the evaluation being replayed.
    let mut latest: std::collections::HashMap<(ResourceId, String), QualityResult> =
        Default::default();
    let mut out: std::collections::BTreeMap<String, Vec<ScorePoint>> = Default::default();
    for (evaluation, results) in by_evaluation {
        let at = results
            .first()
            .map(|r| r.evaluated_at.clone())
            .unwrap_or_default();
        let touched: std::collections::BTreeSet<&str> =
            results.iter().map(|r| department[&r.resource]).collect();
        for r in &results {
            latest.insert((r.resource.clone(), r.rule.clone()), r.clone());
        }
        let mut per_resource: std::collections::HashMap<&ResourceId, Vec<QualityResult>> =
            Default::default();
        for ((resource, _), r) in &latest {
            per_resource.entry(resource).or_default().push(r.clone());
        }
        for d in touched {
            let scores: Vec<f64> = per_resource
                .iter()
                .filter(|(id, _)| department[*id] == d)
                .filter_map(|(id, rs)| score_resource(id, rs).map(|s| s.score))
                .collect();
            if scores.is_empty() {
                continue;
            }
            out.entry(d.to_owned()).or_default().push(ScorePoint {
                evaluation,
                evaluated_at: at.clone(),
                score: scores.iter().sum::<f64>() / scores.len() as f64,
            });
        }
    }
    Ok(out)
}
