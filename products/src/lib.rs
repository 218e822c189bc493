//! Data products of zhongshu for services (一网通办), governance (一网统管) and IoT
//! (物联感知): SQL and small Rust modules over governed queries.
//!
//! Nothing is implemented here yet.
#![deny(missing_docs)]
