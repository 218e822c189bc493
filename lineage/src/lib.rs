//! Lineage for zhongshu: OpenLineage events from ingest runs and queries, column-level
//! lineage derived from DataFusion plans, and graph queries over them.
//!
//! Nothing is implemented here yet.
#![deny(missing_docs)]
