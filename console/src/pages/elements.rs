//! Data elements and 一数一源: every element with its authoritative source, its replicas and
//! how often they disagree with the source (the latest consistency results), coverage, and
//! binding and unbinding a column — with the refusal of a second source shown as what to do.
//! Sources and replicas on resources the reader may not discover are not shown.

use super::{ConsoleState, Ctx, Pager, confirmed_ctx, failure, form_ctx, outcome};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use zhongshu_catalog::{BindingRole, Coverage, ElementBinding, ElementBindings, ResourceId};
use zhongshu_engine::{catalogue, classification};
use zhongshu_policies::Action;
use zhongshu_quality::views;
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Elements per page.
const PAGE_SIZE: usize = 25;
/// The navigation section of these pages.
const SECTION: &str = "/console/elements";

/// Share of replica rows that disagree with the source, by (element, replica resource), from
/// the latest `consistency:ELEMENT` results the reader may see.
type ConflictRates = HashMap<(String, ResourceId), f64>;

async fn conflict_rates(state: &ConsoleState, who: &SignedIn) -> Result<ConflictRates, ApiError> {
    Ok(views::results(&state.core, &who.principal, None, true)
        .await?
        .into_iter()
        .filter_map(|r| {
            let element = r.rule.strip_prefix("consistency:")?.to_owned();
            let rate = if r.rows_checked > 0 {
                r.rows_failed as f64 / r.rows_checked as f64
            } else {
                0.0
            };
            Some(((element, r.resource), rate))
        })
        .collect())
}

#[derive(Serialize)]
struct BindingView {
    resource: String,
    resource_name: String,
    column: String,
    owner_name: String,
    role: &'static str,
    conflict_rate: Option<f64>,
    may_unbind: bool,
}

impl BindingView {
    fn of(b: &ElementBinding, element: &str, rates: &ConflictRates, may_unbind: bool) -> Self {
        BindingView {
            resource: b.resource.to_string(),
            resource_name: b.resource_name.clone(),
            column: b.column.clone(),
            owner_name: b.owner_name.clone(),
            role: b.role.as_code(),
            conflict_rate: rates
                .get(&(element.to_owned(), b.resource.clone()))
                .copied(),
            may_unbind,
        }
    }
}

#[derive(Serialize)]
struct ElementView {
    id: String,
    name: String,
    name_en: String,
    standard: Option<String>,
    data_type: String,
    description: String,
    default_category: &'static str,
    default_grade: &'static str,
    source: Option<BindingView>,
    replicas: Vec<BindingView>,
    worst_conflict: Option<f64>,
}

