//! What every part of a running BE shares.

use std::sync::{Arc, RwLock};

use doris_thrift::transport::ClientPool;
use doris_thrift::types::TNetworkAddress;

use crate::config::BeConfig;
use crate::metrics::Metrics;
use crate::storage::StorageEngine;

/// What the master FE told us in its last accepted heartbeat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MasterInfo {
    pub cluster_id: i32,
    pub epoch: i64,
    /// Checked on every download request.
    pub token: String,
    /// The master FE's thrift address (finishTask, report, snapshotLoaderReport).
    pub fe_addr: Option<TNetworkAddress>,
    pub fe_http_port: Option<i32>,
    pub backend_id: Option<i64>,
    /// Our address as the FE knows it.
    pub backend_ip: Option<String>,
}

pub struct BeContext {
    pub config: BeConfig,
    pub storage: Arc<StorageEngine>,
    pub master: RwLock<MasterInfo>,
    pub metrics: Metrics,
    /// Thrift connections to FEs.
    pub fe_pool: ClientPool,
    /// HTTP client for pulls from other BEs (keep-alive pool).
    pub http: reqwest::Client,
}

impl BeContext {
    pub fn new(config: BeConfig, storage: Arc<StorageEngine>) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(config.download_parallelism.max(1) * 2)
            .tcp_nodelay(true)
            .build()
            .expect("http client");
        Arc::new(BeContext {
            config,
            storage,
            master: RwLock::new(MasterInfo::default()),
            metrics: Metrics::default(),
            fe_pool: ClientPool::new(),
            http,
        })
    }

    pub fn master(&self) -> MasterInfo {
        self.master.read().unwrap().clone()
    }

    /// The cluster token, empty until the first heartbeat.
    pub fn token(&self) -> String {
        self.master.read().unwrap().token.clone()
    }
}
