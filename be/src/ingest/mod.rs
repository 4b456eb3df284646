//! CCR incremental sync on the BE: applying an UPSERT binlog's rowset to a target replica.
//!
//! - `source`: what a source BE serves for it (`GET /api/_binlog/_download`, in `http::binlog`).

pub mod source;
