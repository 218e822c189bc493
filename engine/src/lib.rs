//! The zhongshu engine: object storage, Delta tables and DataFusion.
//!
//! This crate owns the physical side of the lakehouse. [`Lake`] maps zones and tiers to Delta
//! tables on a local directory or an S3-compatible store and writes them through delta-rs;
//! [`schema`] turns catalog items into Arrow schemas; [`scan`] reads lake tables with
//! DataFusion's Parquet scan. [`governed`] is the session principals
//! query through: only granted tables, masks and row filters below every user expression,
//! statements other than queries refused, limits applied. [`service`] is the door every front end
//! opens sessions through: it decides a principal's access from the catalog and audits every
//! statement. [`system`] is the audited session zhongshu's own work reads through, and [`core`]
//! the application core every door receives.
#![deny(missing_docs)]

pub mod audit_log;
mod audited;
mod bounded;
pub mod cache;
pub mod catalogue;
pub mod classification;
pub mod complexity;
pub mod core;
pub mod error;
mod explain;
pub mod governed;
pub mod grants;
pub mod lake;
pub mod maintenance;
pub mod probing;
pub mod registration;
pub mod responsibility;
mod row_filter;
pub mod scan;
pub mod scheduler;
pub mod schema;
pub mod service;
pub mod standards;
pub mod system;
mod unknown;
pub mod write;

pub use audited::AuditedStream;
pub use core::{Core, LineageSink, NoLineage};
pub use error::{EngineError, Result};
pub use governed::{GovernedSession, Limits};
pub use lake::{
    Lake, LakeConfig, LakeRef, RunData, StreamingAppend, VALID_FROM, VALID_TO, WriteMode,
    WriteOutcome,
};
pub use scan::{Disclosed, table_provider, table_provider_disclosing};
pub use service::{ClientInfo, Planned, PrincipalSession, QueryService};
pub use system::{SYSTEM_PRINCIPAL, SystemSession};
pub use write::{Commit, CommitHook, Committed, TableWrite};

/// Locks `m`, going on after a panic elsewhere: every value the engine guards stays consistent
/// between statements, so a poisoned lock holds nothing half-written.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The DataFusion and Arrow versions zhongshu is built with, re-exported so that every crate
/// above uses the same ones.
pub use arrow;
pub use datafusion;
