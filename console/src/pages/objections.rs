//! The objections inbox (数据纠错): the objections the principal may read, and for the owning
//! department (or an administrator) accepting — which commits the correction as a new table
//! version — or rejecting with a reason. Both need the form token and a ticked confirmation.

use super::{ConsoleState, Ctx, Pager, Tab, bad_form, failure};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use zhongshu_catalog::{Objection, ObjectionStatus};
use zhongshu_policies::Action;
use zhongshu_quality::objection;
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Objections per page.
const PAGE_SIZE: usize = 20;

/// The status tabs: parameter value and text key.
const STATUSES: &[(&str, &str)] = &[
    ("open", "objections.status_open"),
    ("accepted", "objections.status_accepted"),
    ("rejected", "objections.status_rejected"),
    ("all", "objections.status_all"),
];

/// Every objection status.
const STATUS_VALUES: [ObjectionStatus; 3] = [
    ObjectionStatus::Open,
    ObjectionStatus::Accepted,
    ObjectionStatus::Rejected,
];

/// The columns: text key, and the order a click on it gives.
const COLUMNS: &[(&str, Option<&str>)] = &[
    ("objections.id", Some("newest")),
    ("objections.resource", Some("resource")),
    ("objections.column", None),
    ("objections.change", None),
    ("objections.filed_by", None),
    ("objections.filed_at", Some("oldest")),
    ("objections.status", None),
];

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
}

impl ListQuery {
    fn link(&self, status: &str, sort: &str, page: usize) -> String {
        format!("/console/objections?status={status}&sort={sort}&page={page}")
    }
}

#[derive(Serialize)]
struct ColumnView {
    key: &'static str,
    href: Option<String>,
    sorted: bool,
}

/// An objection as the pages show it.
#[derive(Serialize)]
struct ObjectionView {
    id: i64,
    resource: String,
    resource_name: String,
    record_key: String,
    column: String,
    current_value: Option<String>,
    proposed_value: String,
    evidence: String,
    filed_by: String,
    filed_at: String,
    owner: String,
    status: &'static str,
    decided_by: Option<String>,
    decided_at: Option<String>,
    decision_reason: Option<String>,
    table_version: Option<i64>,
}

impl ObjectionView {
    fn of(o: Objection, names: &std::collections::HashMap<String, String>) -> Self {
        let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
        ObjectionView {
            resource_name: name(o.filed.resource.as_str()),
            owner: name(o.owner.as_str()),
            id: o.id,
            resource: o.filed.resource.to_string(),
            record_key: serde_json::to_string(&o.filed.record_key).unwrap_or_default(),
            column: o.filed.column,
            current_value: o.filed.current_value,
            proposed_value: o.filed.proposed_value,
            evidence: o.filed.evidence,
            filed_by: o.filed_by,
            filed_at: o.filed_at,
            status: o.status.as_code(),
            decided_by: o.decided_by,
            decided_at: o.decided_at,
            decision_reason: o.decision_reason,
            table_version: o.table_version,
        }
    }
}

#[derive(Serialize)]
struct ListPage {
    statuses: Vec<Tab>,
    columns: Vec<ColumnView>,
    items: Vec<ObjectionView>,
    pager: Pager,
}

