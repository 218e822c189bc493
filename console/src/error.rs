//! The HTTP error model: `{"error": {"code": "...", "message": "..."}}` with a stable code per
//! kind of failure, so that clients branch on `code` and show `message`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zhongshu_catalog::CatalogError;

/// An error answered over HTTP.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Message for people.
    pub message: String,
}

impl ApiError {
    /// 401: no or unknown bearer token.
    pub fn unauthenticated() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            message: "send `Authorization: Bearer TOKEN` with a token from demo-credentials.json or your administrator (请提供有效的访问令牌)".into(),
        }
    }

    /// 400: a bad parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }
}

impl From<zhongshu_quality::QualityError> for ApiError {
    fn from(e: zhongshu_quality::QualityError) -> Self {
        match e {
            zhongshu_quality::QualityError::Catalog(e) => e.into(),
            zhongshu_quality::QualityError::Rule(message) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid",
                message,
            },
            zhongshu_quality::QualityError::Refused(message) => ApiError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message,
            },
            other => {
                tracing::error!(error = %other, "quality failure");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: other.to_string(),
                }
            }
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        let (status, code) = match &e {
            CatalogError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            CatalogError::AlreadyExists { .. } => (StatusCode::CONFLICT, "already_exists"),
            CatalogError::SecondSource(_) => (StatusCode::CONFLICT, "second_source"),
            CatalogError::OpenAttrForbidden { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "open_attr_forbidden")
            }
            CatalogError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "catalog failure");
        }
        ApiError {
            status,
            code,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
