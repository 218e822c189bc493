//! The zhongshu catalog: the domain model and metadata store of a district data hub.
//!
//! It holds what the rest of zhongshu governs by: organisation units and principals, standard
//! data elements (数据元) with their one authoritative source each (一数一源), resources of the
//! resource catalogue (GB/T 21063) with their items, the Delta tables behind them, and the
//! classification and grade of every column (GB/T 43697). Every change is appended to a
//! hash-chained change log that can be verified.
//!
//! [`CatalogStore`] is the interface; [`SqlCatalogStore`] implements it on SQLite (the embedded
//! default) and PostgreSQL. [`SearchIndex`] adds Chinese full-text search over resources, and
//! [`discovery`] suggests elements and grades from sampled values.
#![deny(missing_docs)]

pub mod auth;
pub mod changelog;
pub mod classification;
pub mod codes;
pub mod discovery;
pub mod error;
pub mod governance;
pub mod ids;
pub mod model;
pub mod reference;
pub mod rules;
pub mod search;
pub mod sharing;
pub mod sql;
pub mod standards;
pub mod store;
pub mod systems;
pub mod validators;

pub use classification::{
    BindingRole, Category, Grade, LibraryTier, OpenAttr, OrgKind, PrincipalKind, Role, ShareAttr,
    SuggestionStatus, UpdateCycle,
};
pub use codes::{CodeListSummary, CodeValue, NewCodeList, parse_code_file};
pub use error::{CatalogError, NotResponsible, Result, SourceConflict};
pub use governance::{
    AuditOutcome, AuditRecord, CustomPolicy, Grant, Grantee, NewAuditRecord, NewGrant, expiry_time,
};
pub use ids::{ElementId, JobId, OrgId, PrincipalId, ResourceId};
pub use model::*;
pub use search::{SearchHit, SearchIndex, SearchResults};
pub use sharing::{
    Conditions, Demand, DemandDecision, DemandStatus, NegativeEntry, NewDemand, NewShareRequest,
    RequestDecision, RequestStatus, ShareRequest,
};
pub use sql::{Backend, SqlCatalogStore};
pub use store::{Actor, AttributeChange, CatalogStore};
pub use systems::{InformationSystem, NewSystem};
