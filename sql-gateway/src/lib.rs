//! The SQL gateway: the doors departments and analysts query through — the PostgreSQL wire
//! protocol ([`pgwire`], for psql, psycopg, DBeaver), Arrow Flight SQL ([`flight`], for ADBC
//! in notebooks) and HTTP ([`http`], `POST /api/v1/sql`).
//!
//! Every door authenticates the principal (SCRAM-SHA-256 against the catalog's verifiers over
//! pgwire, bearer tokens over HTTP and Flight SQL) and then goes through the engine's
//! [`QueryService`](zhongshu_engine::QueryService): the same decision, masks, row filters,
//! limits and audit whatever the door.
#![deny(missing_docs)]

pub mod auth;
pub mod flight;
pub mod http;
pub mod pgwire;

use zhongshu_engine::EngineError;

/// What a door reports to its client.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No or wrong credentials.
    #[error("authentication failed: {0}")]
    Unauthenticated(String),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] zhongshu_catalog::CatalogError),
}

impl GatewayError {
    /// The SQLSTATE a PostgreSQL client gets for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            GatewayError::Unauthenticated(_) => "28P01",
            GatewayError::BadRequest(_) => "22023",
            GatewayError::Engine(e) => engine_sqlstate(e),
            GatewayError::Catalog(_) => "XX000",
        }
    }
}

/// The SQLSTATE for an engine error: 42501 for a refusal by policy, 53000 for a limit, 42601
/// for other query errors.
pub fn engine_sqlstate(e: &EngineError) -> &'static str {
    if zhongshu_engine::governed::is_denial(e) {
        return "42501";
    }
    match e {
        EngineError::Limit(_) => "53000",
        EngineError::Query(datafusion::error::DataFusionError::ResourcesExhausted(_)) => "53000",
        EngineError::Query(_) => "42601",
        _ => "XX000",
    }
}
