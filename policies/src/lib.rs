//! Authorization for zhongshu: Cedar policies over principals, resources and grants, the
//! masking functions (脱敏) and the logical-plan rewrite that applies row filters and column
//! masks below every user expression.
//!
//! Nothing is implemented here yet: the governed query path is built in the issue "Governed
//! query". The crate exists now so that the dependency direction of ARCHITECTURE.md
//! (`catalog` ← `policies` ← `engine`) holds from the start.
#![deny(missing_docs)]
