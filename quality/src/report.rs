//! A resource's quality report (数据质量报告), in Markdown and as a standalone HTML page, for a
//! data officer to send to the providing department: the score and its dimensions, every
//! rule's latest result with masked examples, the score's trend over evaluations, open
//! incidents and the objections filed against the resource.

use crate::evaluate::QualityError;
use crate::rule::Dimension;
use crate::score::{ResourceScore, score_resource};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use zhongshu_catalog::{
    CatalogStore, Objection, QualityIncident, QualityResult, ResourceDetail, ResourceId,
};

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The resource.
    pub resource: ResourceDetail,
    /// The providing department's name.
    pub provider: String,
    /// Score from the latest results.
    pub score: Option<ResourceScore>,
    /// Latest result of each rule.
    pub results: Vec<QualityResult>,
    /// Score per evaluation, oldest first: (evaluation, time, trigger, score).
    pub trend: Vec<(i64, String, String, f64)>,
    /// Open incidents.
    pub incidents: Vec<QualityIncident>,
    /// Objections filed against the resource.
    pub objections: Vec<Objection>,
    /// When the report was made.
    pub generated_at: String,
}

/// Gathers a resource's report.
pub async fn gather(store: &dyn CatalogStore, id: &ResourceId) -> Result<Report, QualityError> {
    let resource = store
        .get_resource(id)
        .await?
        .ok_or_else(|| QualityError::Rule(format!("no resource {id}")))?;
    let provider = store
        .get_org(&resource.resource.provider)
        .await?
        .map_or(resource.resource.provider.to_string(), |o| o.name);
    let results = store.quality_results(Some(id), true).await?;
    let history = store.quality_results(Some(id), false).await?;
    let mut by_evaluation: BTreeMap<i64, Vec<QualityResult>> = BTreeMap::new();
    for r in history {
        by_evaluation.entry(r.evaluation).or_default().push(r);
    }
    let trend = by_evaluation
        .values()
        .filter_map(|rs| {
            let first = rs.first()?;
            let s = score_resource(id, rs)?;
            Some((
                first.evaluation,
                first.evaluated_at.clone(),
                first.trigger.clone(),
                s.score,
            ))
        })
        .collect();
    let objections = store
        .list_objections(Some(&resource.resource.provider), None)
        .await?
        .into_iter()
        .filter(|o| &o.filed.resource == id)
        .collect();
    Ok(Report {
        score: score_resource(id, &results),
        provider,
        results,
        trend,
        incidents: store.list_incidents(Some(id), true).await?,
        objections,
        resource,
        generated_at: chrono::Utc::now().to_rfc3339(),
    })
}

fn dimension_title(code: &str) -> String {
    Dimension::from_code(code).map_or(code.to_owned(), |d| format!("{} ({code})", d.title()))
}

