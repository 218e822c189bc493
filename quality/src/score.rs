//! Scores: per resource and dimension from the latest results, and a department ranking.
//!
//! The formula (also in the README):
//! - a dimension's score is `100 × (1 − failed / checked)`, summed over the latest result of
//!   every rule of that dimension on the resource (a rule checking more rows weighs more);
//! - a resource's score is the weighted mean of the dimensions it has results for, with
//!   weights completeness 0.25, validity 0.25, consistency 0.20, uniqueness 0.15,
//!   timeliness 0.15 (re-normalised over the dimensions present);
//! - a department's score is the mean of its evaluated resources' scores, less a penalty for
//!   the objections (数据纠错) waiting in its inbox: each open objection costs 1 point plus 1
//!   per full week it has been open, at most 20 points in all; its coverage is the share of its
//!   resources with a table that have been evaluated.

use crate::rule::Dimension;
use serde::Serialize;
use std::collections::BTreeMap;
use zhongshu_catalog::{QualityResult, ResourceId};

/// A resource's scores.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceScore {
    /// The resource.
    pub resource: ResourceId,
    /// Overall score, 0–100.
    pub score: f64,
    /// Score per dimension evaluated.
    pub dimensions: BTreeMap<String, f64>,
    /// Rows checked and failed over all rules.
    pub rows_checked: i64,
    /// Failed rows over all rules.
    pub rows_failed: i64,
}

/// Scores a resource from its latest results; `None` when it has none.
pub fn score_resource(resource: &ResourceId, latest: &[QualityResult]) -> Option<ResourceScore> {
    let mut sums: BTreeMap<Dimension, (i64, i64)> = BTreeMap::new();
    for r in latest.iter().filter(|r| &r.resource == resource) {
        if let Some(d) = Dimension::from_code(&r.dimension) {
            let e = sums.entry(d).or_default();
            e.0 += r.rows_checked;
            e.1 += r.rows_failed;
        }
    }
    let scored: Vec<(Dimension, f64)> = sums
        .iter()
        .filter(|(_, (checked, _))| *checked > 0)
        .map(|(d, (checked, failed))| (*d, 100.0 * (1.0 - *failed as f64 / *checked as f64)))
        .collect();
    if scored.is_empty() {
        return None;
    }
    let weight: f64 = scored.iter().map(|(d, _)| d.weight()).sum();
    let score = scored.iter().map(|(d, s)| d.weight() * s).sum::<f64>() / weight;
    Some(ResourceScore {
        resource: resource.clone(),
        score,
        dimensions: scored
            .iter()
            .map(|(d, s)| (d.as_code().to_owned(), *s))
            .collect(),
        rows_checked: sums.values().map(|(c, _)| c).sum(),
        rows_failed: sums.values().map(|(_, f)| f).sum(),
    })
}

/// A department in the ranking.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentScore {
    /// Rank, from 1.
    pub rank: usize,
    /// Organisation unit id.
    pub department: String,
    /// Its name.
    pub name: String,
    /// Mean resource score less the objection penalty.
    pub score: f64,
    /// Mean resource score.
    pub data_score: f64,
    /// Points deducted for open objections.
    pub objection_penalty: f64,
    /// Objections waiting in its inbox.
    pub open_objections: usize,
    /// Days the oldest of them has waited.
    pub oldest_open_days: f64,
    /// Resources evaluated.
    pub evaluated: usize,
    /// Resources with a table.
    pub resources: usize,
}

/// Most points open objections can cost a department.
pub const MAX_OBJECTION_PENALTY: f64 = 20.0;

/// The penalty for open objections that have waited `ages` days each.
pub fn objection_penalty(ages: &[f64]) -> f64 {
    ages.iter()
        .map(|age| 1.0 + (age / 7.0).floor())
        .fold(0.0, |total, points| total + points) // an empty sum is 0, not Rust's -0.0
        .min(MAX_OBJECTION_PENALTY)
}