/// The names of resources and departments, by id, to show objections with (the two kinds of
/// id never look alike).
async fn names(
    state: &ConsoleState,
    objections: &[Objection],
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let ids = objections.iter().map(|o| o.filed.resource.as_str());
    let mut names = super::resource_names(state, ids).await?;
    for org in state.core.store().list_orgs().await? {
        names.insert(org.id.to_string(), org.name);
    }
    Ok(names)
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let status = q.status.clone().unwrap_or_else(|| "open".into());
    let sort = q.sort.clone().unwrap_or_else(|| "newest".into());
    let page = q.page.unwrap_or(1).max(1);
    let ctx = Ctx::new(
        &headers,
        &q.link(&status, &sort, page),
        Some("/console/objections"),
        Some(&who),
    );
    let title = ctx.text("objections.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let filter = match status.as_str() {
        "all" => None,
        code => match STATUS_VALUES.iter().find(|s| s.as_code() == code) {
            Some(s) => Some(*s),
            None => {
                let e = ApiError::bad_request("status is one of open, accepted, rejected, all");
                return failure(&state, &ctx, e);
            }
        },
    };
    let found = async {
        let listed = objection::list(&state.core, &who.principal, filter).await?;
        let names = names(&state, &listed).await?;
        Ok::<_, ApiError>((listed, names))
    };
    let (mut listed, names) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    match sort.as_str() {
        "oldest" => listed.sort_by_key(|o| o.id),
        "resource" => listed.sort_by(|a, b| {
            a.filed
                .resource
                .cmp(&b.filed.resource)
                .then(b.id.cmp(&a.id))
        }),
        _ => listed.sort_by_key(|o| std::cmp::Reverse(o.id)),
    }
    let total = listed.len();
    let pager = Pager::new(total, page, PAGE_SIZE, |n| q.link(&status, &sort, n));
    let items = listed
        .into_iter()
        .skip((pager.page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|o| ObjectionView::of(o, &names))
        .collect();
    let page = ListPage {
        statuses: STATUSES
            .iter()
            .map(|(value, key)| Tab {
                key: (*key).to_owned(),
                href: q.link(value, &sort, 1),
                selected: *value == status,
            })
            .collect(),
        columns: COLUMNS
            .iter()
            .map(|(key, order)| ColumnView {
                key,
                href: order.map(|o| q.link(&status, o, 1)),
                sorted: order.is_some_and(|o| o == sort),
            })
            .collect(),
        items,
        pager,
    };
    state
        .pages
        .render(StatusCode::OK, "objections.html", &ctx.frame, page)
}

#[derive(Serialize)]
struct DetailPage {
    o: ObjectionView,
    may_decide: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct Done {
    done: Option<String>,
}

async fn detail_page(
    state: &ConsoleState,
    who: &SignedIn,
    id: i64,
) -> Result<(Objection, bool), ApiError> {
    let o = objection::get(&state.core, &who.principal, id).await?;
    let mut decisions = state.core.query().decisions(&who.principal, None).await?;
    decisions
        .add_objections(std::slice::from_ref(&o))
        .map_err(|e| ApiError::internal(&e))?;
    let may = o.status == ObjectionStatus::Open
        && decisions.allows_objection(&o, Action::DecideObjection);
    Ok((o, may))
}

pub(super) async fn detail(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    let ctx = Ctx::new(
        &headers,
        &format!("/console/objections/{id}"),
        Some("/console/objections"),
        Some(&who),
    );
    let found = async {
        let (o, may_decide) = detail_page(&state, &who, id).await?;
        let names = names(&state, std::slice::from_ref(&o)).await?;
        Ok::<_, ApiError>((o, may_decide, names))
    };
    match found.await {
        Ok((o, may_decide, names)) => {
            let notice = done.done.and_then(|d| match d.as_str() {
                "accepted" => Some(ctx.text("objections.accepted")),
                "rejected" => Some(ctx.text("objections.rejected")),
                _ => None,
            });
            let trail = [
                (
                    ctx.text("objections.title"),
                    Some("/console/objections".to_owned()),
                ),
                (format!("#{id}"), None),
            ];
            let ctx = ctx.crumbs(&trail);
            let page = DetailPage {
                o: ObjectionView::of(o, &names),
                may_decide,
                notice,
            };
            state
                .pages
                .render(StatusCode::OK, "objection.html", &ctx.frame, page)
        }
        Err(e) => failure(&state, &ctx, e),
    }
}

#[derive(Deserialize)]
pub(super) struct Decision {
    form_token: String,
    confirm: Option<String>,
    note: Option<String>,
    reason: Option<String>,
}

/// Accepts (`accept`) or rejects objection `id` from its page's form.
async fn decide(
    state: &ConsoleState,
    headers: &HeaderMap,
    who: &SignedIn,
    id: i64,
    form: Decision,
    accept: bool,
) -> Response {
    if !who.form_token_is(&form.form_token) {
        return bad_form(state, headers, who);
    }
    let ctx = Ctx::new(
        headers,
        &format!("/console/objections/{id}"),
        Some("/console/objections"),
        Some(who),
    );
    if form.confirm.as_deref() != Some("yes") {
        return failure(
            state,
            &ctx,
            ApiError::bad_request(ctx.text("objections.confirm_needed")),
        );
    }
    let decided = if accept {
        let note = form
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        objection::accept(&state.core, &who.principal, id, note).await
    } else {
        let reason = form.reason.as_deref().unwrap_or("").trim().to_owned();
        objection::reject(&state.core, &who.principal, id, &reason).await
    };
    match decided {
        Ok(_) => {
            let done = if accept { "accepted" } else { "rejected" };
            Redirect::to(&format!("/console/objections/{id}?done={done}")).into_response()
        }
        Err(e) => failure(state, &ctx, e.into()),
    }
}

pub(super) async fn accept(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<Decision>,
) -> Response {
    decide(&state, &headers, &who, id, form, true).await
}

pub(super) async fn reject(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<Decision>,
) -> Response {
    decide(&state, &headers, &who, id, form, false).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::i18n::{self, Lang};

    #[test]
    fn every_status_and_column_has_its_text() {
        let keys = STATUSES
            .iter()
            .map(|(_, k)| *k)
            .chain(COLUMNS.iter().map(|(k, _)| *k));
        for key in keys {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(i18n::text(lang, key), key);
            }
        }
        for status in STATUS_VALUES {
            let key = format!("objections.status_{}", status.as_code());
            assert_ne!(i18n::text(Lang::En, &key), key);
        }
    }
}
