//! The HTTP error model: `{"error": {"code": "...", "message": "..."}}` with a stable code per
//! kind of failure, so that clients branch on `code` and show `message`. A failed statement
//! adds its PostgreSQL `sqlstate`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zhongshu_catalog::CatalogError;
use zhongshu_quality::QualityError;

/// An error answered over HTTP.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Message for people.
    pub message: String,
    /// The SQLSTATE of a failed statement.
    pub sqlstate: Option<&'static str>,
}

impl ApiError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            sqlstate: None,
        }
    }

    /// The same error carrying a statement's SQLSTATE.
    pub fn with_sqlstate(mut self, sqlstate: &'static str) -> Self {
        self.sqlstate = Some(sqlstate);
        self
    }

    /// 401: no, unknown or revoked bearer token.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send `Authorization: Bearer TOKEN` with a token your administrator issued \
             (请提供有效的访问令牌)",
        )
    }

    /// 400: a bad parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 403: refused by policy.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 500: a failure of zhongshu or its storage, logged with its cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal failure");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            cause.to_string(),
        )
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        let (status, code) = match &e {
            CatalogError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            CatalogError::AlreadyExists { .. } => (StatusCode::CONFLICT, "already_exists"),
            CatalogError::SecondSource(_) => (StatusCode::CONFLICT, "second_source"),
            CatalogError::NotResponsible(_) => (StatusCode::CONFLICT, "not_responsible"),
            CatalogError::OpenAttrForbidden { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "open_attr_forbidden")
            }
            CatalogError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            _ => return ApiError::internal(&e),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<QualityError> for ApiError {
    fn from(e: QualityError) -> Self {
        match e {
            QualityError::Catalog(e) => e.into(),
            QualityError::Rule(message) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
            }
            QualityError::Refused(message) => ApiError::forbidden(message),
            QualityError::Engine(e) => e.into(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<zhongshu_engine::EngineError> for ApiError {
    fn from(e: zhongshu_engine::EngineError) -> Self {
        match e {
            zhongshu_engine::EngineError::Catalog(e) => e.into(),
            zhongshu_engine::EngineError::Refused(message) => ApiError::forbidden(message),
            zhongshu_engine::EngineError::Limit(message) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit", message)
            }
            // A workflow's statement that ran out of its session's memory is a limit the caller
            // can wait out, not a fault of the server.
            zhongshu_engine::EngineError::Query(q)
                if matches!(
                    q.find_root(),
                    zhongshu_engine::datafusion::error::DataFusionError::ResourcesExhausted(_)
                ) =>
            {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit", q.to_string())
            }
            e @ (zhongshu_engine::EngineError::UnknownTable { .. }
            | zhongshu_engine::EngineError::UnknownFunction { .. }) => {
                ApiError::new(StatusCode::BAD_REQUEST, "query", e.to_string())
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(state) = self.sqlstate {
            error["sqlstate"] = json!(state);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}