fn examples_text(r: &QualityResult) -> String {
    r.examples
        .iter()
        .map(|e| match e {
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_owned)))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Rows of the report's tables, shared by both renderings: (headers, rows).
struct Tables {
    dimensions: (Vec<&'static str>, Vec<Vec<String>>),
    results: (Vec<&'static str>, Vec<Vec<String>>),
    trend: (Vec<&'static str>, Vec<Vec<String>>),
    incidents: (Vec<&'static str>, Vec<Vec<String>>),
    objections: (Vec<&'static str>, Vec<Vec<String>>),
}

fn tables(report: &Report) -> Tables {
    let dimensions = report
        .score
        .as_ref()
        .map(|s| {
            s.dimensions
                .iter()
                .map(|(d, v)| vec![dimension_title(d), format!("{v:.1}")])
                .collect()
        })
        .unwrap_or_default();
    let results = report
        .results
        .iter()
        .map(|r| {
            vec![
                r.rule.clone(),
                r.column.clone().unwrap_or_default(),
                dimension_title(&r.dimension),
                r.severity.clone(),
                r.rows_checked.to_string(),
                r.rows_failed.to_string(),
                format!("{:.2}%", 100.0 * r.failure_rate()),
                examples_text(r),
            ]
        })
        .collect();
    let trend = report
        .trend
        .iter()
        .map(|(e, at, trigger, score)| {
            vec![
                e.to_string(),
                at.chars().take(19).collect(),
                trigger.clone(),
                format!("{score:.1}"),
            ]
        })
        .collect();
    let incidents = report
        .incidents
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                if i.column.is_empty() {
                    i.metric.clone()
                } else {
                    format!("{} ({})", i.metric, i.column)
                },
                format!("{:.4}", i.observed),
                format!("[{:.4}, {:.4}]", i.low, i.high),
                i.detected_at.chars().take(19).collect(),
            ]
        })
        .collect();
    let now = chrono::Utc::now();
    let objections = report
        .objections
        .iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.filed.column.clone(),
                o.filed.proposed_value.clone(),
                o.status.label().to_owned(),
                format!("{:.1}", crate::objection::age_days(o, now)),
                o.decision_reason.clone().unwrap_or_default(),
                o.table_version.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    Tables {
        dimensions: (vec!["维度 Dimension", "得分 Score"], dimensions),
        results: (
            vec![
                "规则 Rule",
                "字段 Column",
                "维度 Dimension",
                "级别 Severity",
                "检查 Checked",
                "不合格 Failed",
                "比例 Rate",
                "示例（已脱敏） Examples (masked)",
            ],
            results,
        ),
        trend: (
            vec![
                "评估 Evaluation",
                "时间 Time (UTC)",
                "触发 Trigger",
                "得分 Score",
            ],
            trend,
        ),
        incidents: (
            vec![
                "编号 No.",
                "指标 Metric",
                "观测值 Observed",
                "正常范围 Expected band",
                "发现时间 Detected",
            ],
            incidents,
        ),
        objections: (
            vec![
                "编号 No.",
                "字段 Column",
                "建议值 Proposed",
                "状态 Status",
                "天数 Days open",
                "说明 Reason",
                "更正版本 Version",
            ],
            objections,
        ),
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_table(out: &mut String, (headers, rows): &(Vec<&str>, Vec<Vec<String>>)) {
    if rows.is_empty() {
        out.push_str("无 (none)\n\n");
        return;
    }
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn headline(report: &Report) -> (String, String) {
    let r = &report.resource.resource;
    let score = report
        .score
        .as_ref()
        .map_or("未评估 (not evaluated)".into(), |s| {
            format!("{:.1}", s.score)
        });
    (format!("数据质量报告 · {} {}", r.id, r.name), score)
}

/// The report in Markdown.
pub fn markdown(report: &Report) -> String {
    let t = tables(report);
    let (title, score) = headline(report);
    let mut out = String::new();
    let _ = writeln!(out, "# {title}\n");
    let _ = writeln!(
        out,
        "- 提供部门 Provider: {}\n- 综合得分 Score: **{score}**\n- 生成时间 Generated: {}\n",
        report.provider, report.generated_at
    );
    for (heading, table) in [
        ("## 维度得分 Dimension scores", &t.dimensions),
        ("## 规则结果 Rule results", &t.results),
        ("## 得分趋势 Score trend", &t.trend),
        ("## 未处理的质量事件 Open incidents", &t.incidents),
        ("## 数据纠错 Objections", &t.objections),
    ] {
        let _ = writeln!(out, "{heading}\n");
        md_table(&mut out, table);
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_table(out: &mut String, id: &str, (headers, rows): &(Vec<&str>, Vec<Vec<String>>)) {
    if rows.is_empty() {
        let _ = writeln!(out, "<p id=\"{id}\" class=\"none\">无 (none)</p>");
        return;
    }
    let _ = write!(out, "<table id=\"{id}\"><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// The report as a standalone HTML page (no scripts, no external resources).
pub fn html(report: &Report) -> String {
    let t = tables(report);
    let (title, score) = headline(report);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin-bottom:1.5em}}\
         th,td{{border:1px solid #bbb;padding:4px 8px;text-align:left;font-size:14px}}th{{background:#eef}}\
         .score{{font-size:2em;font-weight:bold}}</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<p>提供部门 Provider: {}<br>综合得分 Score: <span class=\"score\" id=\"score\">{}</span><br>生成时间 Generated: {}</p>",
        esc(&report.provider),
        esc(&score),
        esc(&report.generated_at)
    );
    for (heading, id, table) in [
        ("维度得分 Dimension scores", "dimensions", &t.dimensions),
        ("规则结果 Rule results", "results", &t.results),
        ("得分趋势 Score trend", "trend", &t.trend),
        ("未处理的质量事件 Open incidents", "incidents", &t.incidents),
        ("数据纠错 Objections", "objections", &t.objections),
    ] {
        let _ = writeln!(out, "<h2>{}</h2>", esc(heading));
        html_table(&mut out, id, table);
    }
    out.push_str("</body></html>\n");
    out
}
