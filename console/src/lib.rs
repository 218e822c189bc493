//! The catalog console: its web pages for data officers at `/console/` ([`pages`]), and the
//! JSON catalog API that the console pages, the CLI and
//! department systems use to find resources, data elements and their sources, follow quality,
//! and file and decide objections (数据纠错).
//!
//! Handlers are thin: the shared HTTP edge (`zhongshu_web`) names the signed-in principal and
//! answers errors in one JSON model; the handlers call use cases of the engine
//! (`zhongshu_engine::catalogue`) and of quality (`zhongshu_quality::views`, `objection`),
//! which decide every access with Cedar.
#![deny(missing_docs)]

pub mod api;
pub mod dictionary;
pub mod pages;
pub mod quality_api;
pub mod sharing_api;
pub mod standards_api;

pub use api::{ApiState, router};
