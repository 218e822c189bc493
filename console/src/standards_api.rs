//! Standards routes: code lists, the system inventory and the data dictionary, on the same use
//! cases as the console's pages (`zhongshu_engine::standards`), decided with Cedar.
//!
//! - `GET /code-lists`, `GET /code-lists/{id}`, `PUT /code-lists/{id}` (JSON: name, standard,
//!   description, values `[{code, label}]`), `DELETE /code-lists/{id}`
//! - `GET /systems`, `PUT /systems/{id}` (JSON: name, org, description, operator, resources),
//!   `DELETE /systems/{id}`
//! - `GET /dictionary?org=&format=json|csv|xlsx`

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use zhongshu_catalog::{CodeValue, NewCodeList, NewSystem, OrgId, ResourceId};
use zhongshu_engine::Core;
use zhongshu_engine::standards;
use zhongshu_web::{ApiError, Authenticated};

/// The standards routes (nested under `/api/v1` with authentication).
pub fn routes() -> Router<Core> {
    Router::new()
        .route("/code-lists", get(code_lists))
        .route(
            "/code-lists/{id}",
            get(code_list).put(load_code_list).delete(remove_code_list),
        )
        .route("/systems", get(systems))
        .route(
            "/systems/{id}",
            axum::routing::put(register_system).delete(remove_system),
        )
        .route("/dictionary", get(dictionary))
}

async fn code_lists(State(core): State<Core>, _: Authenticated) -> Result<Json<Value>, ApiError> {
    let lists = standards::code_lists(&core).await?;
    Ok(Json(json!({"total": lists.len(), "items": lists})))
}

async fn code_list(
    State(core): State<Core>,
    _: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<NewCodeList>, ApiError> {
    Ok(Json(standards::code_list(&core, &id).await?))
}

#[derive(Deserialize)]
struct CodeListBody {
    name: String,
    #[serde(default)]
    standard: Option<String>,
    #[serde(default)]
    description: String,
    values: Vec<CodeValue>,
}

async fn load_code_list(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<CodeListBody>,
) -> Result<Json<Value>, ApiError> {
    let list = NewCodeList {
        id,
        name: body.name,
        standard: body.standard,
        description: body.description,
        values: body.values,
    };
    Ok(Json(json!(
        standards::load_code_list(&core, &principal, &list).await?
    )))
}

async fn remove_code_list(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let used_by = zhongshu_quality::manage::code_list_users(core.store().as_ref(), &id).await?;
    standards::remove_code_list(&core, &principal, &id, &used_by).await?;
    Ok(Json(json!({"removed": id})))
}

async fn systems(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let rows = standards::systems(&core, &principal).await?;
    Ok(Json(json!({"total": rows.len(), "items": rows})))
}

#[derive(Deserialize)]
struct SystemBody {
    name: String,
    org: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    operator: String,
    #[serde(default)]
    resources: Vec<String>,
}

async fn register_system(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<SystemBody>,
) -> Result<Json<Value>, ApiError> {
    let system = NewSystem {
        id,
        name: body.name,
        org: OrgId::new(body.org),
        description: body.description,
        operator: body.operator,
        resources: body.resources.into_iter().map(ResourceId::new).collect(),
    };
    Ok(Json(json!(
        standards::register_system(&core, &principal, &system).await?
    )))
}

async fn remove_system(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    standards::remove_system(&core, &principal, &id).await?;
    Ok(Json(json!({"removed": id})))
}

#[derive(Deserialize)]
struct DictionaryQuery {
    org: Option<String>,
    format: Option<String>,
}

async fn dictionary(
    State(core): State<Core>,
    Authenticated(principal): Authenticated,
    Query(q): Query<DictionaryQuery>,
) -> Result<Response, ApiError> {
    let org = q.org.filter(|o| !o.is_empty()).map(OrgId::new);
    let rows = standards::dictionary(&core, &principal, org.as_ref()).await?;
    let (kind, bytes) = match q.format.as_deref().unwrap_or("json") {
        "json" => return Ok(Json(json!({"total": rows.len(), "items": rows})).into_response()),
        "csv" => ("text/csv; charset=utf-8", crate::dictionary::csv(&rows)),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            crate::dictionary::xlsx(&rows),
        ),
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other}: use json, csv or xlsx"
            )));
        }
    };
    let bytes = bytes.map_err(|e| ApiError::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}
