//! FrontendService: what BEs and CCR syncers call on `rpc_port`.

pub(crate) mod auth;
pub mod binlog;
pub mod frontend_service;
mod meta;
pub mod snapshots;

pub use frontend_service::FrontendRpc;
