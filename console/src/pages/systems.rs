//! 系统清单 (the system inventory): each department's information systems, the resources each
//! produces, and the systems that produce no catalogued resource flagged — data outside the
//! catalogue. Data officers register their own department's systems, the CDO any
//! (`zhongshu_engine::standards`, decided with Cedar).

use super::{ConsoleState, Ctx, Pager, Tab, confirmed_ctx, failure, form_ctx, outcome};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use zhongshu_catalog::{InformationSystem, NewSystem, OrgId, ResourceId};
use zhongshu_engine::standards::{self, SystemRow};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Systems per page.
const PAGE_SIZE: usize = 25;
/// The navigation section of these pages.
const SECTION: &str = "/console/systems";
/// The filters: parameter value and text key.
const SHOWS: &[(&str, &str)] = &[
    ("all", "systems.show_all"),
    ("uncatalogued", "systems.show_uncatalogued"),
    ("mine", "systems.show_mine"),
];

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    show: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct ListPage {
    shows: Vec<Tab>,
    items: Vec<SystemRow>,
    total: usize,
    uncatalogued: usize,
    pager: Pager,
    may_register: bool,
    may_manage: bool,
    own_org: String,
    orgs: Vec<Choice>,
    notice: Option<String>,
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let show = q.show.clone().unwrap_or_else(|| "all".into());
    let page = q.page.unwrap_or(1).max(1);
    let link = |show: &str, page: usize| format!("{SECTION}?show={show}&page={page}");
    let ctx = Ctx::new(&headers, &link(&show, page), Some(SECTION), Some(&who));
    let title = ctx.text("systems.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    if !SHOWS.iter().any(|(v, _)| *v == show) {
        let e = ApiError::bad_request("show is one of all, uncatalogued, mine");
        return failure(&state, &ctx, e);
    }
    let found = async {
        let rows = standards::systems(&state.core, &who.principal).await?;
        let rights = standards::rights(&state.core, &who.principal).await?;
        let orgs = state.core.store().list_orgs().await?;
        Ok::<_, ApiError>((rows, rights, orgs))
    };
    let (rows, rights, orgs) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let uncatalogued = rows.iter().filter(|r| r.uncatalogued).count();
    let chosen: Vec<SystemRow> = rows
        .into_iter()
        .filter(|r| match show.as_str() {
            "uncatalogued" => r.uncatalogued,
            "mine" => r.system.system.org == who.principal.org,
            _ => true,
        })
        .collect();
    let total = chosen.len();
    let pager = Pager::new(total, page, PAGE_SIZE, |n| link(&show, n));
    let items = pager.slice(chosen);
    let notice = q.done.as_deref().and_then(|d| match d {
        "registered" | "removed" => Some(ctx.text(&format!("systems.done_{d}"))),
        _ => None,
    });
    let view = ListPage {
        shows: super::tabs(SHOWS, &show, |v| link(v, 1)),
        items,
        total,
        uncatalogued,
        pager,
        may_register: rights.define || rights.manage,
        may_manage: rights.manage,
        own_org: who.principal.org.to_string(),
        orgs: orgs
            .into_iter()
            .filter(|o| rights.manage || o.id == who.principal.org)
            .map(|o| Choice {
                id: o.id.to_string(),
                name: o.name,
            })
            .collect(),
        notice,
    };
    state
        .pages
        .render(StatusCode::OK, "systems.html", &ctx.frame, view)
}

#[derive(Deserialize)]
pub(super) struct RegisterForm {
    form_token: String,
    id: String,
    name: String,
    org: String,
    description: String,
    operator: String,
    /// Resource codes, separated by commas, spaces or lines.
    resources: String,
}

/// Registers (or changes) a system.
pub(super) async fn register(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<RegisterForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let system = NewSystem {
        id: form.id.trim().to_owned(),
        name: form.name.trim().to_owned(),
        org: OrgId::new(form.org.trim()),
        description: form.description,
        operator: form.operator,
        resources: form
            .resources
            .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(ResourceId::new)
            .collect(),
    };
    let registered = standards::register_system(&state.core, &who.principal, &system).await;
    outcome(&state, &ctx, registered, |_: InformationSystem| {
        format!("{SECTION}?done=registered")
    })
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    form_token: String,
    id: String,
    confirm: Option<String>,
}

/// Removes a system, after a ticked confirmation.
pub(super) async fn remove(
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
    let removed = standards::remove_system(&state.core, &who.principal, form.id.trim()).await;
    outcome(&state, &ctx, removed, |()| {
        format!("{SECTION}?done=removed")
    })
}
