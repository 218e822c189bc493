//! Sharing routes, on the use cases of `zhongshu_sharing` (decided with Cedar, every change in
//! the change log):
//!
//! - `GET /demands`, `POST /demands` (JSON: title, business, legal_basis, items, urgency; for the
//!   caller's department), `POST /demands/{id}/decision` (`{"decision": "match", "resource":
//!   …}`, `to_catalogue` or `not_shareable` with a `reason`)
//! - `GET /share-requests`, `POST /share-requests` (JSON: resource, columns, purpose,
//!   legal_basis, row_filter, days, demand, and `for_department`), `POST
//!   /share-requests/{id}/decision` (`{"decision": "approve", "conditions": …}` or `reject` with
//!   a `reason`), `POST /share-requests/{id}/renew`
//! - `GET /grants` (the grants the caller answers for), `DELETE /grants/{id}` (revoke)
//! - `GET /sharing/metrics`

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use zhongshu_catalog::{
    DemandDecision, Grantee, NewDemand, NewShareRequest, RequestDecision, ResourceId,
};
use zhongshu_engine::Core;
use zhongshu_sharing::{demands, metrics, requests};
use zhongshu_web::{ApiError, Authenticated};

/// The sharing routes (nested under `/api/v1` with authentication).
pub fn routes() -> Router<Core> {
    Router::new()
        .route("/demands", get(list_demands).post(file_demand))
        .route("/demands/{id}/decision", post(decide_demand))
        .route("/share-requests", get(list_requests).post(file_request))
        .route("/share-requests/{id}/decision", post(decide_request))
        .route("/share-requests/{id}/renew", post(renew_request))
        .route("/grants", get(list_grants))
        .route("/grants/{id}", delete(revoke_grant))
        .route("/sharing/metrics", get(sharing_metrics))
}

async fn list_demands(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let items = demands::list(&core, &principal).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[derive(Deserialize)]
struct DemandBody {
    title: String,
    business: String,
    legal_basis: String,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default = "normal")]
    urgency: String,
}

fn normal() -> String {
    "normal".into()
}

async fn file_demand(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Json(body): Json<DemandBody>,
) -> Result<Json<Value>, ApiError> {
    let new = NewDemand {
        org: principal.org.clone(),
        title: body.title,
        business: body.business,
        legal_basis: body.legal_basis,
        items: body.items,
        urgency: body.urgency,
    };
    Ok(Json(json!(demands::file(&core, &principal, &new).await?)))
}

async fn decide_demand(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
    Json(decision): Json<DemandDecision>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        demands::decide(&core, &principal, id, &decision).await?
    )))
}

async fn list_requests(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let items = requests::list(&core, &principal).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[derive(Deserialize)]
struct RequestBody {
    resource: String,
    #[serde(default)]
    columns: Vec<String>,
    purpose: String,
    legal_basis: String,
    #[serde(default)]
    row_filter: Option<String>,
    days: i64,
    #[serde(default)]
    demand: Option<i64>,
    #[serde(default)]
    for_department: bool,
}

async fn file_request(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Json(body): Json<RequestBody>,
) -> Result<Json<Value>, ApiError> {
    let new = NewShareRequest {
        resource: ResourceId::new(body.resource),
        grantee: if body.for_department {
            Grantee::Org(principal.org.clone())
        } else {
            Grantee::Principal(principal.id.clone())
        },
        columns: body.columns,
        purpose: body.purpose,
        legal_basis: body.legal_basis,
        row_filter: body.row_filter,
        days: body.days,
        demand: body.demand,
        renews: None,
    };
    let (request, grant) = requests::file(&core, &principal, &new).await?;
    Ok(Json(json!({"request": request, "grant": grant})))
}

async fn decide_request(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
    Json(decision): Json<RequestDecision>,
) -> Result<Json<Value>, ApiError> {
    let (request, grant) = requests::decide(&core, &principal, id, &decision).await?;
    Ok(Json(json!({"request": request, "grant": grant})))
}

async fn renew_request(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let (request, grant) = requests::renew(&core, &principal, id).await?;
    Ok(Json(json!({"request": request, "grant": grant})))
}

async fn list_grants(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let items = zhongshu_engine::grants::list(&core, &principal).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

async fn revoke_grant(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        zhongshu_engine::grants::revoke(&core, &principal, id).await?
    )))
}

async fn sharing_metrics(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        metrics::metrics(&core, &principal, chrono::Utc::now()).await?
    )))
}
