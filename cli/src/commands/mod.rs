//! One module per command group.

pub mod audit;
pub mod catalog;
pub mod ingest;
pub mod quality;
pub mod table;
