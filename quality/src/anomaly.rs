//! Metrics measured at every evaluation, and the incidents raised when one jumps.
//!
//! Each evaluation measures, per resource, the table's row count and each column's null rate
//! (one scan). A new value is compared with the trailing window of the series (the previous
//! [`WINDOW`] evaluations, at least [`MIN_HISTORY`]):
//!
//! - **row count** is judged by its change since the previous evaluation, because tables that
//!   receive appends grow: the band is the trailing mean change ± max(3σ, 5 % of the previous
//!   count). A delivery three times the usual size, or a table that suddenly shrinks, leaves it.
//! - **null rate** is judged by its level: trailing mean ± max(3σ, 0.05).
//!
//! Only evaluations that saw a new table version count: a nightly evaluation of an unchanged
//! table adds no change to the series, and nothing is judged until the data changes again.
//! Only series measured by the newest evaluation are judged (a dropped column is not). A value
//! outside its band opens a quality incident (unless one is already open for the same
//! series); a data officer resolves it once explained.

use crate::evaluate::QualityError;
use std::collections::BTreeMap;
use zhongshu_catalog::{QualityIncident, QualityMetric, ResourceDetail};
use zhongshu_engine::Lake;

/// Trailing evaluations a new value is compared with.
pub const WINDOW: usize = 10;
/// Evaluations needed before a series is judged.
pub const MIN_HISTORY: usize = 4;

