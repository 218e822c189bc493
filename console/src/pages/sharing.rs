//! Sharing (数据共享): the demand list (file a demand, match it), share requests (file one from a
//! resource page, the owner's inbox and the CDO's queue: approve with or without conditions,
//! reject with a reason, renew) and the sharing figures. Every step is a use case of
//! `zhongshu_sharing`, decided with Cedar; a page shows only what the reader may see.

use super::{ConsoleState, Ctx, Pager, failure, form_ctx, outcome};
use axum::extract::{Form, Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use zhongshu_catalog::{
    Conditions, DemandDecision, Grantee, NewDemand, NewShareRequest, RequestDecision, ResourceId,
};
use zhongshu_policies::Action;
use zhongshu_sharing::{DemandView, Metrics, RequestView, demands, metrics, requests};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// The navigation section of these pages.
const SECTION: &str = "/console/sharing";
/// Demands and requests per page.
const PAGE_SIZE: usize = 25;
/// The tabs: parameter value and text key.
const TABS: &[(&str, &str)] = &[
    ("requests", "sharing.tab_requests"),
    ("demands", "sharing.tab_demands"),
    ("metrics", "sharing.tab_metrics"),
];

#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    tab: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Serialize)]
struct SharingPage {
    tabs: Vec<super::Tab>,
    tab: String,
    demands: Vec<DemandView>,
    requests: Vec<RequestView>,
    metrics: Option<Metrics>,
    pager: Option<Pager>,
    may_file_demands: bool,
    may_match: bool,
    notice: Option<String>,
}

pub(super) async fn page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let tab = q.tab.clone().unwrap_or_else(|| "requests".into());
    let page = q.page.unwrap_or(1).max(1);
    let link = |tab: &str, page: usize| format!("{SECTION}?tab={tab}&page={page}");
    let ctx = Ctx::new(&headers, &link(&tab, page), Some(SECTION), Some(&who));
    let title = ctx.text("sharing.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    if !TABS.iter().any(|(v, _)| *v == tab) {
        let e = ApiError::bad_request("tab is one of requests, demands, metrics");
        return failure(&state, &ctx, e);
    }
    let (core, p) = (&state.core, &who.principal);
    let mut view = SharingPage {
        tabs: super::tabs(TABS, &tab, |v| link(v, 1)),
        tab: tab.clone(),
        demands: Vec::new(),
        requests: Vec::new(),
        metrics: None,
        pager: None,
        may_file_demands: false,
        may_match: false,
        notice: q.done.as_deref().and_then(|d| match d {
            "filed" | "decided" | "requested" | "granted" | "renewed" => {
                Some(ctx.text(&format!("sharing.done_{d}")))
            }
            _ => None,
        }),
    };
    let filled = async {
        let decisions = core.query().decisions(p, None).await?;
        view.may_file_demands = decisions.allows_on_catalogue(Action::FileDemand);
        view.may_match = decisions.allows_on_catalogue(Action::MatchDemand);
        match tab.as_str() {
            "demands" => {
                let mut all = demands::list(core, p).await?;
                all.reverse();
                let pager = Pager::new(all.len(), page, PAGE_SIZE, |n| link("demands", n));
                view.demands = pager.slice(all);
                view.pager = Some(pager);
            }
            "metrics" => view.metrics = Some(metrics::metrics(core, p, chrono::Utc::now()).await?),
            _ => {
                let all = requests::list(core, p).await?;
                let pager = Pager::new(all.len(), page, PAGE_SIZE, |n| link("requests", n));
                view.requests = pager.slice(all);
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
        .render(StatusCode::OK, "sharing.html", &ctx.frame, view)
}

fn lines(text: &str) -> Vec<String> {
    text.split([',', '，', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Deserialize)]
pub(super) struct DemandForm {
    form_token: String,
    title: String,
    business: String,
    legal_basis: String,
    #[serde(default)]
    items: String,
    #[serde(default)]
    urgency: String,
}

/// Files a demand for the reader's department.
pub(super) async fn file_demand(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<DemandForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let new = NewDemand {
        org: who.principal.org.clone(),
        title: form.title,
        business: form.business,
        legal_basis: form.legal_basis,
        items: lines(&form.items),
        urgency: if form.urgency == "urgent" {
            "urgent".into()
        } else {
            "normal".into()
        },
    };
    let filed = demands::file(&state.core, &who.principal, &new).await;
    outcome(&state, &ctx, filed, |_| {
        format!("{SECTION}?tab=demands&done=filed")
    })
}

#[derive(Deserialize)]
pub(super) struct DemandDecisionForm {
    form_token: String,
    decision: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    reason: String,
}

/// Matches a demand to a resource, or marks it for cataloguing or not shareable.
pub(super) async fn decide_demand(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<DemandDecisionForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let decision = match form.decision.as_str() {
        "match" => DemandDecision::Match {
            resource: ResourceId::new(form.resource.trim()),
        },
        "to_catalogue" => DemandDecision::ToCatalogue {
            reason: form.reason,
        },
        _ => DemandDecision::NotShareable {
            reason: form.reason,
        },
    };
    let decided = demands::decide(&state.core, &who.principal, id, &decision).await;
    outcome(&state, &ctx, decided, |_| {
        format!("{SECTION}?tab=demands&done=decided")
    })
}

#[derive(Deserialize, Default)]
pub(super) struct RequestQuery {
    resource: Option<String>,
    demand: Option<i64>,
}

#[derive(Serialize)]
struct RequestFormPage {
    resource: String,
    resource_name: String,
    columns: Vec<(String, String)>,
    demand: Option<i64>,
}

/// The request form for a resource (from its page).
pub(super) async fn request_form(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<RequestQuery>,
) -> Response {
    let ctx = Ctx::new(&headers, SECTION, Some(SECTION), Some(&who));
    let id = ResourceId::new(q.resource.unwrap_or_default());
    let found = async {
        let decisions = state.core.query().decisions(&who.principal, None).await?;
        Ok::<_, ApiError>(
            zhongshu_quality::views::discoverable(&state.core, &decisions, &id).await?,
        )
    };
    let detail = match found.await {
        Ok(d) => d,
        Err(e) => return failure(&state, &ctx, e),
    };
    let title = ctx.text("sharing.title");
    let ctx = ctx.crumbs(&[
        (title, Some(SECTION.to_owned())),
        (detail.resource.name.clone(), None),
    ]);
    let page = RequestFormPage {
        resource: detail.resource.id.to_string(),
        resource_name: detail.resource.name.clone(),
        columns: detail
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.title.clone()))
            .collect(),
        demand: q.demand,
    };
    state
        .pages
        .render(StatusCode::OK, "share_request.html", &ctx.frame, page)
}

/// Files a request; a 无条件共享 resource's is granted at once. The form repeats `columns` once
/// per ticked box, so it is read as its pairs.
pub(super) async fn file_request(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    RawForm(body): RawForm,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let one = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let ctx = match form_ctx(&state, &headers, &who, &one("form_token"), SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let filed = async {
        let days = one("days")
            .parse()
            .map_err(|_| ApiError::bad_request("days: a whole number of days"))?;
        let new = NewShareRequest {
            resource: ResourceId::new(one("resource")),
            grantee: if one("for_department").is_empty() {
                Grantee::Principal(who.principal.id.clone())
            } else {
                Grantee::Org(who.principal.org.clone())
            },
            columns: pairs
                .iter()
                .filter(|(n, _)| n == "columns")
                .map(|(_, v)| v.clone())
                .collect(),
            purpose: one("purpose"),
            legal_basis: one("legal_basis"),
            row_filter: Some(one("row_filter")).filter(|f| !f.is_empty()),
            days,
            demand: one("demand").parse().ok(),
            renews: None,
        };
        Ok::<_, ApiError>(requests::file(&state.core, &who.principal, &new).await?)
    };
    outcome(&state, &ctx, filed.await, |(_, grant)| {
        let done = if grant.is_some() {
            "granted"
        } else {
            "requested"
        };
        format!("{SECTION}?tab=requests&done={done}")
    })
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    form_token: String,
    decision: String,
    #[serde(default)]
    columns: String,
    #[serde(default)]
    masks: String,
    #[serde(default)]
    row_filter: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

/// The decision a form describes; masks are `column=mask`, one per line or comma.
fn decision_of(form: &DecisionForm) -> Result<RequestDecision, ApiError> {
    if form.decision == "reject" {
        return Ok(RequestDecision::Reject {
            reason: form.reason.clone(),
        });
    }
    let mut conditions = Conditions {
        columns: Some(lines(&form.columns)).filter(|c| !c.is_empty()),
        row_filter: Some(form.row_filter.trim().to_owned()).filter(|f| !f.is_empty()),
        days: match form.days.trim() {
            "" => None,
            d => Some(
                d.parse()
                    .map_err(|_| ApiError::bad_request("days: a whole number of days"))?,
            ),
        },
        ..Conditions::default()
    };
    for m in lines(&form.masks) {
        let (column, mask) = m
            .split_once('=')
            .ok_or_else(|| ApiError::bad_request(format!("masks: write column=mask, not `{m}`")))?;
        conditions
            .masks
            .insert(column.trim().to_owned(), mask.trim().to_owned());
    }
    Ok(RequestDecision::Approve {
        conditions: (conditions != Conditions::default()).then_some(conditions),
    })
}

/// Approves (with or without conditions) or rejects a request.
pub(super) async fn decide_request(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let decided = async {
        let decision = decision_of(&form)?;
        Ok::<_, ApiError>(requests::decide(&state.core, &who.principal, id, &decision).await?)
    };
    outcome(&state, &ctx, decided.await, |_| {
        format!("{SECTION}?tab=requests&done=decided")
    })
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    form_token: String,
}

/// Renews a granted request.
pub(super) async fn renew(
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
    let renewed = requests::renew(&state.core, &who.principal, id).await;
    outcome(&state, &ctx, renewed, |_| {
        format!("{SECTION}?tab=requests&done=renewed")
    })
}
