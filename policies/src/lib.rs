//! Authorization for zhongshu: Cedar policies over principals, resources and grants, the
//! masking functions (脱敏), and the decision of what a principal's governed session holds.
//!
//! - [`authorizer`]: the Cedar schema, the base policies drawn from catalog facts, custom
//!   policies validated against the schema, and single decisions;
//! - [`decide`]: a principal's [`SessionAccess`] — tables, columns, masks and row filters —
//!   from its decisions and grants; the engine's governed session enforces it;
//! - [`mask`]: the masking functions and each column's default mask.
#![deny(missing_docs)]

pub mod access;
pub mod authorizer;
pub mod decide;
pub mod mask;

pub use access::{ColumnAccess, DeniedTable, SessionAccess, TableAccess, table_name};
pub use authorizer::{Action, Authorizer, PolicyError, RequestContext, ResourceFacts};
pub use decide::{Subject, decide, row_filter};
pub use mask::{Mask, MaskKey, default_mask};
