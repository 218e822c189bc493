//! The catalog console's back end: the JSON catalog API that the console pages, the CLI and
//! department systems use to find resources, data elements and their sources, follow quality,
//! and file and decide objections (数据纠错).
//!
//! Handlers are thin: they authenticate the bearer token, call the [`CatalogStore`] or the
//! [`SearchIndex`], and map errors to one JSON error model with a stable code.
#![deny(missing_docs)]

pub mod api;
pub mod error;
pub mod quality_api;

pub use api::{ApiState, router};
pub use error::ApiError;
