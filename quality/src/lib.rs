//! Data quality for zhongshu: rules declared per resource or per data element, validators,
//! profiling, dimension scores, 一数一源 consistency checks between replicas and their source,
//! and the objection (纠错) loop.
//!
//! Nothing is implemented here yet (issue "Data quality"); the validators the rules will use
//! already live in `zhongshu_catalog::validators`.
#![deny(missing_docs)]
