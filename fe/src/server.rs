//! FE start-up and shutdown: meta store, FrontendService, MySQL port, HTTP port and the
//! heartbeat loop, as one handle so tests run an FE in-process.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use doris_thrift::services::FrontendServiceServer;
use doris_thrift::transport::{ClientPool, ServerOptions, ThriftServer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::catalog::{Catalog, CatalogError};
use crate::config::FeConfig;
use crate::context::{BoundPorts, Ctx, FeContext};
use crate::executor::{FeExecutor, FeUsers};
use crate::persist::{MetaError, MetaStore};
use crate::rpc::FrontendRpc;
use crate::system::backends::Backends;
use crate::system::heartbeat;
use crate::backup::repos::Repositories;
use crate::binlog::Binlogs;
use crate::backup::{BackupCtx, BackupEnv, Jobs};
use crate::cooldown::{Cooldown, Policies};
use crate::load::txn::TxnStore;
use crate::load::Loads;
use crate::system::reports::Reports;
use crate::system::task_queue::AgentTasks;
use crate::tables::TableDdl;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error("loading the catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error("cannot listen on {what} port {port}: {source}")]
    Bind { what: &'static str, port: u16, source: std::io::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("opening the load transactions: {0}")]
    Txns(crate::error::FeError),
}

/// A running FE: its infrastructure and the services built on it (tests reach them here).
pub struct FeHandle {
    pub ctx: Ctx,
    pub tasks: Arc<AgentTasks>,
    pub policies: Arc<Policies>,
    pub backup: BackupCtx,
    pub ddl: TableDdl,
    pub loads: Loads,
    pub reports: Reports,
    pub workload: Arc<crate::workload::WorkloadGroups>,
    pub rpc_addr: SocketAddr,
    pub query_addr: SocketAddr,
    pub http_addr: SocketAddr,
    stop: CancellationToken,
    thrift: ThriftServer,
    running: Vec<JoinHandle<()>>,
}

impl FeHandle {
    /// Stop every service and wait until they let go of the meta store.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.backup.jobs.stop_runners().await;
        self.thrift.shutdown().await;
        for t in self.running {
            let _ = t.await;
        }
        info!("fe stopped");
    }

    /// An executor of SQL statements on this FE, as the MySQL port runs them.
    pub fn executor(&self) -> FeExecutor {
        FeExecutor::new(self.ddl.clone(), self.backup.clone(), self.loads.clone(), self.workload.clone())
    }

    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

async fn bind(what: &'static str, port: u16) -> Result<TcpListener, StartError> {
    TcpListener::bind(("0.0.0.0", port)).await.map_err(|source| StartError::Bind { what, port, source })
}

/// How long HTTP requests in flight get to finish once a shutdown began.
const HTTP_DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn start(config: FeConfig) -> Result<FeHandle, StartError> {
    let store = Arc::new(MetaStore::open(&config.meta_dir)?);
    let cluster = store.start_epoch(config.cluster_id)?;
    let catalog = Catalog::load(store.clone())?;
    let backends = Backends::load(store.clone())?;
    let jobs = Arc::new(Jobs::load(&store, crate::backup::admission_policy(&config))?);
    let repos = Arc::new(Repositories::load(&store)?);
    let policies = Arc::new(Policies::load(&store)?);
    let workload = Arc::new(crate::workload::WorkloadGroups::load(store.clone())?);

    let rpc = bind("rpc", config.rpc_port).await?;
    let query = bind("query", config.query_port).await?;
    let http = bind("http", config.http_port).await?;
    let (rpc_addr, query_addr, http_addr) = (rpc.local_addr()?, query.local_addr()?, http.local_addr()?);
    let ports = BoundPorts { rpc_port: rpc_addr.port(), query_port: query_addr.port(), http_port: http_addr.port() };

    let pool = ClientPool::new();
    let host = config.advertised_host();
    let users = crate::auth::Users::load(store.clone(), &config.root_password, &config.admin_password)?;
    let thrift_opts = ServerOptions { max_message_bytes: config.thrift_max_message_size, ..ServerOptions::default() };
    let ctx: Ctx = Arc::new(FeContext {
        config,
        store,
        cluster,
        catalog,
        users,
        backends,
        pool: pool.clone(),
        host,
        ports,
        start_time_ms: FeContext::now_ms(),
        heartbeat_now: tokio::sync::Notify::new(),
    });
    // The domain services, built once; each module gets a handle with those it uses.
    let tasks = Arc::new(AgentTasks::new(pool, ctx.clone()));
    let txns = TxnStore::of(ctx.store.path().parent().unwrap_or(ctx.store.path())).map_err(StartError::Txns)?;
    let binlogs = Arc::new(Binlogs::load(&ctx.store)?);
    let ddl = TableDdl { ctx: ctx.clone(), tasks: tasks.clone(), policies: policies.clone(), binlogs: binlogs.clone() };
    let backup: BackupCtx =
        Arc::new(BackupEnv {
        ctx: ctx.clone(),
        jobs: jobs.clone(),
        repos,
        tasks: tasks.clone(),
        ddl: ddl.clone(),
        txns: txns.clone(),
        binlogs: binlogs.clone(),
    });
    let loads = Loads { ctx: ctx.clone(), txns, tasks: tasks.clone(), binlogs: binlogs.clone(), auto_inc: Default::default() };
    let reports = Reports { ctx: ctx.clone(), tasks: tasks.clone(), jobs, policies: policies.clone() };
    let cooldown = Cooldown { ctx: ctx.clone(), policies: policies.clone(), tasks: tasks.clone() };
    info!(
        cluster_id = ctx.cluster.cluster_id,
        epoch = ctx.cluster.epoch,
        host = %ctx.host,
        rpc_port = ports.rpc_port,
        query_port = ports.query_port,
        http_port = ports.http_port,
        "fe starting"
    );

    let stop = CancellationToken::new();
    let thrift = ThriftServer::serve(
        rpc,
        Arc::new(FrontendServiceServer(Arc::new(FrontendRpc::new(backup.clone(), loads.clone(), reports.clone())))),
        thrift_opts,
    )?;
    let mut running = Vec::new();
    running.push(tokio::spawn(crate::executor::serve(query, FeExecutor::new(ddl.clone(), backup.clone(), loads.clone(), workload.clone()), FeUsers(ctx.clone()), stop.clone())));
    let app = axum::Router::new().route("/api/health", get(health)).merge(crate::load::router(loads.clone())).with_state(ctx.clone());
    let http_stop = stop.clone();
    running.push(tokio::spawn(async move {
        // As the BE's webserver: streamed answers must not wait for delayed ACKs.
        let http = axum::serve::ListenerExt::tap_io(http, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(http, app).with_graceful_shutdown(http_stop.clone().cancelled_owned());
        // A stream load whose client stalls mid-body must not hold the FE's shutdown.
        let overdue = async {
            http_stop.cancelled().await;
            tokio::time::sleep(HTTP_DRAIN_GRACE).await;
        };
        tokio::select! {
            _ = std::future::IntoFuture::into_future(server) => {}
            _ = overdue => warn!("HTTP requests still running after the shutdown grace; left behind"),
        }
    }));
    running.push(tokio::spawn(heartbeat::run(ctx.clone(), stop.clone())));
    running.push(tokio::spawn(crate::backup::local_snapshots::run_expiry(backup.clone(), stop.clone())));
    // Storage policies to the BEs, cooldown replicas chosen and pushed.
    running.push(tokio::spawn(crate::cooldown::run(cooldown, stop.clone())));
    // Publishes loads committed but not yet visible (also those from before a restart).
    running.push(tokio::spawn(crate::load::publish::run(loads.clone(), stop.clone())));
    // Lagging replicas (a load they missed) cloned from healthy ones once their BE is back.
    running.push(tokio::spawn(crate::load::repair::run(loads.clone(), stop.clone())));
    running.push(tokio::spawn(crate::binlog::daemon::run(ctx.clone(), loads.binlogs.clone(), stop.clone())));
    // Unfinished jobs continue from their stored state once the BEs are heard from.
    crate::backup::resume_all(&backup);
    // Temporary partitions of overwrites a crash interrupted; BEs not yet heard from drop
    // their tablets as orphans when they next report.
    let leftovers = ddl.clone();
    tokio::spawn(async move { crate::tables::drop_leftovers(&leftovers).await });
    Ok(FeHandle { ctx, tasks, policies, backup, ddl, loads, reports, workload, rpc_addr, query_addr, http_addr, stop, thrift, running })
}

/// Upstream's health answer: backend counts.
async fn health(axum::extract::State(ctx): axum::extract::State<Ctx>) -> axum::Json<serde_json::Value> {
    let all = ctx.backends.all();
    let online = all.iter().filter(|b| b.alive).count();
    axum::Json(serde_json::json!({
        "msg": "success",
        "code": 0,
        "data": { "online_backend_num": online, "total_backend_num": all.len() },
        "count": 0
    }))
}
