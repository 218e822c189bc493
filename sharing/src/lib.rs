//! Sharing for zhongshu: share requests and the grants they produce, and the Delta Sharing
//! protocol as server (to other governments and banks) and client (back-flow from the city).
//!
//! Nothing is implemented here yet.
#![deny(missing_docs)]
