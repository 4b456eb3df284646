//! doris-rs backend (BE).
//!
//! Layers, each using only those below it:
//! - `server`: the composition root, start-up and shutdown of every service;
//! - `agent`: requests in (heartbeat, submit_tasks, task pools, reports);
//! - `tasks`: one agent task each, declared in the table `tasks::kinds`, run with a `TaskEnv`;
//! - `http` (webserver port), `load` (stream loads), `cooldown` (cold rowsets to object
//!   stores), `pull` (snapshot files between BEs), `ingest` (CCR binlog rowsets between
//!   clusters), `repository` (backup object stores);
//! - `master` (calls to the master FE), `context`, `storage` (data dirs, tablets, snapshots).

pub mod agent;
pub mod cli;
pub mod config;
pub mod cooldown;
pub mod context;
pub mod error;
pub mod http;
pub mod ingest;
pub mod load;
pub mod master;
pub mod metrics;
pub mod pull;
pub mod repository;
pub mod server;
pub mod storage;
pub mod tasks;

pub use config::BeConfig;
pub use context::BeContext;
pub use error::BeError;
