//! doris-rs backend (BE).
//!
//! Layers, each using only those below it: `server` puts the BE together (start-up and
//! shutdown of every service); `agent` takes requests in (heartbeat, submit_tasks, task
//! pools, reports); `tasks` runs one agent task each (the table of kinds in
//! `tasks::kinds`); `http` serves the webserver port, `load` stream loads, `cooldown`
//! moves cold rowsets to object stores, `pull` moves snapshot files between BEs;
//! `master` calls the master FE; `storage` owns data dirs, tablets and snapshots.

pub mod agent;
pub mod cli;
pub mod config;
pub mod cooldown;
pub mod context;
pub mod error;
pub mod http;
pub mod load;
pub mod master;
pub mod metrics;
pub mod pull;
pub mod server;
pub mod storage;
pub mod tasks;

pub use config::BeConfig;
pub use context::BeContext;
pub use error::BeError;
