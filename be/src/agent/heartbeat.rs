//! HeartbeatService: adopt the master FE's cluster id, epoch, token and addresses.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::services::HeartbeatServiceHandler;
use doris_thrift::types::TNetworkAddress;
use thrift::ApplicationError;
use tracing::{info, warn};

use super::Agent;
use crate::error::{ok_status, BeError, Result};

pub struct HeartbeatHandler {
    agent: Arc<Agent>,
    /// Heartbeats are applied one at a time (the cluster id check and its write).
    lock: tokio::sync::Mutex<()>,
}

impl HeartbeatHandler {
    pub fn new(agent: Arc<Agent>) -> Self {
        HeartbeatHandler { agent, lock: tokio::sync::Mutex::new(()) }
    }

    fn backend_info(&self) -> TBackendInfo {
        let c = &self.agent.ctx.config;
        TBackendInfo {
            be_port: c.be_port as i32,
            http_port: c.webserver_port as i32,
            // Upstream answers -1: the BE has no separate rpc port.
            be_rpc_port: Some(-1),
            brpc_port: Some(c.brpc_port as i32),
            version: Some(format!("doris-rs-{}", env!("CARGO_PKG_VERSION"))),
            be_start_time: Some(self.agent.started_ms),
            be_node_role: Some("mix".to_string()),
            is_shutdown: Some(self.agent.shutting_down.load(Ordering::SeqCst)),
            arrow_flight_sql_port: None,
            be_mem: None,
            fragment_executing_count: None,
            fragment_last_active_time: None,
        }
    }

    async fn adopt(&self, m: &TMasterInfo) -> Result<()> {
        let _one_at_a_time = self.lock.lock().await;
        let ctx = &self.agent.ctx;
        let storage = ctx.storage.clone();
        let recorded = tokio::task::spawn_blocking(move || storage.cluster_id())
            .await
            .map_err(|e| BeError::Internal(format!("reading the cluster id: {e}")))?;
        match recorded {
            None => {
                let storage = ctx.storage.clone();
                let id = m.cluster_id;
                tokio::task::spawn_blocking(move || storage.set_cluster_id(id))
                    .await
                    .map_err(|e| BeError::Internal(format!("recording the cluster id: {e}")))?
                    .map_err(|e| BeError::Internal(format!("fail to set cluster id: {e}")))?;
                info!(cluster_id = id, fe = %addr(&m.network_address), "first heartbeat: cluster id recorded");
            }
            Some(id) if id != m.cluster_id => {
                return Err(BeError::Internal(format!(
                    "invalid cluster id. ignore. Record cluster id ={id}, Invalid cluster_id={}",
                    m.cluster_id
                )));
            }
            Some(_) => {}
        }

        let mut need_report = false;
        {
            let mut cur = ctx.master.write().unwrap();
            let same_master = cur.fe_addr.as_ref() == Some(&m.network_address);
            let refuse = || {
                BeError::Internal(format!(
                    "epoch is not greater than local. ignore heartbeat. host: {}, port: {}, local epoch: {}, received epoch: {}",
                    cur.fe_addr.as_ref().map(|a| a.hostname.as_str()).unwrap_or(""),
                    cur.fe_addr.as_ref().map(|a| a.port).unwrap_or(0),
                    cur.epoch,
                    m.epoch
                ))
            };
            // A lower epoch is an old master still heartbeating; a new master must come
            // with a higher epoch (the first heartbeat has no master to compare with).
            if m.epoch < cur.epoch || (!same_master && cur.fe_addr.is_some() && m.epoch <= cur.epoch) {
                return Err(refuse());
            }
            if let Some(token) = &m.token {
                if !cur.token.is_empty() && &cur.token != token {
                    // The values stay out of the message: it is logged.
                    return Err(BeError::Internal("invalid token.".into()));
                }
            }
            if !same_master {
                info!(fe = %addr(&m.network_address), epoch = m.epoch, "master FE changed");
                need_report = true;
            } else if m.epoch > cur.epoch {
                info!(epoch = m.epoch, "master FE restarted");
                need_report = true;
            }
            cur.cluster_id = m.cluster_id;
            cur.epoch = m.epoch;
            cur.fe_addr = Some(m.network_address.clone());
            if let Some(token) = &m.token {
                cur.token = token.clone();
            }
            if let Some(p) = m.http_port {
                cur.fe_http_port = Some(p);
            }
            if let Some(id) = m.backend_id {
                cur.backend_id = Some(id);
            }
            if let Some(ip) = &m.backend_ip {
                cur.backend_ip = Some(ip.clone());
            }
        }
        if need_report {
            self.agent.trigger_reports();
        }
        Ok(())
    }
}

fn addr(a: &TNetworkAddress) -> String {
    format!("{}:{}", a.hostname, a.port)
}

#[async_trait::async_trait]
impl HeartbeatServiceHandler for HeartbeatHandler {
    async fn heartbeat(&self, master_info: TMasterInfo) -> Result<THeartbeatResult, ApplicationError> {
        let status = match self.adopt(&master_info).await {
            Ok(()) => ok_status(),
            Err(e) => {
                warn!(fe = %addr(&master_info.network_address), error = %e, "heartbeat refused");
                e.to_status()
            }
        };
        Ok(THeartbeatResult { status, backend_info: self.backend_info() })
    }
}