/// Measures row count and per-column null rates of a resource's main table.
pub async fn measure(
    lake: &Lake,
    resource: &ResourceDetail,
    at: &str,
) -> Result<Vec<QualityMetric>, QualityError> {
    let Some(table) = crate::evaluate::main_table(resource) else {
        return Ok(Vec::new());
    };
    let ctx = lake
        .system_session("quality", &[("t", table.path.as_str())])
        .await?;
    let present: Vec<String> = ctx.columns("t").await?;
    let columns: Vec<&str> = resource
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| present.iter().any(|p| p == c))
        .collect();
    let mut select = vec!["COUNT(*)".to_owned()];
    select.extend(
        columns
            .iter()
            .map(|c| format!("COUNT({})", crate::evaluate::quote(c))),
    );
    let batches = ctx
        .sql(&format!("SELECT {} FROM t", select.join(", ")))
        .await?;
    let value = |i: usize| crate::evaluate::first_i64(&batches, i) as f64;
    let rows = value(0);
    let metric = |metric: &str, column: &str, value: f64| QualityMetric {
        evaluation: 0,
        resource: resource.resource.id.clone(),
        metric: metric.into(),
        column: column.into(),
        value,
        measured_at: at.into(),
    };
    let mut out = vec![
        metric("table_version", "", table.version as f64),
        metric("row_count", "", rows),
    ];
    for (i, c) in columns.iter().enumerate() {
        let nulls = if rows > 0.0 {
            (rows - value(i + 1)) / rows
        } else {
            0.0
        };
        out.push(metric("null_rate", c, nulls));
    }
    Ok(out)
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Judges the newest evaluation of each series in `history` (one resource's metrics, oldest
/// first) against its trailing window; returns the incidents to open.
pub fn detect(history: &[QualityMetric], at: &str) -> Vec<QualityIncident> {
    let Some(newest) = history.iter().map(|m| m.evaluation).max() else {
        return Vec::new();
    };
    // The evaluations that saw a new table version (all of them when versions were not kept).
    let versions: BTreeMap<i64, f64> = history
        .iter()
        .filter(|m| m.metric == "table_version")
        .map(|m| (m.evaluation, m.value))
        .collect();
    let mut fresh = std::collections::BTreeSet::new();
    let mut previous = None;
    for (evaluation, version) in &versions {
        if previous != Some(*version) {
            fresh.insert(*evaluation);
        }
        previous = Some(*version);
    }
    let counts = |e: i64| versions.is_empty() || fresh.contains(&e);
    if !counts(newest) {
        return Vec::new();
    }
    let mut series: BTreeMap<(&str, &str), Vec<&QualityMetric>> = BTreeMap::new();
    for m in history
        .iter()
        .filter(|m| m.metric != "table_version" && counts(m.evaluation))
    {
        series
            .entry((m.metric.as_str(), m.column.as_str()))
            .or_default()
            .push(m);
    }
    series.retain(|_, points| points.last().is_some_and(|m| m.evaluation == newest));
    let mut out = Vec::new();
    for ((metric, column), points) in series {
        let Some((latest, before)) = points.split_last() else {
            continue;
        };
        if before.len() < MIN_HISTORY {
            continue;
        }
        let trailing = &before[before.len().saturating_sub(WINDOW)..];
        let previous = trailing[trailing.len() - 1].value;
        let (observed, expected, low, high) = if metric == "row_count" {
            let changes: Vec<f64> = trailing
                .windows(2)
                .map(|w| w[1].value - w[0].value)
                .collect();
            let (mean, sd) = mean_sd(&changes);
            let half = (3.0 * sd).max(0.05 * previous);
            (
                latest.value,
                previous + mean,
                previous + mean - half,
                previous + mean + half,
            )
        } else {
            let levels: Vec<f64> = trailing.iter().map(|m| m.value).collect();
            let (mean, sd) = mean_sd(&levels);
            let half = (3.0 * sd).max(0.05);
            (latest.value, mean, mean - half, mean + half)
        };
        if observed < low || observed > high {
            out.push(QualityIncident {
                id: 0,
                resource: latest.resource.clone(),
                metric: metric.into(),
                column: column.into(),
                observed,
                expected,
                low,
                high,
                evaluation: latest.evaluation,
                detected_at: at.into(),
                status: "open".into(),
                resolved_by: None,
                resolved_at: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhongshu_catalog::ResourceId;

    fn series(metric: &str, values: &[f64]) -> Vec<QualityMetric> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| QualityMetric {
                evaluation: i as i64 + 1,
                resource: ResourceId::new("R"),
                metric: metric.into(),
                column: if metric == "row_count" { "" } else { "c" }.into(),
                value: *v,
                measured_at: String::new(),
            })
            .collect()
    }

    #[test]
    fn steady_growth_is_normal_and_a_jump_is_not() {
        let growing = [1000.0, 2000.0, 3010.0, 3990.0, 5000.0];
        assert!(detect(&series("row_count", &growing), "").is_empty());
        let mut jump = growing.to_vec();
        jump.push(15_000.0);
        let found = detect(&series("row_count", &jump), "");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].evaluation, 6);
        let mut shrink = growing.to_vec();
        shrink.push(2500.0);
        assert_eq!(detect(&series("row_count", &shrink), "").len(), 1);
        assert!(
            detect(&series("row_count", &growing[..4]), "").is_empty(),
            "too little history"
        );
    }

    #[test]
    fn only_new_versions_count() {
        // Appends of 1,000 rows, each evaluated twice (after the run and on the nightly
        // schedule): the repeats are not changes of zero.
        let mut history = Vec::new();
        let mut evaluation = 0;
        for (version, rows) in [
            (1.0, 1000.0),
            (2.0, 2000.0),
            (3.0, 3000.0),
            (4.0, 4000.0),
            (5.0, 5000.0),
        ] {
            for _ in 0..2 {
                evaluation += 1;
                for (metric, value) in [("table_version", version), ("row_count", rows)] {
                    history.push(QualityMetric {
                        evaluation,
                        resource: ResourceId::new("R"),
                        metric: metric.into(),
                        column: String::new(),
                        value,
                        measured_at: String::new(),
                    });
                }
            }
        }
        assert!(detect(&history, "").is_empty());
        // With every repeat counted as a change of zero, the band would have been about
        // ±3σ around +500 and each nightly repeat a false alarm; a real jump still is one.
        let push = |history: &mut Vec<QualityMetric>, evaluation, version, rows| {
            for (metric, value) in [("table_version", version), ("row_count", rows)] {
                history.push(QualityMetric {
                    evaluation,
                    resource: ResourceId::new("R"),
                    metric: metric.into(),
                    column: String::new(),
                    value,
                    measured_at: String::new(),
                });
            }
        };
        let mut jump = history.clone();
        push(&mut jump, evaluation + 1, 6.0, 6000.0);
        assert!(detect(&jump, "").is_empty());
        push(&mut jump, evaluation + 2, 7.0, 20_000.0);
        assert_eq!(detect(&jump, "").len(), 1);
        // An evaluation of an unchanged table judges nothing.
        push(&mut jump, evaluation + 3, 7.0, 20_000.0);
        assert!(detect(&jump, "").is_empty());
    }

    #[test]
    fn null_rate_jumps_raise_incidents() {
        let steady = [0.01, 0.012, 0.011, 0.01, 0.013];
        assert!(detect(&series("null_rate", &steady), "").is_empty());
        let mut jump = steady.to_vec();
        jump.push(0.4);
        let found = detect(&series("null_rate", &jump), "");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].column, "c");
    }
}
