//! Quality (数据质量): the department ranking (考核) with each department's score over time as
//! a small SVG line, open incidents with resolving them, a resource's quality report, and the
//! rules — viewed, added from a form and removed, each decided with Cedar
//! (`zhongshu_quality::manage`, `views`).

use super::{
    ConsoleState, Ctx, Pager, Tab, confirmed_ctx, failure, form_ctx, outcome, resource_names,
};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use zhongshu_catalog::{QualityIncident, ResourceId};
use zhongshu_policies::Action;
use zhongshu_quality::manage::{self, RuleView};
use zhongshu_quality::views::{self, ScorePoint};
use zhongshu_quality::{DepartmentScore, RuleSpec};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// The navigation section of these pages.
const SECTION: &str = "/console/quality";
/// Rules and incidents per page.
const PAGE_SIZE: usize = 25;
/// The rule kinds the form offers.
const KINDS: &[&str] = &[
    "not_null",
    "regex",
    "range",
    "code_list",
    "check_digit",
    "unique",
    "freshness",
    "sql",
];
/// The tabs: parameter value and text key.
const TABS: &[(&str, &str)] = &[
    ("ranking", "quality.tab_ranking"),
    ("incidents", "quality.tab_incidents"),
    ("rules", "quality.tab_rules"),
];

#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    tab: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

/// A department's line: its score after each evaluation, drawn in a small box.
#[derive(Serialize)]
struct Spark {
    width: u32,
    height: u32,
    points: String,
    first: f64,
    last: f64,
}

fn spark(points: &[ScorePoint]) -> Option<Spark> {
    if points.len() < 2 {
        return None;
    }
    let (width, height) = (120u32, 28u32);
    let step = f64::from(width - 4) / (points.len() - 1) as f64;
    let line = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let y =
                f64::from(height - 2) - p.score.clamp(0.0, 100.0) / 100.0 * f64::from(height - 4);
            format!("{:.1},{:.1}", 2.0 + step * i as f64, y)
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(Spark {
        width,
        height,
        points: line,
        first: points[0].score,
        last: points[points.len() - 1].score,
    })
}

#[derive(Serialize)]
struct RankView {
    d: DepartmentScore,
    spark: Option<Spark>,
    mine: bool,
}

#[derive(Serialize)]
struct IncidentView {
    i: QualityIncident,
    resource_name: String,
    resolvable: bool,
}

#[derive(Serialize)]
struct QualityPage {
    tabs: Vec<Tab>,
    tab: String,
    ranking: Vec<RankView>,
    incidents: Vec<IncidentView>,
    rules: Vec<RuleView>,
    pager: Option<Pager>,
    kinds: &'static [&'static str],
    may_add_rules: bool,
    notice: Option<String>,
}

pub(super) async fn page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let tab = q.tab.clone().unwrap_or_else(|| "ranking".into());
    let page = q.page.unwrap_or(1).max(1);
    let link = |tab: &str, page: usize| format!("{SECTION}?tab={tab}&page={page}");
    let ctx = Ctx::new(&headers, &link(&tab, page), Some(SECTION), Some(&who));
    let title = ctx.text("quality.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    if !TABS.iter().any(|(v, _)| *v == tab) {
        let e = ApiError::bad_request("tab is one of ranking, incidents, rules");
        return failure(&state, &ctx, e);
    }
    let core = &state.core;
    let p = &who.principal;
    let mut view = QualityPage {
        tabs: super::tabs(TABS, &tab, |v| link(v, 1)),
        tab: tab.clone(),
        ranking: Vec::new(),
        incidents: Vec::new(),
        rules: Vec::new(),
        pager: None,
        kinds: KINDS,
        may_add_rules: false,
        notice: q.done.as_deref().and_then(|d| match d {
            "resolved" | "added" | "removed" => Some(ctx.text(&format!("quality.done_{d}"))),
            _ => None,
        }),
    };
    let filled = async {
        let decisions = core.query().decisions(p, None).await?;
        match tab.as_str() {
            "ranking" => {
                let trends = views::department_trends(core, p).await?;
                view.ranking = views::ranking(core, p)
                    .await?
                    .into_iter()
                    .map(|d| RankView {
                        spark: trends.get(&d.department).and_then(|t| spark(t)),
                        mine: d.department == p.org.as_str(),
                        d,
                    })
                    .collect();
            }
            "incidents" => {
                let all = views::incidents(core, p, None, true).await?;
                let pager = Pager::new(all.len(), page, PAGE_SIZE, |n| link("incidents", n));
                let shown: Vec<QualityIncident> = pager.slice(all);
                let names =
                    resource_names(&state, shown.iter().map(|i| i.resource.as_str())).await?;
                view.incidents = shown
                    .into_iter()
                    .map(|i| IncidentView {
                        resource_name: names.get(i.resource.as_str()).cloned().unwrap_or_default(),
                        resolvable: decisions.allows(&i.resource, Action::ManageRules),
                        i,
                    })
                    .collect();
                view.pager = Some(pager);
            }
            _ => {
                // The form is for whoever may declare a rule on a resource it sees.
                view.may_add_rules = core.query().resources().await?.iter().any(|d| {
                    decisions.allows_all(&d.resource.id, &[Action::Discover, Action::ManageRules])
                });
                let all = manage::visible(core, p).await?;
                let pager = Pager::new(all.len(), page, PAGE_SIZE, |n| link("rules", n));
                view.rules = pager.slice(all);
                view.pager = Some(pager);
            }
        }
        Ok::<_, ApiError>(())
    };
    if let Err(e) = filled.await {
        return failure(&state, &ctx, e);
    }
    state
        .pages
        .render(StatusCode::OK, "quality.html", &ctx.frame, view)
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    form_token: String,
}

