//! `/healthz` and the `/api/v1` catalog routes.

use axum::extract::{Path, Query, State};
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zhongshu_catalog::{
    ElementBindings, LibraryTier, OpenAttr, OrgId, OrgUnit, Page, Principal, Resource,
    ResourceDetail, ResourceFilter, ResourceId, SearchResults,
};
use zhongshu_engine::Core;
use zhongshu_policies::Action;
use zhongshu_web::{ApiError, Authenticated};

/// What the handlers share: the application core.
pub type ApiState = Core;

/// The catalog routes with authentication, plus an open `/healthz`.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/me", get(me))
        .route("/orgs", get(orgs))
        .route("/resources", get(list_resources))
        .route("/resources/{id}", get(get_resource))
        .route("/elements", get(list_elements))
        .route("/elements/{key}", get(get_element))
        .route("/search", get(search))
        .route("/coverage", get(coverage))
        .route("/responsibilities", get(list_responsibilities))
        .route(
            "/responsibilities/{element}",
            axum::routing::put(assign_responsibility).delete(remove_responsibility),
        )
        .route("/quality/results", get(quality_results))
        .route("/quality/scores", get(quality_scores))
        .route("/quality/rank", get(quality_rank))
        .merge(crate::quality_api::routes())
        .merge(crate::standards_api::routes())
        .merge(crate::sharing_api::routes())
        .route_layer(middleware::from_extractor_with_state::<Authenticated, Core>(state.clone()));
    Router::new()
        .route("/healthz", get(health))
        .nest("/api/v1", api)
        .with_state(state)
}

async fn health(State(core): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let head = core.store().head_seq().await?;
    Ok(Json(
        json!({"status": "ok", "catalog": core.store().backend_name(), "change_log_head": head}),
    ))
}

async fn me(Authenticated(principal): Authenticated) -> Json<Principal> {
    Json(principal)
}

async fn orgs(State(core): State<ApiState>) -> Result<Json<Vec<OrgUnit>>, ApiError> {
    Ok(Json(core.store().list_orgs().await?))
}

/// Page parameters: `page` from 1 (default 1), `page_size` 1 to 500 (default 50).
fn page_of(page: Option<i64>, page_size: Option<i64>) -> Result<Page, ApiError> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(50);
    if page < 1 || !(1..=500).contains(&size) {
        return Err(ApiError::bad_request(
            "page starts at 1 and page_size is between 1 and 500",
        ));
    }
    Ok(Page {
        offset: (page - 1) * size,
        limit: size,
    })
}

/// Filters for `/resources`.
#[derive(Debug, Deserialize)]
pub struct ResourceParams {
    provider: Option<String>,
    tier: Option<String>,
    open_attr: Option<String>,
    page: Option<i64>,
    page_size: Option<i64>,
}

#[derive(Serialize)]
struct PageOut<T> {
    items: Vec<T>,
    total: i64,
    page: i64,
    page_size: i64,
}

