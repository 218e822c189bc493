//! Ingest: landing departmental and back-flow (回流) data in the Delta lake.
//!
//! This crate starts with the part every ingest path needs first, [`files`]: decoding a
//! department's file (UTF-8, GBK or GB18030 text; CSV, TSV or JSON lines) into Arrow batches
//! with the schema the catalog declares, with errors that name the file, line and column. Jobs,
//! write modes, quarantine, schedules and the other sources build on it.
#![deny(missing_docs)]

pub mod files;

pub use files::{Encoding, FileFormat, FileSpec, IngestError, read_file};