/// Resolves an incident.
pub(super) async fn resolve(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<TokenForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let resolved = views::resolve_incident(&state.core, &who.principal, id).await;
    outcome(&state, &ctx, resolved, |_| {
        format!("{SECTION}?tab=incidents&done=resolved")
    })
}

#[derive(Deserialize)]
pub(super) struct RuleForm {
    form_token: String,
    id: String,
    resource: String,
    column: String,
    kind: String,
    /// The kind's parameter: a pattern, `min,max`, a code list id, a validator, key columns
    /// or a predicate.
    parameter: String,
    severity: String,
    description: String,
}

/// The rule a form describes, or an error naming the field and what it takes.
fn rule_of(form: &RuleForm) -> Result<RuleSpec, ApiError> {
    let param = form.parameter.trim();
    let needs =
        |what: &str| ApiError::bad_request(format!("parameter: {} needs {what}", form.kind));
    let list = |text: &str| -> Vec<String> {
        text.split([',', '，', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut spec = serde_json::json!({
        "id": form.id.trim(),
        "resource": form.resource.trim(),
        "kind": form.kind,
        "severity": form.severity,
        "description": form.description.trim(),
    });
    if !form.column.trim().is_empty() {
        spec["column"] = form.column.trim().into();
    }
    match form.kind.as_str() {
        "regex" if param.is_empty() => return Err(needs("a pattern")),
        "regex" => spec["pattern"] = param.into(),
        "range" => {
            let bound = |s: &str| -> Result<Option<f64>, ApiError> {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(None);
                }
                s.parse()
                    .map(Some)
                    .map_err(|_| needs("numbers: min,max (either may be empty)"))
            };
            let (min, max) = param.split_once(',').ok_or_else(|| needs("min,max"))?;
            spec["min"] = serde_json::json!(bound(min)?);
            spec["max"] = serde_json::json!(bound(max)?);
        }
        "code_list" if param.is_empty() => return Err(needs("a code list id, gb2260 or gb2261")),
        "code_list" if param == "gb2260" || param == "gb2261" => spec["standard"] = param.into(),
        "code_list" => spec["list"] = param.into(),
        "check_digit" => spec["validator"] = param.into(),
        "unique" => spec["columns"] = serde_json::json!(list(param)),
        "sql" => spec["predicate"] = param.into(),
        _ => {}
    }
    serde_json::from_value(spec).map_err(|e| ApiError::bad_request(format!("rule: {e}")))
}

/// Adds a rule.
pub(super) async fn add_rule(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<RuleForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let added = async {
        let rule = rule_of(&form)?;
        Ok::<_, ApiError>(manage::declare(&state.core, &who.principal, &[rule]).await?)
    };
    outcome(&state, &ctx, added.await, |()| {
        format!("{SECTION}?tab=rules&done=added")
    })
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    form_token: String,
    id: String,
    confirm: Option<String>,
}

/// Removes a rule after a ticked confirmation.
pub(super) async fn remove_rule(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<RemoveForm>,
) -> Response {
    let confirm = (form.form_token.as_str(), form.confirm.as_deref());
    let ctx = match confirmed_ctx(&state, &headers, &who, confirm, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let removed = manage::remove(&state.core, &who.principal, form.id.trim()).await;
    outcome(&state, &ctx, removed, |()| {
        format!("{SECTION}?tab=rules&done=removed")
    })
}

/// A resource's quality report, as the reader may see it.
pub(super) async fn report(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let path = format!("{SECTION}/report/{id}");
    let ctx = Ctx::new(&headers, &path, Some(SECTION), Some(&who));
    let id = ResourceId::new(id);
    match views::report(&state.core, &who.principal, &id).await {
        Ok(report) => {
            let title = ctx.text("quality.title");
            let ctx = ctx.crumbs(&[
                (title, Some(SECTION.to_owned())),
                (report.resource.resource.name.clone(), None),
            ]);
            let points: Vec<ScorePoint> = report
                .trend
                .iter()
                .map(|(evaluation, at, _, score)| ScorePoint {
                    evaluation: *evaluation,
                    evaluated_at: at.clone(),
                    score: *score,
                })
                .collect();
            #[derive(Serialize)]
            struct ReportPage {
                report: zhongshu_quality::report::Report,
                examples: Vec<Vec<String>>,
                trend: Option<super::catalogue::Trend>,
            }
            let examples = report
                .results
                .iter()
                .map(|r| r.examples.iter().map(|e| e.to_string()).collect())
                .collect();
            let page = ReportPage {
                trend: super::catalogue::trend(&points),
                examples,
                report,
            };
            state
                .pages
                .render(StatusCode::OK, "report.html", &ctx.frame, page)
        }
        Err(e) => failure(&state, &ctx, e.into()),
    }
}
