//! The doris-rs frontend (FE): SQL front end, MySQL protocol server and, later,
//! the catalog, backup/restore jobs and CCR RPCs.

pub mod auth;
pub mod error;
pub mod mysql;
pub mod sql;
pub mod catalog;
pub mod config;
pub mod context;
pub mod persist;
pub mod system;
pub mod cli;
pub mod executor;
pub mod rpc;
pub mod server;
pub mod backup;
pub mod binlog;
pub mod load;
pub mod cooldown;
pub mod tables;
pub mod query;
pub mod workload;
