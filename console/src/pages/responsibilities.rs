//! The responsibility list (数据权责清单): every data element with its responsible department,
//! legal basis and update duty, beside where its authoritative source is — flagged when another
//! department holds it — and, for the chief data officer, assigning and removing entries.

use super::{ConsoleState, Ctx, Pager, Tab, confirmed_ctx, failure, form_ctx, outcome};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use zhongshu_catalog::{ElementId, NewResponsibility, OrgId};
use zhongshu_engine::responsibility::{self, ResponsibilityRow};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Elements per page.
const PAGE_SIZE: usize = 25;
/// The navigation section of these pages.
const SECTION: &str = "/console/responsibilities";
/// The filters: parameter value and text key.
const SHOWS: &[(&str, &str)] = &[
    ("all", "responsibilities.show_all"),
    ("flagged", "responsibilities.show_flagged"),
    ("unassigned", "responsibilities.show_unassigned"),
];

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    show: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Serialize)]
struct OrgChoice {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct ListPage {
    shows: Vec<Tab>,
    items: Vec<ResponsibilityRow>,
    total: usize,
    flagged: usize,
    pager: Pager,
    may_manage: bool,
    orgs: Vec<OrgChoice>,
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
    let title = ctx.text("responsibilities.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    if !SHOWS.iter().any(|(v, _)| *v == show) {
        let e = ApiError::bad_request("show is one of all, flagged, unassigned");
        return failure(&state, &ctx, e);
    }
    let found = async {
        let rows = responsibility::list(&state.core, &who.principal).await?;
        let may_manage = responsibility::may_manage(&state.core, &who.principal).await?;
        let orgs = state.core.store().list_orgs().await?;
        Ok::<_, ApiError>((rows, may_manage, orgs))
    };
    let (rows, may_manage, orgs) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let flagged = rows.iter().filter(|r| r.flagged).count();
    let chosen: Vec<ResponsibilityRow> = rows
        .into_iter()
        .filter(|r| match show.as_str() {
            "flagged" => r.flagged,
            "unassigned" => r.responsibility.is_none(),
            _ => true,
        })
        .collect();
    let total = chosen.len();
    let pager = Pager::new(total, page, PAGE_SIZE, |n| link(&show, n));
    let items = pager.slice(chosen);
    let notice = q.done.as_deref().and_then(|d| match d {
        "assigned" | "removed" => Some(ctx.text(&format!("responsibilities.done_{d}"))),
        _ => None,
    });
    let page = ListPage {
        shows: super::tabs(SHOWS, &show, |v| link(v, 1)),
        items,
        total,
        flagged,
        pager,
        may_manage,
        orgs: orgs
            .into_iter()
            .map(|o| OrgChoice {
                id: o.id.to_string(),
                name: o.name,
            })
            .collect(),
        notice,
    };
    state
        .pages
        .render(StatusCode::OK, "responsibilities.html", &ctx.frame, page)
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    form_token: String,
    element: String,
    org: String,
    legal_basis: String,
    update_duty: String,
}

/// Assigns an element to its responsible department.
pub(super) async fn assign(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<AssignForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let new = NewResponsibility {
        element: ElementId::new(form.element.trim()),
        org: OrgId::new(form.org.trim()),
        legal_basis: form.legal_basis,
        update_duty: form.update_duty,
    };
    let assigned = responsibility::assign(&state.core, &who.principal, &new).await;
    outcome(&state, &ctx, assigned, |_| {
        format!("{SECTION}?done=assigned")
    })
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    form_token: String,
    element: String,
    confirm: Option<String>,
}

/// Removes an element's assignment, after a ticked confirmation.
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
    let element = ElementId::new(form.element.trim());
    let removed = responsibility::unassign(&state.core, &who.principal, &element).await;
    outcome(&state, &ctx, removed, |()| {
        format!("{SECTION}?done=removed")
    })
}