impl ElementView {
    fn of(
        b: &ElementBindings,
        rates: &ConflictRates,
        may_unbind: impl Fn(&ResourceId) -> bool,
    ) -> Self {
        let id = b.element.id.to_string();
        let view = |x: &ElementBinding| BindingView::of(x, &id, rates, may_unbind(&x.resource));
        let replicas: Vec<BindingView> = b.replicas.iter().map(view).collect();
        ElementView {
            source: b.source.as_ref().map(view),
            worst_conflict: replicas
                .iter()
                .filter_map(|r| r.conflict_rate)
                .fold(None, |w: Option<f64>, r| Some(w.map_or(r, |w| w.max(r)))),
            replicas,
            name: b.element.name.clone(),
            name_en: b.element.name_en.clone(),
            standard: b.element.standard.clone(),
            data_type: b.element.data_type.clone(),
            description: b.element.description.clone(),
            default_category: b.element.default_category.as_code(),
            default_grade: b.element.default_grade.as_code(),
            id,
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    q: Option<String>,
    without_source: Option<String>,
    page: Option<usize>,
}

impl ListQuery {
    fn link(&self, page: usize) -> String {
        let mut l = format!("/console/elements?page={page}");
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            l.push_str("&q=");
            l.extend(url::form_urlencoded::byte_serialize(q.as_bytes()));
        }
        if self.without_source.is_some() {
            l.push_str("&without_source=1");
        }
        l
    }
}

#[derive(Serialize)]
struct ListPage {
    q: String,
    without_source: bool,
    coverage: Coverage,
    items: Vec<ElementView>,
    total: usize,
    pager: Pager,
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let ctx = Ctx::new(&headers, &q.link(page), Some(SECTION), Some(&who));
    let title = ctx.text("elements.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let found = async {
        let elements = catalogue::elements(&state.core, &who.principal).await?;
        let coverage = catalogue::coverage(&state.core, &who.principal).await?;
        Ok::<_, ApiError>((elements, coverage, conflict_rates(&state, &who).await?))
    };
    let (elements, coverage, rates) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let words = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let without_source = q.without_source.is_some();
    let chosen: Vec<&ElementBindings> = elements
        .iter()
        .filter(|b| {
            words.is_empty()
                || b.element.name.contains(&words)
                || b.element.id.as_str().contains(&words)
                || b.element.name_en.to_lowercase().contains(&words)
        })
        .filter(|b| !without_source || b.source.is_none())
        .collect();
    let total = chosen.len();
    let pager = Pager::new(total, page, PAGE_SIZE, |n| q.link(n));
    let items = chosen
        .into_iter()
        .skip((pager.page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|b| ElementView::of(b, &rates, |_| false))
        .collect();
    let page = ListPage {
        q: q.q.clone().unwrap_or_default(),
        without_source,
        coverage,
        items,
        total,
        pager,
    };
    state
        .pages
        .render(StatusCode::OK, "elements.html", &ctx.frame, page)
}

#[derive(Deserialize, Default)]
pub(super) struct Done {
    done: Option<String>,
}

#[derive(Serialize)]
struct DetailPage {
    e: ElementView,
    may_bind: bool,
    notice: Option<String>,
}

pub(super) async fn detail(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let path = format!("/console/elements/{id}");
    let ctx = Ctx::new(&headers, &path, Some(SECTION), Some(&who));
    let found = async {
        let bindings = catalogue::element(&state.core, &who.principal, &id).await?;
        let decisions = state.core.query().decisions(&who.principal, None).await?;
        let may_bind = state
            .core
            .query()
            .resources()
            .await?
            .iter()
            .any(|d| decisions.allows(&d.resource.id, Action::Classify));
        let rates = conflict_rates(&state, &who).await?;
        let view = ElementView::of(&bindings, &rates, |r| decisions.allows(r, Action::Classify));
        Ok::<_, ApiError>((view, may_bind))
    };
    match found.await {
        Ok((e, may_bind)) => {
            let trail = [
                (ctx.text("elements.title"), Some(SECTION.to_owned())),
                (e.name.clone(), None),
            ];
            let ctx = ctx.crumbs(&trail);
            let notice = done.done.and_then(|d| match d.as_str() {
                "bound" | "unbound" => Some(ctx.text(&format!("elements.done_{d}"))),
                _ => None,
            });
            let page = DetailPage {
                e,
                may_bind,
                notice,
            };
            state
                .pages
                .render(StatusCode::OK, "element.html", &ctx.frame, page)
        }
        Err(e) => failure(&state, &ctx, e),
    }
}

#[derive(Deserialize)]
pub(super) struct BindForm {
    form_token: String,
    element: String,
    resource: String,
    column: String,
    role: String,
}

/// Binds a column to the element the form names, as its source or a replica.
pub(super) async fn bind(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<BindForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let role = match form.role.as_str() {
        "source" => BindingRole::Source,
        "replica" => BindingRole::Replica,
        _ => {
            let e = ApiError::bad_request(ctx.text("elements.role_needed"));
            return failure(&state, &ctx, e);
        }
    };
    let resource = ResourceId::new(form.resource.trim());
    let bound = classification::bind(
        &state.core,
        &who.principal,
        &resource,
        form.column.trim(),
        form.element.trim(),
        role,
    )
    .await;
    outcome(&state, &ctx, bound, |element| {
        format!("/console/elements/{element}?done=bound")
    })
}

#[derive(Deserialize)]
pub(super) struct UnbindForm {
    form_token: String,
    element: String,
    resource: String,
    column: String,
    confirm: Option<String>,
}

/// Removes a column's binding, after a ticked confirmation.
pub(super) async fn unbind(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<UnbindForm>,
) -> Response {
    let confirm = (form.form_token.as_str(), form.confirm.as_deref());
    let ctx = match confirmed_ctx(&state, &headers, &who, confirm, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let resource = ResourceId::new(form.resource.trim());
    let unbound =
        classification::unbind(&state.core, &who.principal, &resource, form.column.trim()).await;
    outcome(&state, &ctx, unbound, |()| {
        let element = url::form_urlencoded::byte_serialize(form.element.as_bytes());
        format!(
            "/console/elements/{}?done=unbound",
            element.collect::<String>()
        )
    })
}
