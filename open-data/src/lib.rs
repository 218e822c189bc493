//! Open data for zhongshu: the public portal, a CKAN Action API v3 compatible API, the DCAT
//! feed, downloads, API keys and rate limits, all over the governed session.
//!
//! Nothing is implemented here yet.
#![deny(missing_docs)]
