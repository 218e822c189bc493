//! `/healthz` and the `/api/v1` catalog routes.

use crate::error::ApiError;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Mutex;
use zhongshu_catalog::{
    CatalogStore, ElementBindings, LibraryTier, OpenAttr, OrgId, OrgUnit, Page, Paged, Principal,
    Resource, ResourceDetail, ResourceFilter, ResourceId, SearchIndex, SearchResults,
};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The catalog.
    pub catalog: Arc<dyn CatalogStore>,
    /// The resource search index.
    pub search: Arc<Mutex<SearchIndex>>,
    /// The lake (quality reports, profiles and corrections read and write it).
    pub lake: zhongshu_engine::Lake,
}

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
        .route("/quality/results", get(quality_results))
        .route("/quality/scores", get(quality_scores))
        .route("/quality/rank", get(quality_rank))
        .merge(crate::quality_api::routes())
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/healthz", get(health))
        .nest("/api/v1", api)
        .with_state(state)
}

async fn authenticate(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::unauthenticated)?;
    let principal = state
        .catalog
        .principal_by_token(token)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

async fn health(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let head = state.catalog.head_seq().await?;
    Ok(Json(
        json!({"status": "ok", "catalog": state.catalog.backend_name(), "change_log_head": head}),
    ))
}

async fn me(Extension(principal): Extension<Principal>) -> Json<Principal> {
    Json(principal)
}

async fn orgs(State(state): State<ApiState>) -> Result<Json<Vec<OrgUnit>>, ApiError> {
    Ok(Json(state.catalog.list_orgs().await?))
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

fn page_out<T>(p: Paged<T>) -> PageOut<T> {
    PageOut {
        page: p.offset / p.limit.max(1) + 1,
        page_size: p.limit,
        total: p.total,
        items: p.items,
    }
}

async fn list_resources(
    State(state): State<ApiState>,
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
    let page = state
        .catalog
        .list_resources(&filter, page_of(params.page, params.page_size)?)
        .await?;
    Ok(Json(page_out(page)))
}

async fn get_resource(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ResourceDetail>, ApiError> {
    let detail = state
        .catalog
        .get_resource(&ResourceId::new(id.clone()))
        .await?;
    detail.map(Json).ok_or_else(|| {
        zhongshu_catalog::CatalogError::NotFound {
            kind: "resource",
            id,
        }
        .into()
    })
}

async fn list_elements(
    State(state): State<ApiState>,
) -> Result<Json<Vec<ElementBindings>>, ApiError> {
    let mut out = Vec::new();
    for e in state.catalog.list_elements().await? {
        out.push(state.catalog.element_bindings(e.id.as_str()).await?);
    }
    Ok(Json(out))
}

async fn get_element(
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> Result<Json<ElementBindings>, ApiError> {
    Ok(Json(state.catalog.element_bindings(&key).await?))
}

/// `/search` parameters.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: String,
    page: Option<i64>,
    page_size: Option<i64>,
}

async fn search(
    State(state): State<ApiState>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let page = page_of(params.page, params.page_size)?;
    let mut index = state.search.lock().await;
    index.sync(state.catalog.as_ref()).await?;
    Ok(Json(index.search(
        &params.q,
        page.offset as usize,
        page.limit as usize,
    )?))
}

/// `?resource=ID&history=true`
#[derive(Debug, Deserialize)]
struct QualityQuery {
    resource: Option<String>,
    #[serde(default)]
    history: bool,
}

/// Results of the latest evaluation of each rule (or every evaluation), failing examples
/// masked by grade.
async fn quality_results(
    State(state): State<ApiState>,
    Query(q): Query<QualityQuery>,
) -> Result<Json<Value>, ApiError> {
    let only = q.resource.map(ResourceId::new);
    let results = state
        .catalog
        .quality_results(only.as_ref(), !q.history)
        .await?;
    Ok(Json(json!({ "items": results })))
}

/// Scores per resource and dimension.
async fn quality_scores(
    State(state): State<ApiState>,
    Query(q): Query<QualityQuery>,
) -> Result<Json<Value>, ApiError> {
    let only = q.resource.map(ResourceId::new);
    let scores = zhongshu_quality::resource_scores(state.catalog.as_ref(), only.as_ref()).await?;
    Ok(Json(json!({ "items": scores })))
}

/// Departments ranked by the quality of their data (考核).
async fn quality_rank(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let ranking = zhongshu_quality::department_ranking(state.catalog.as_ref()).await?;
    Ok(Json(json!({ "items": ranking })))
}

async fn coverage(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let c = state.catalog.coverage().await?;
    Ok(Json(
        json!({"elements": c.elements, "with_source": c.with_source, "ratio": c.ratio}),
    ))
}
