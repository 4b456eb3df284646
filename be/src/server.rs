//! The composition root: BE start-up and shutdown. Binds the three ports, opens storage,
//! then starts the agent's services, the webserver and the background jobs (report
//! loops, snapshot sweeper, load GC, cooldown).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::agent::{Agent, AgentServices};
use crate::config::BeConfig;
use crate::context::BeContext;
use crate::error::{BeError, Result};
use crate::storage::StorageEngine;

/// How often expired snapshots are removed.
const SNAPSHOT_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Where a running BE listens, in loopback form when bound to every interface (what a
/// local client dials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeAddrs {
    pub be: SocketAddr,
    pub heartbeat: SocketAddr,
    pub http: SocketAddr,
}

/// A running BE.
pub struct BeHandle {
    pub ctx: Arc<BeContext>,
    pub agent: Arc<Agent>,
    pub addrs: BeAddrs,
    services: AgentServices,
    http: JoinHandle<()>,
    http_stop: CancellationToken,
    background: TaskTracker,
    background_stop: CancellationToken,
}

async fn bind(key: &str, port: u16) -> Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
        .await
        .map_err(|e| BeError::io(format!("cannot bind {key} {port}"), e))
}

fn dialable(a: SocketAddr) -> SocketAddr {
    if a.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), a.port())
    } else {
        a
    }
}

/// Start a BE. Ports given as 0 are picked by the kernel; the bound ones are written
/// back into the config, so heartbeats and reports carry the real ports.
pub async fn start(mut config: BeConfig) -> Result<BeHandle> {
    let be_l = bind("be_port", config.be_port).await?;
    let hb_l = bind("heartbeat_service_port", config.heartbeat_service_port).await?;
    let http_l = bind("webserver_port", config.webserver_port).await?;
    let local = |l: &TcpListener| l.local_addr().map_err(|e| BeError::io("reading a bound address", e));
    let (be_a, hb_a, http_a) = (local(&be_l)?, local(&hb_l)?, local(&http_l)?);
    config.be_port = be_a.port();
    config.heartbeat_service_port = hb_a.port();
    config.webserver_port = http_a.port();

    let cfg = config.clone();
    let storage = tokio::task::spawn_blocking(move || StorageEngine::open(&cfg))
        .await
        .map_err(|e| BeError::Internal(format!("opening storage: {e}")))??;
    let recorded_cluster = storage.cluster_id();
    let ctx = BeContext::new(config, storage);
    if let Some(id) = recorded_cluster {
        ctx.master.write().unwrap().cluster_id = id;
    }

    let background = TaskTracker::new();
    let background_stop = CancellationToken::new();
    let services = AgentServices::serve(ctx.clone(), be_l, hb_l, &background, background_stop.clone())?;
    let http_stop = CancellationToken::new();
    let http = tokio::spawn({
        let (ctx, stop) = (ctx.clone(), http_stop.clone());
        async move {
            if let Err(e) = crate::http::serve(ctx, http_l, stop).await {
                error!(error = %e, "the HTTP server stopped");
            }
        }
    });
    background.spawn(sweep_snapshots(ctx.clone(), background_stop.clone()));
    background.spawn(crate::load::gc::run(ctx.clone(), background_stop.clone()));
    background.spawn(crate::load::error_log::run(ctx.clone(), background_stop.clone()));
    background.spawn(crate::cooldown::run(ctx.clone(), background_stop.clone()));

    let addrs = BeAddrs { be: dialable(be_a), heartbeat: dialable(hb_a), http: dialable(http_a) };
    info!(
        be_port = %be_a,
        heartbeat_service_port = %hb_a,
        webserver_port = %http_a,
        brpc_port = ctx.config.brpc_port,
        storage_root_path = ?ctx.config.storage_root_paths,
        cluster_id = ?recorded_cluster,
        "doris-rs BE started"
    );
    let agent = services.agent.clone();
    Ok(BeHandle { ctx, agent, addrs, services, http, http_stop, background, background_stop })
}

async fn sweep_snapshots(ctx: Arc<BeContext>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(SNAPSHOT_SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let storage = ctx.storage.clone();
        match tokio::task::spawn_blocking(move || storage.sweep_expired_snapshots()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => info!(removed = n, "expired snapshots removed"),
            Ok(Err(e)) => warn!(error = %e, "snapshot sweep failed"),
            Err(e) => warn!(error = %e, "snapshot sweep panicked"),
        }
    }
}

impl BeHandle {
    /// Stop taking tasks, let running ones finish (heartbeats meanwhile answer
    /// `is_shutdown`, and the webserver keeps serving pulls), then stop everything else.
    pub async fn shutdown(self) {
        info!("doris-rs BE shutting down");
        self.services.shutdown().await;
        self.http_stop.cancel();
        if let Err(e) = self.http.await {
            warn!(error = %e, "the HTTP server task failed");
        }
        self.background_stop.cancel();
        self.background.close();
        self.background.wait().await;
        info!("doris-rs BE stopped");
    }
}
