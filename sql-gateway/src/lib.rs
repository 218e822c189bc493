//! The SQL gateway of zhongshu: PostgreSQL wire protocol, Arrow Flight SQL and HTTP SQL front
//! ends, each a thin shell over the one governed session of `zhongshu_engine`.
//!
//! Nothing is implemented here yet (issue "Governed query").
#![deny(missing_docs)]
