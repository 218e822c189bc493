//! The signed-in principal of a request.

use crate::error::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use zhongshu_catalog::Principal;
use zhongshu_catalog::auth::bearer_token;
use zhongshu_engine::Core;

/// The principal named by the request's bearer token; see the crate documentation.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<S> FromRequestParts<S> for Authenticated
where
    Core: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(known) = parts.extensions.get::<Authenticated>() {
            return Ok(known.clone());
        }
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(bearer_token)
            .ok_or_else(ApiError::unauthenticated)?;
        let core = Core::from_ref(state);
        let principal = core
            .store()
            .principal_by_token(token)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let found = Authenticated(principal);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}
