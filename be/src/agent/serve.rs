//! The agent's services: the BackendService (be_port) and HeartbeatService ports, the
//! task pools and the report loops; started and stopped by `crate::server`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use doris_thrift::services::{BackendServiceServer, HeartbeatServiceServer};
use doris_thrift::transport::{ServerOptions, ThriftServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::heartbeat::HeartbeatHandler;
use super::intake::BackendHandler;
use super::pools::Pools;
use super::{report, Agent};
use crate::context::BeContext;
use crate::error::{BeError, Result};

/// How long a graceful shutdown waits for running tasks.
const TASK_DRAIN_GRACE: Duration = Duration::from_secs(30);

pub struct AgentServices {
    pub agent: Arc<Agent>,
    be_server: ThriftServer,
    heartbeat_server: ThriftServer,
    pools: Arc<Pools>,
}

impl AgentServices {
    /// Serve both ports; the report loops run on `background` until `stop`.
    pub fn serve(
        ctx: Arc<BeContext>,
        be_listener: TcpListener,
        heartbeat_listener: TcpListener,
        background: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<Self> {
        let agent = Agent::new(ctx.clone());
        let pools = Pools::start(agent.clone());
        let opts = ServerOptions { max_message_bytes: ctx.config.thrift_max_message_size, ..ServerOptions::default() };
        let backend = BackendServiceServer(Arc::new(BackendHandler::new(agent.clone(), pools.clone())));
        let be_server = ThriftServer::serve(be_listener, Arc::new(backend), opts.clone())
            .map_err(|e| BeError::io("serving be_port", e))?;
        let heartbeat = HeartbeatServiceServer(Arc::new(HeartbeatHandler::new(agent.clone())));
        let heartbeat_server = ThriftServer::serve(heartbeat_listener, Arc::new(heartbeat), opts)
            .map_err(|e| BeError::io("serving heartbeat_service_port", e))?;
        report::spawn(agent.clone(), background, stop);
        Ok(AgentServices { agent, be_server, heartbeat_server, pools })
    }

    /// Stop taking tasks and let running ones finish (heartbeats meanwhile answer
    /// `is_shutdown`), then stop answering heartbeats.
    pub async fn shutdown(self) {
        self.agent.shutting_down.store(true, Ordering::SeqCst);
        self.be_server.shutdown().await;
        self.pools.shutdown(TASK_DRAIN_GRACE).await;
        self.heartbeat_server.shutdown().await;
    }
}