/// Ranks departments: `resources` lists (department, name, resource, has a table);
/// `open_objections` maps a department to the ages in days of its open objections.
pub fn rank(
    resources: &[(String, String, ResourceId, bool)],
    latest: &[QualityResult],
    open_objections: &BTreeMap<String, Vec<f64>>,
) -> Vec<DepartmentScore> {
    let mut by_department: BTreeMap<(String, String), (Vec<f64>, usize)> = BTreeMap::new();
    for (department, name, resource, has_table) in resources {
        let entry = by_department
            .entry((department.clone(), name.clone()))
            .or_default();
        if *has_table {
            entry.1 += 1;
        }
        if let Some(s) = score_resource(resource, latest) {
            entry.0.push(s.score);
        }
    }
    let mut out: Vec<DepartmentScore> = by_department
        .into_iter()
        .filter(|(_, (scores, _))| !scores.is_empty())
        .map(|((department, name), (scores, resources))| {
            let ages = open_objections
                .get(&department)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let data_score = scores.iter().sum::<f64>() / scores.len() as f64;
            let penalty = objection_penalty(ages);
            DepartmentScore {
                rank: 0,
                department,
                name,
                score: (data_score - penalty).max(0.0),
                data_score,
                objection_penalty: penalty,
                open_objections: ages.len(),
                oldest_open_days: ages.iter().copied().fold(0.0, f64::max),
                evaluated: scores.len(),
                resources,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.department.cmp(&b.department))
    });
    for (i, d) in out.iter_mut().enumerate() {
        d.rank = i + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(resource: &str, dimension: &str, checked: i64, failed: i64) -> QualityResult {
        QualityResult {
            evaluation: 1,
            rule: format!("{dimension}-{checked}"),
            resource: ResourceId::new(resource),
            column: None,
            kind: "x".into(),
            dimension: dimension.into(),
            severity: "error".into(),
            trigger: "manual".into(),
            evaluated_at: String::new(),
            table_version: None,
            rows_checked: checked,
            rows_failed: failed,
            examples: Vec::new(),
        }
    }

    #[test]
    fn no_open_objection_costs_nothing() {
        let none = objection_penalty(&[]);
        assert!(none == 0.0 && none.is_sign_positive(), "{none:?}");
        assert_eq!(objection_penalty(&[0.5, 8.0]), 3.0);
    }

    #[test]
    fn weights_dimensions_and_ranks_departments() {
        let latest = vec![
            result("A", "completeness", 100, 10),
            result("A", "validity", 100, 0),
            result("B", "validity", 50, 0),
        ];
        let a = score_resource(&ResourceId::new("A"), &latest).unwrap();
        // (0.25 × 90 + 0.25 × 100) / 0.5
        assert!((a.score - 95.0).abs() < 1e-9, "{}", a.score);
        assert!(score_resource(&ResourceId::new("C"), &latest).is_none());
        let ranking = rank(
            &[
                ("d1".into(), "一局".into(), ResourceId::new("A"), true),
                ("d2".into(), "二局".into(), ResourceId::new("B"), true),
                ("d2".into(), "二局".into(), ResourceId::new("C"), true),
            ],
            &latest,
            &BTreeMap::new(),
        );
        assert_eq!(ranking[0].department, "d2");
        assert_eq!((ranking[0].evaluated, ranking[0].resources), (1, 2));
        assert_eq!(ranking[1].rank, 2);
        // d2 has four open objections, one of them 15 days old: 1 + 1 + 1 + (1 + 2) = 6
        // points, which drops it below d1 (100 − 6 < 95).
        let objections = BTreeMap::from([("d2".to_owned(), vec![0.5, 3.0, 1.0, 15.0])]);
        let ranking = rank(
            &[
                ("d1".into(), "一局".into(), ResourceId::new("A"), true),
                ("d2".into(), "二局".into(), ResourceId::new("B"), true),
            ],
            &latest,
            &objections,
        );
        assert_eq!(ranking[0].department, "d1");
        let d2 = &ranking[1];
        assert_eq!((d2.open_objections, d2.objection_penalty), (4, 6.0));
        assert!((d2.score - 94.0).abs() < 1e-9 && (d2.oldest_open_days - 15.0).abs() < 1e-9);
        assert_eq!(objection_penalty(&[70.0; 5]), MAX_OBJECTION_PENALTY);
    }
}