async fn list_resources(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Query(params): Query<ResourceParams>,
) -> Result<Json<PageOut<Resource>>, ApiError> {
    let filter = ResourceFilter {
        provider: params.provider.map(OrgId::new),
        tier: params
            .tier
            .map(|t| t.parse::<LibraryTier>())
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        open_attr: params
            .open_attr
            .map(|t| t.parse::<OpenAttr>())
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    let page = page_of(params.page, params.page_size)?;
    let listed =
        zhongshu_engine::catalogue::resources(&core, &principal, &filter, page.offset, page.limit)
            .await?;
    Ok(Json(PageOut {
        page: params.page.unwrap_or(1),
        page_size: page.limit,
        total: listed.total as i64,
        items: listed.items,
    }))
}

async fn get_resource(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ResourceDetail>, ApiError> {
    let decisions = core.query().decisions(&principal, None).await?;
    Ok(Json(
        zhongshu_quality::views::discoverable(&core, &decisions, &ResourceId::new(id)).await?,
    ))
}

async fn list_elements(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Vec<ElementBindings>>, ApiError> {
    Ok(Json(
        zhongshu_engine::catalogue::elements(&core, &principal).await?,
    ))
}

async fn get_element(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(key): Path<String>,
) -> Result<Json<ElementBindings>, ApiError> {
    Ok(Json(
        zhongshu_engine::catalogue::element(&core, &principal, &key).await?,
    ))
}

/// `/search` parameters.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: String,
    page: Option<i64>,
    page_size: Option<i64>,
}

async fn search(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let page = page_of(params.page, params.page_size)?;
    let decisions = core.query().decisions(&principal, None).await?;
    let mut index = core.search().lock().await;
    index.sync(core.store().as_ref()).await?;
    Ok(Json(index.search_where(
        &params.q,
        page.offset as usize,
        page.limit as usize,
        &|id| decisions.allows(id, Action::Discover),
    )?))
}

/// `?resource=ID&history=true`
#[derive(Debug, Deserialize)]
struct QualityQuery {
    resource: Option<String>,
    #[serde(default)]
    history: bool,
}

/// Results of the latest evaluation of each rule (or every evaluation) on what the principal
/// may discover, failing examples (masked by grade) only where it may read.
async fn quality_results(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Query(q): Query<QualityQuery>,
) -> Result<Json<Value>, ApiError> {
    let only = q.resource.map(ResourceId::new);
    let results =
        zhongshu_quality::views::results(&core, &principal, only.as_ref(), !q.history).await?;
    Ok(Json(json!({ "items": results })))
}

/// Scores per resource and dimension.
async fn quality_scores(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Query(q): Query<QualityQuery>,
) -> Result<Json<Value>, ApiError> {
    let only = q.resource.map(ResourceId::new);
    let scores = zhongshu_quality::views::scores(&core, &principal, only.as_ref()).await?;
    Ok(Json(json!({ "items": scores })))
}

/// Departments ranked by the quality of their data (考核), over what the principal may assess
/// (government principals: the whole district) or else discover.
async fn quality_rank(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let ranking = zhongshu_quality::views::ranking(&core, &principal).await?;
    Ok(Json(json!({ "items": ranking })))
}

/// 一数一源 coverage as the principal sees it.
async fn coverage(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let c = zhongshu_engine::catalogue::coverage(&core, &principal).await?;
    Ok(Json(
        json!({"elements": c.elements, "with_source": c.with_source, "ratio": c.ratio}),
    ))
}

/// `GET /api/v1/responsibilities`: the responsibility list (数据权责清单) as the caller sees it.
async fn list_responsibilities(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let rows = zhongshu_engine::responsibility::list(&core, &principal).await?;
    Ok(Json(json!({"total": rows.len(), "items": rows})))
}

/// The body of `PUT /api/v1/responsibilities/{element}`.
#[derive(Deserialize)]
struct AssignBody {
    org: String,
    legal_basis: String,
    update_duty: String,
}

/// `PUT /api/v1/responsibilities/{element}`: assigns the element (the chief data officer's).
async fn assign_responsibility(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(element): Path<String>,
    Json(body): Json<AssignBody>,
) -> Result<Json<zhongshu_catalog::Responsibility>, ApiError> {
    let new = zhongshu_catalog::NewResponsibility {
        element: zhongshu_catalog::ElementId::new(element),
        org: OrgId::new(body.org),
        legal_basis: body.legal_basis,
        update_duty: body.update_duty,
    };
    Ok(Json(
        zhongshu_engine::responsibility::assign(&core, &principal, &new).await?,
    ))
}

/// `DELETE /api/v1/responsibilities/{element}`.
async fn remove_responsibility(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(element): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let id = core
        .store()
        .get_element(&element)
        .await?
        .ok_or_else(|| zhongshu_catalog::CatalogError::not_found("data element", &element))?
        .id;
    zhongshu_engine::responsibility::unassign(&core, &principal, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
