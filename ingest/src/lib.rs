//! Ingest: landing departmental and back-flow (回流) data in the Delta lake.
//!
//! A job ([`spec::JobSpec`], TOML stored in the catalog) names a source, a target resource and
//! a write mode. [`run::run_job`] lands the source's new files in one Delta commit with the
//! job's transaction identifier, sends rows that do not fit to the target's quarantine table
//! with file, line, column, rule and reason, records the run with its row accounting
//! (read = written + quarantined) and is safe to re-run after a crash. [`files`] decodes
//! UTF-8, GBK and GB18030 strictly as a stream; [`rows`] types each field and is where quality checks hook
//! in.
#![deny(missing_docs)]

pub mod checks;
pub mod derive;
pub mod error;
pub mod files;
pub mod lander;
pub mod manage;
mod ownership;
pub mod rows;
pub mod run;
pub mod schedule;
pub mod source;
pub mod spec;

pub use files::{DecodingReader, Encoding, FileFormat};
pub use run::{
    IngestContext, Progress, QualityHooks, RunError, create_job, flag_path, resubmit, run_job,
    validate,
};
pub use spec::JobSpec;
