//! The infrastructure every part of a running FE shares: config, meta store, catalog,
//! backends, the thrift client pool and where we listen. Domain services (jobs, policies,
//! agent tasks, repositories) are not here: `server.rs` builds each once and hands every
//! module a handle with the ones it uses (`TableDdl`, `BackupEnv`, `Cooldown`, `Loads`,
//! `Reports`).

use std::sync::Arc;

use doris_thrift::transport::ClientPool;
use doris_thrift::types::TNetworkAddress;
use tokio::sync::Notify;

use crate::catalog::Catalog;
use crate::config::FeConfig;
use crate::persist::{ClusterInfo, MetaStore};
use crate::system::backends::Backends;

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
    /// Users, roles and privileges.
    pub users: crate::auth::Users,
    pub backends: Backends,
    /// Thrift connections to BEs.
    pub pool: ClientPool,
    /// The address we advertise (heartbeats, SHOW FRONTENDS).
    pub host: String,
    pub ports: BoundPorts,
    pub start_time_ms: i64,
    /// Wakes the heartbeat loop early (a backend was just added).
    pub heartbeat_now: Notify,
}

impl FeContext {
    pub fn rpc_address(&self) -> TNetworkAddress {
        TNetworkAddress { hostname: self.host.clone(), port: self.ports.rpc_port as i32 }
    }

    /// A clear-text password (HTTP Basic, thrift requests) against the stored users, as a
    /// login from `client_host` (None: unknown, only identities for any host match).
    pub fn check_password(&self, user: &str, password: &str, client_host: Option<&str>) -> Result<crate::auth::UserIdentity, crate::error::FeError> {
        self.users.check_password(user, password, client_host)
    }

    pub fn now_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

pub type Ctx = Arc<FeContext>;

/// A module's handle: the shared infrastructure (reached through `Deref`) and the domain
/// services the module uses, as named fields.
#[macro_export]
macro_rules! module_handle {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone)]
        pub struct $name {
            pub ctx: $crate::context::Ctx,
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl std::ops::Deref for $name {
            type Target = $crate::context::FeContext;
            fn deref(&self) -> &$crate::context::FeContext {
                &self.ctx
            }
        }
    };
}
