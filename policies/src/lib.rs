//! Authorization for zhongshu: Cedar policies over principals, resources and grants, the
//! masking functions (脱敏) and the logical-plan rewrite that applies row filters and column
//! masks below every user expression.
//!
//! Built so far: [`mask`], the masking functions and each column's default mask. Policies,
//! grants and the plan rewrite follow in the issue "Governed query".
#![deny(missing_docs)]

pub mod mask;

pub use mask::{Mask, MaskKey, default_mask};
