//! doris-rs backend (BE).
//!
//! Layers: `agent` takes requests in (heartbeat, submit_tasks, reports, calls to the
//! master FE), `tasks` runs one agent task each, `pull` moves snapshot files between BEs,
//! `http` serves the webserver port, `storage` owns data dirs, tablets and snapshots,
//! `cooldown` moves cold rowsets to a storage policy's object store.

pub mod agent;
pub mod cli;
pub mod config;
pub mod cooldown;
pub mod context;
pub mod error;
pub mod http;
pub mod load;
pub mod metrics;
pub mod pull;
pub mod storage;
pub mod tasks;

pub use config::BeConfig;
pub use context::BeContext;
pub use error::BeError;
