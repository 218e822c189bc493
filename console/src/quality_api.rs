//! Quality routes beyond scores: incidents, per-resource reports and profiles, and the
//! objection (数据纠错) loop.
//!
//! - `GET /quality/incidents?resource=&all=true`
//! - `GET /quality/report/{id}?format=html|md|json` (for whoever may discover the resource;
//!   failing examples only for whoever may read it, objections only as far as the caller may
//!   read them)
//! - `GET /quality/profile/{id}` (Cedar's `profile`: the resource's department, administrators
//!   and CDOs by the base policies)
//! - `GET /objections?status=&page=&page_size=`: the objections the caller may
//!   `read_objection` (administrators and CDOs all, others their department's inbox and the
//!   objections they filed, by the base policies).
//!
//! Every decision is [`zhongshu_quality::views`]' or [`zhongshu_quality::objection`]'s, made by
//! Cedar; the handlers only translate HTTP.
//! - `POST /objections` `{resource, table?, record_key, column, current_value?, proposed_value,
//!   evidence}`; `GET /objections/{id}`
//! - `POST /objections/{id}/accept` `{note?}`; `POST /objections/{id}/reject` `{reason}`

use crate::api::ApiState;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use zhongshu_catalog::{NewObjection, Objection, ObjectionStatus, ResourceId};
use zhongshu_web::{ApiError, Authenticated};

/// The routes, to nest under `/api/v1` behind authentication.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/quality/incidents", get(incidents))
        .route("/quality/report/{id}", get(report))
        .route("/quality/profile/{id}", get(profile))
        .route("/objections", get(list_objections).post(file_objection))
        .route("/objections/{id}", get(get_objection))
        .route("/objections/{id}/accept", post(accept))
        .route("/objections/{id}/reject", post(reject))
}

#[derive(Debug, Deserialize)]
struct IncidentQuery {
    resource: Option<String>,
    #[serde(default)]
    all: bool,
}

async fn incidents(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Query(q): Query<IncidentQuery>,
) -> Result<Json<Value>, ApiError> {
    let only = q.resource.map(ResourceId::new);
    let items =
        zhongshu_quality::views::incidents(&core, &principal, only.as_ref(), !q.all).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    format: Option<String>,
}

async fn report(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let report = zhongshu_quality::views::report(&core, &principal, &ResourceId::new(id)).await?;
    Ok(match q.format.as_deref().unwrap_or("html") {
        "html" => (
            [(CONTENT_TYPE, "text/html; charset=utf-8")],
            zhongshu_quality::report::html(&report),
        )
            .into_response(),
        "md" | "markdown" => (
            [(CONTENT_TYPE, "text/markdown; charset=utf-8")],
            zhongshu_quality::report::markdown(&report),
        )
            .into_response(),
        "json" => Json(report).into_response(),
        other => {
            return Err(ApiError::bad_request(format!(
                "format `{other}`: use html, md or json"
            )));
        }
    })
}

async fn profile(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<zhongshu_quality::profile::Profile>, ApiError> {
    Ok(Json(
        zhongshu_quality::views::profile(&core, &principal, &ResourceId::new(id)).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct ObjectionQuery {
    status: Option<String>,
    page: Option<i64>,
    page_size: Option<i64>,
}

async fn list_objections(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Query(q): Query<ObjectionQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .map(|s| s.parse::<ObjectionStatus>())
        .transpose()
        .map_err(ApiError::bad_request)?;
    let page = q.page.unwrap_or(1);
    let size = q.page_size.unwrap_or(50);
    if page < 1 || !(1..=500).contains(&size) {
        return Err(ApiError::bad_request(
            "page starts at 1 and page_size is between 1 and 500",
        ));
    }
    let now = chrono::Utc::now();
    let all: Vec<Value> = zhongshu_quality::objection::list(&core, &principal, status)
        .await?
        .into_iter()
        .map(|o| {
            let age = zhongshu_quality::objection::age_days(&o, now);
            let mut v = serde_json::to_value(&o).unwrap_or_default();
            v["age_days"] = json!(age);
            v
        })
        .collect();
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((page - 1).saturating_mul(size) as usize)
        .take(size as usize)
        .collect();
    Ok(Json(
        json!({ "items": items, "total": total, "page": page, "page_size": size }),
    ))
}

/// The body of `POST /objections`.
#[derive(Debug, Deserialize)]
struct FileBody {
    resource: String,
    #[serde(default = "main_table")]
    table: String,
    record_key: BTreeMap<String, String>,
    column: String,
    #[serde(default)]
    current_value: Option<String>,
    proposed_value: String,
    evidence: String,
}

fn main_table() -> String {
    "main".into()
}

/// The caller's address (`unknown` when served without one, as in tests).
fn client_address(peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> String {
    peer.map(|Extension(ConnectInfo(a))| a.to_string())
        .unwrap_or_else(|| "unknown".into())
}

async fn file_objection(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(body): Json<FileBody>,
) -> Result<(axum::http::StatusCode, Json<Objection>), ApiError> {
    let filed = NewObjection {
        resource: ResourceId::new(body.resource),
        table: body.table,
        record_key: body.record_key,
        column: body.column,
        current_value: body.current_value,
        proposed_value: body.proposed_value,
        evidence: body.evidence,
    };
    let objection =
        zhongshu_quality::objection::file(&core, &principal, &client_address(peer), &filed).await?;
    Ok((axum::http::StatusCode::CREATED, Json(objection)))
}

async fn get_objection(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Objection>, ApiError> {
    Ok(Json(
        zhongshu_quality::objection::get(&core, &principal, id).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
struct AcceptBody {
    #[serde(default)]
    note: Option<String>,
}

async fn accept(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
    body: Option<Json<AcceptBody>>,
) -> Result<Json<Objection>, ApiError> {
    let note = body.and_then(|b| b.0.note);
    Ok(Json(
        zhongshu_quality::objection::accept(&core, &principal, id, note.as_deref()).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct RejectBody {
    reason: String,
}

async fn reject(
    State(core): State<ApiState>,
    Authenticated(principal): Authenticated,
    Path(id): Path<i64>,
    Json(body): Json<RejectBody>,
) -> Result<Json<Objection>, ApiError> {
    Ok(Json(
        zhongshu_quality::objection::reject(&core, &principal, id, &body.reason).await?,
    ))
}
