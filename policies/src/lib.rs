//! Authorization for zhongshu: Cedar policies over principals, resources and grants, the
//! masking functions (脱敏), and the decision of what a principal's governed session holds.
//!
//! - [`authorizer`]: the Cedar schema, the base policies drawn from catalog facts, custom
//!   policies validated against the schema, and single decisions;
//! - [`decide`]: a principal's [`SessionAccess`] — tables, columns, masks and row filters —
//!   from its decisions and grants; the engine's governed session enforces it;
//! - [`decisions`]: single decisions (may this principal do this action on this resource or
//!   objection?) for every door and workflow, from the same facts;
//! - [`mask`]: the masking functions and each column's default mask;
//! - [`row_filter`](mod@row_filter): a grant's row filter with the principal's attributes
//!   written into the parsed expression.
#![deny(missing_docs)]

pub mod access;
pub mod authorizer;
pub mod decide;
pub mod decisions;
pub mod mask;
pub mod row_filter;

pub use access::{ColumnAccess, DeniedTable, SessionAccess, TableAccess, table_name};
pub use authorizer::{
    Action, Authorizer, ObjectionFacts, PolicyError, RequestContext, ResourceFacts,
};
pub use decide::{decide, decide_with};
pub use decisions::{Classes, Decisions, Subject};
pub use mask::{Mask, MaskKey, default_mask};
pub use row_filter::row_filter;
