//! What every part of a running FE shares.

use std::sync::Arc;

use doris_thrift::transport::ClientPool;
use doris_thrift::types::TNetworkAddress;
use tokio::sync::Notify;

use crate::catalog::Catalog;
use crate::config::FeConfig;
use crate::persist::{ClusterInfo, MetaStore};
use crate::system::backends::Backends;
use crate::system::task_queue::AgentTasks;

/// The ports we actually listen on (config may say 0 = any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundPorts {
    pub rpc_port: u16,
    pub query_port: u16,
    pub http_port: u16,
}

pub struct FeContext {
    pub config: FeConfig,
    pub store: Arc<MetaStore>,
    pub cluster: ClusterInfo,
    pub catalog: Catalog,
    pub backends: Backends,
    pub tasks: AgentTasks,
    /// Thrift connections to BEs.
    pub pool: ClientPool,
    /// The address we advertise (heartbeats, SHOW FRONTENDS).
    pub host: String,
    pub ports: BoundPorts,
    pub start_time_ms: i64,
    /// Wakes the heartbeat loop early (a backend was just added).
    pub heartbeat_now: Notify,
    /// Backup and restore jobs, local snapshots.
    pub jobs: crate::backup::Jobs,
    /// Storage resources and policies (cooldown).
    pub policies: crate::cooldown::Policies,
}

impl FeContext {
    pub fn rpc_address(&self) -> TNetworkAddress {
        TNetworkAddress { hostname: self.host.clone(), port: self.ports.rpc_port as i32 }
    }

    /// Users we know: root and admin, with passwords from fe.conf.
    pub fn check_password(&self, user: &str, password: &str) -> bool {
        let expected = match user {
            "root" => &self.config.root_password,
            "admin" => &self.config.admin_password,
            _ => return false,
        };
        // Compare in constant time: the answer should not leak a prefix.
        let (a, b) = (expected.as_bytes(), password.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    pub fn now_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

pub type Ctx = Arc<FeContext>;
