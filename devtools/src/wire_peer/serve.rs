//! `wire-peer serve`: the fixture handlers of `fixtures` on one port per service.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use doris_thrift::agent_service::{TAgentResult, TAgentTaskRequest, TSnapshotRequest};
use doris_thrift::backend_service::{
    TIngestBinlogRequest, TIngestBinlogResult, TQueryIngestBinlogRequest, TQueryIngestBinlogResult, TTabletStatResult,
};
use doris_thrift::frontend_service::*;
use doris_thrift::heartbeat_service::{THeartbeatResult, TMasterInfo};
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::services::{
    BackendServiceHandler, BackendServiceServer, FrontendServiceHandler, FrontendServiceServer,
    HeartbeatServiceHandler, HeartbeatServiceServer,
};
use doris_thrift::status::TStatus;
use doris_thrift::transport::{ServerOptions, Service, ThriftServer};
use thrift::ApplicationError;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::info;

use super::fixtures as fx;

type R<T> = Result<T, ApplicationError>;

/// Serves every method with the fixture rules; stateless.
pub struct Fixtures;

#[async_trait]
impl BackendServiceHandler for Fixtures {
    async fn submit_tasks(&self, tasks: Vec<TAgentTaskRequest>) -> R<TAgentResult> {
        Ok(fx::submit_tasks(&tasks))
    }
    async fn make_snapshot(&self, r: TSnapshotRequest) -> R<TAgentResult> {
        Ok(fx::make_snapshot(&r))
    }
    async fn release_snapshot(&self, path: String) -> R<TAgentResult> {
        Ok(fx::release_snapshot(&path))
    }
    async fn ingest_binlog(&self, r: TIngestBinlogRequest) -> R<TIngestBinlogResult> {
        Ok(fx::ingest_binlog(&r))
    }
    async fn query_ingest_binlog(&self, r: TQueryIngestBinlogRequest) -> R<TQueryIngestBinlogResult> {
        Ok(fx::query_ingest_binlog(&r))
    }
    async fn get_tablet_stat(&self) -> R<TTabletStatResult> {
        Ok(fx::tablet_stat())
    }
}

#[async_trait]
impl HeartbeatServiceHandler for Fixtures {
    async fn heartbeat(&self, m: TMasterInfo) -> R<THeartbeatResult> {
        Ok(fx::heartbeat(&m))
    }
}

