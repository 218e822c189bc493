//! Grants: the grants the reader answers for (the owning department's data officer, the chief
//! data officer, administrators), revoking one after a confirmation, and "what does this
//! session hold" — the tables a principal's session reads, with their columns, masks and row
//! filter, and those it may only discover. Anyone may look at their own; an administrator at
//! anyone's.

use super::{ConsoleState, Ctx, Pager, confirmed_ctx, failure, outcome, resource_names};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use zhongshu_catalog::Grant;
use zhongshu_engine::grants;
use zhongshu_policies::SessionAccess;
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Grants per page.
const PAGE_SIZE: usize = 25;
/// The navigation section of these pages.
const SECTION: &str = "/console/grants";

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Serialize)]
struct GrantView {
    id: i64,
    resource: String,
    resource_name: String,
    grantee: String,
    columns: Vec<String>,
    purpose: Option<String>,
    row_filter: Option<String>,
    masks: Vec<String>,
    expires_at: Option<String>,
    granted_by: String,
    granted_at: String,
    status: &'static str,
}

/// `active`, `expired` or `revoked`.
fn status_of(g: &Grant, now: &chrono::DateTime<chrono::Utc>) -> &'static str {
    if g.revoked_at.is_some() {
        "revoked"
    } else if g.is_active(now) {
        "active"
    } else {
        "expired"
    }
}

#[derive(Serialize)]
struct ListPage {
    statuses: Vec<super::Tab>,
    items: Vec<GrantView>,
    total: usize,
    pager: Pager,
    notice: Option<String>,
    me: String,
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let status = q.status.clone().unwrap_or_else(|| "active".into());
    let page = q.page.unwrap_or(1).max(1);
    let link = |status: &str, page: usize| format!("{SECTION}?status={status}&page={page}");
    let ctx = Ctx::new(&headers, &link(&status, page), Some(SECTION), Some(&who));
    let title = ctx.text("grants.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    if !["active", "expired", "revoked", "all"].contains(&status.as_str()) {
        let e = ApiError::bad_request("status is one of active, expired, revoked, all");
        return failure(&state, &ctx, e);
    }
    let found = async {
        let list = grants::list(&state.core, &who.principal).await?;
        let names = resource_names(&state, list.iter().map(|g| g.grant.resource.as_str())).await?;
        Ok::<_, ApiError>((list, names))
    };
    let (list, names) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let now = chrono::Utc::now();
    let chosen: Vec<Grant> = list
        .into_iter()
        .filter(|g| status == "all" || status_of(g, &now) == status)
        .collect();
    let total = chosen.len();
    let pager = Pager::new(total, page, PAGE_SIZE, |n| link(&status, n));
    let items = chosen
        .into_iter()
        .skip((pager.page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|g| GrantView {
            status: status_of(&g, &now),
            resource_name: names
                .get(g.grant.resource.as_str())
                .cloned()
                .unwrap_or_default(),
            id: g.id,
            resource: g.grant.resource.to_string(),
            grantee: g.grant.grantee.to_string(),
            columns: g.grant.columns,
            purpose: g.grant.purpose,
            row_filter: g.grant.row_filter,
            masks: g
                .grant
                .masks
                .iter()
                .map(|(c, m)| format!("{c}={m}"))
                .collect(),
            expires_at: g.grant.expires_at,
            granted_by: g.granted_by,
            granted_at: g.granted_at,
        })
        .collect();
    let statuses = ["active", "expired", "revoked", "all"]
        .iter()
        .map(|s| super::Tab {
            key: format!("grants.status_{s}"),
            href: link(s, 1),
            selected: *s == status,
        })
        .collect();
    let notice = (q.done.as_deref() == Some("revoked")).then(|| ctx.text("grants.revoked"));
    let page = ListPage {
        statuses,
        items,
        total,
        pager,
        notice,
        me: who.principal.id.to_string(),
    };
    state
        .pages
        .render(StatusCode::OK, "grants.html", &ctx.frame, page)
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    form_token: String,
    confirm: Option<String>,
}

/// Revokes grant `id` after a ticked confirmation.
pub(super) async fn revoke(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let confirm = (form.form_token.as_str(), form.confirm.as_deref());
    let ctx = match confirmed_ctx(&state, &headers, &who, confirm, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let revoked = grants::revoke(&state.core, &who.principal, id).await;
    outcome(&state, &ctx, revoked, |_| {
        format!("{SECTION}?status=revoked&done=revoked")
    })
}

#[derive(Deserialize, Default)]
pub(super) struct ExplainQuery {
    principal: Option<String>,
    purpose: Option<String>,
}

#[derive(Serialize)]
struct ExplainPage {
    subject: String,
    subject_name: String,
    purpose: String,
    may_ask_others: bool,
    access: SessionAccess,
}

/// What a principal's session holds (the reader's own unless an administrator asks of another).
pub(super) async fn explain(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ExplainQuery>,
) -> Response {
    let subject = q
        .principal
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| who.principal.id.to_string());
    let purpose = q.purpose.clone().filter(|p| !p.trim().is_empty());
    let mut path = format!(
        "/console/access?principal={}",
        url::form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>()
    );
    if let Some(p) = &purpose {
        path.push_str("&purpose=");
        path.extend(url::form_urlencoded::byte_serialize(p.as_bytes()));
    }
    let ctx = Ctx::new(&headers, &path, Some(SECTION), Some(&who));
    let trail = [
        (ctx.text("grants.title"), Some(SECTION.to_owned())),
        (ctx.text("grants.explain"), None),
    ];
    let ctx = ctx.crumbs(&trail);
    let found = async {
        let (subject, access) = grants::explain(
            &state.core,
            &who.principal,
            subject.trim(),
            purpose.as_deref(),
        )
        .await?;
        let may_ask_others = grants::administers(&state.core, &who.principal).await?;
        Ok::<_, ApiError>((subject, access, may_ask_others))
    };
    match found.await {
        Ok((subject, access, may_ask_others)) => {
            let page = ExplainPage {
                subject: subject.id.to_string(),
                subject_name: subject.display_name,
                purpose: purpose.unwrap_or_default(),
                may_ask_others,
                access,
            };
            state
                .pages
                .render(StatusCode::OK, "access.html", &ctx.frame, page)
        }
        Err(e) => failure(&state, &ctx, e),
    }
}