#[async_trait]
impl FrontendServiceHandler for Fixtures {
    async fn get_snapshot(&self, r: TGetSnapshotRequest) -> R<TGetSnapshotResult> {
        Ok(fx::get_snapshot(&r))
    }
    async fn restore_snapshot(&self, r: TRestoreSnapshotRequest) -> R<TRestoreSnapshotResult> {
        Ok(fx::restore_snapshot(&r))
    }
    async fn get_master_token(&self, r: TGetMasterTokenRequest) -> R<TGetMasterTokenResult> {
        match fx::get_master_token(&r) {
            Some(v) => Ok(v),
            // On purpose: the server must turn this into INTERNAL_ERROR and live on.
            None => panic!("fixture panic requested by the magic user"),
        }
    }
    async fn get_backend_meta(&self, r: TGetBackendMetaRequest) -> R<TGetBackendMetaResult> {
        Ok(fx::get_backend_meta(&r))
    }
    async fn get_meta(&self, r: TGetMetaRequest) -> R<TGetMetaResult> {
        Ok(fx::get_meta(&r))
    }
    async fn finish_task(&self, r: TFinishTaskRequest) -> R<TMasterResult> {
        Ok(fx::finish_task(&r))
    }
    async fn report(&self, r: TReportRequest) -> R<TMasterResult> {
        Ok(fx::report(&r))
    }
    async fn snapshot_loader_report(&self, r: TSnapshotLoaderReportRequest) -> R<TStatus> {
        Ok(fx::snapshot_loader_report(&r))
    }
    async fn load_txn_begin(&self, r: TLoadTxnBeginRequest) -> R<TLoadTxnBeginResult> {
        Ok(fx::load_txn_begin(&r))
    }
    async fn load_txn_commit(&self, r: TLoadTxnCommitRequest) -> R<TLoadTxnCommitResult> {
        Ok(fx::load_txn_commit(&r))
    }
    async fn load_txn_rollback(&self, r: TLoadTxnRollbackRequest) -> R<TLoadTxnRollbackResult> {
        Ok(fx::load_txn_rollback(&r))
    }
    async fn load_txn_pre_commit(&self, r: TLoadTxnCommitRequest) -> R<TLoadTxnCommitResult> {
        Ok(fx::load_txn_pre_commit(&r))
    }
    async fn load_txn_2pc(&self, r: TLoadTxn2PCRequest) -> R<TLoadTxn2PCResult> {
        Ok(fx::load_txn_2pc(&r))
    }
    async fn get_auto_increment_range(&self, r: TAutoIncrementRangeRequest) -> R<TAutoIncrementRangeResult> {
        Ok(fx::get_auto_increment_range(&r))
    }
    async fn confirm_unused_remote_files(
        &self,
        r: TConfirmUnusedRemoteFilesRequest,
    ) -> R<TConfirmUnusedRemoteFilesResult> {
        Ok(fx::confirm_unused_remote_files(&r))
    }
    async fn get_binlog(&self, r: TGetBinlogRequest) -> R<TGetBinlogResult> {
        Ok(fx::get_binlog(&r))
    }
    async fn get_binlog_lag(&self, r: TGetBinlogRequest) -> R<TGetBinlogLagResult> {
        Ok(fx::get_binlog_lag(&r))
    }
    async fn begin_txn(&self, r: TBeginTxnRequest) -> R<TBeginTxnResult> {
        Ok(fx::begin_txn(&r))
    }
    async fn commit_txn(&self, r: TCommitTxnRequest) -> R<TCommitTxnResult> {
        Ok(fx::commit_txn(&r))
    }
    async fn rollback_txn(&self, r: TRollbackTxnRequest) -> R<TRollbackTxnResult> {
        Ok(fx::rollback_txn(&r))
    }
}

/// Which services to serve, parsed from `be,heartbeat,fe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    Be,
    Heartbeat,
    Fe,
}

pub async fn run(host: &str, port: u16, services: &[Which]) -> Result<(), String> {
    // Before the first "listening" line: a test may stop us as soon as it has read it.
    let mut stop = Stop::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let fixtures = Arc::new(Fixtures);
    let mut servers = Vec::new();
    for (i, which) in services.iter().enumerate() {
        let service: Arc<dyn Service> = match which {
            Which::Be => Arc::new(BackendServiceServer(fixtures.clone())),
            Which::Heartbeat => Arc::new(HeartbeatServiceServer(fixtures.clone())),
            Which::Fe => Arc::new(FrontendServiceServer(fixtures.clone())),
        };
        // A fixed base port gives consecutive ports in the order asked; 0 lets the OS pick.
        let p = if port == 0 { 0 } else { port.checked_add(i as u16).ok_or("port out of range")? };
        let name = service.name();
        let srv = ThriftServer::bind(&format!("{host}:{p}"), service, ServerOptions::default())
            .await
            .map_err(|e| format!("cannot bind {name} on {host}:{p}: {e}"))?;
        println!("{name} listening on {}", srv.local_addr());
        std::io::stdout().flush().map_err(|e| format!("stdout: {e}"))?;
        info!(service = name, addr = %srv.local_addr(), "wire peer serving");
        servers.push(srv);
    }
    stop.wait().await;
    for srv in servers {
        srv.shutdown().await;
    }
    Ok(())
}

/// SIGTERM or SIGINT, registered up front.
struct Stop {
    term: Signal,
    int: Signal,
}

impl Stop {
    fn install() -> std::io::Result<Self> {
        Ok(Stop { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
