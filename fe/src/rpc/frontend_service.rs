//! The FrontendService handler: decode, call the domain, encode. Failures travel as a
//! non-OK TStatus with a message a person can act on, never as an exception.

use doris_thrift::frontend_service::*;
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::services::FrontendServiceHandler;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::types::TBackend;
use thrift::ApplicationError;
use tracing::{debug, warn};

use super::{auth, meta, snapshots};
use crate::backup::BackupCtx;
use crate::context::Ctx;
use crate::load::Loads;
use crate::error::{ok_status, FeError};
use crate::system::reports::{self, Reports};

pub struct FrontendRpc {
    ctx: Ctx,
    backup: BackupCtx,
    loads: Loads,
    reports: Reports,
}

impl FrontendRpc {
    pub fn new(backup: BackupCtx, loads: Loads, reports: Reports) -> Self {
        FrontendRpc { ctx: backup.ctx.clone(), backup, loads, reports }
    }
}

type R<T> = Result<T, ApplicationError>;

#[async_trait::async_trait]
impl FrontendServiceHandler for FrontendRpc {
    async fn get_snapshot(&self, request: TGetSnapshotRequest) -> R<TGetSnapshotResult> {
        let master = Some(self.ctx.rpc_address());
        Ok(match snapshots::get_snapshot(&self.backup, &request) {
            Ok(a) => TGetSnapshotResult {
                status: Some(ok_status()),
                meta: Some(a.meta),
                job_info: Some(a.job_info),
                master_address: master,
                compressed: Some(a.compressed),
                expired_at: Some(a.expired_at),
                commit_seq: Some(a.commit_seq),
            },
            Err(e) => TGetSnapshotResult {
                status: Some(e.to_status()),
                meta: None,
                job_info: None,
                master_address: master,
                compressed: None,
                expired_at: None,
                commit_seq: None,
            },
        })
    }

    async fn restore_snapshot(&self, request: TRestoreSnapshotRequest) -> R<TRestoreSnapshotResult> {
        let master = Some(self.ctx.rpc_address());
        let status = match snapshots::restore_snapshot(&self.backup, &request) {
            Ok(_) => ok_status(),
            Err(e) => {
                warn!(error = %e, label = ?request.label_name, "restoreSnapshot refused");
                e.to_status()
            }
        };
        Ok(TRestoreSnapshotResult { status: Some(status), master_address: master })
    }

    async fn get_master_token(&self, req: TGetMasterTokenRequest) -> R<TGetMasterTokenResult> {
        let master = Some(self.ctx.rpc_address());
        match auth::check(&self.ctx, req.user.as_deref(), req.password.as_deref(), None, None) {
            Ok(()) => Ok(TGetMasterTokenResult {
                status: Some(ok_status()),
                token: Some(self.ctx.cluster.token.clone()),
                master_address: master,
            }),
            Err(e) => Ok(TGetMasterTokenResult { status: Some(e.to_status()), token: None, master_address: master }),
        }
    }

    async fn get_backend_meta(&self, req: TGetBackendMetaRequest) -> R<TGetBackendMetaResult> {
        let master = Some(self.ctx.rpc_address());
        if let Err(e) = auth::check(
            &self.ctx,
            req.user.as_deref(),
            req.passwd.as_deref(),
            req.token.as_deref(),
            req.user_ip.as_deref(),
        ) {
            return Ok(TGetBackendMetaResult { status: e.to_status(), backends: None, master_address: master });
        }
        let backends = self
            .ctx
            .backends
            .all()
            .into_iter()
            .filter(|b| req.backend_id.is_none_or(|id| id == b.id))
            .map(|b| TBackend {
                host: b.host.clone(),
                be_port: b.be_port,
                http_port: b.http_port,
                brpc_port: Some(b.brpc_port),
                is_alive: Some(b.alive),
                id: Some(b.id),
            })
            .collect();
        Ok(TGetBackendMetaResult { status: ok_status(), backends: Some(backends), master_address: master })
    }

    async fn get_meta(&self, req: TGetMetaRequest) -> R<TGetMetaResult> {
        let master = Some(self.ctx.rpc_address());
        let r: Result<TGetMetaDBMeta, FeError> = (|| {
            let db = req.db.as_ref().ok_or_else(|| FeError::InvalidArgument("getMeta needs a db".into()))?;
            auth::check_priv(
                &self.ctx,
                req.user.as_deref(),
                req.passwd.as_deref(),
                req.token.as_deref(),
                req.user_ip.as_deref(),
                &crate::auth::Scope::db(&meta_db_name(&self.ctx, db)),
                crate::auth::Priv::Load,
            )?;
            meta::db_meta(&self.ctx, &self.loads.binlogs, db)
        })();
        Ok(match r {
            Ok(m) => TGetMetaResult { status: ok_status(), db_meta: Some(m), master_address: master },
            Err(e) => TGetMetaResult { status: e.to_status(), db_meta: None, master_address: master },
        })
    }

    async fn finish_task(&self, req: TFinishTaskRequest) -> R<TMasterResult> {
        let status = match reports::finish_task(&self.reports, req) {
            Ok(_) => ok_status(),
            Err(e) => {
                warn!(error = %e, "finishTask refused");
                TStatus { status_code: TStatusCode::NOT_FOUND, error_msgs: Some(vec![e.to_string()]) }
            }
        };
        Ok(TMasterResult { status })
    }

    async fn report(&self, req: TReportRequest) -> R<TMasterResult> {
        let status = match reports::apply_report(&self.reports, &req) {
            Ok(()) => ok_status(),
            Err(e) => {
                warn!(error = %e, "report refused");
                let code = match e {
                    reports::ReportError::UnknownBackend(_) => TStatusCode::NOT_FOUND,
                    reports::ReportError::Store(_) => TStatusCode::INTERNAL_ERROR,
                };
                TStatus { status_code: code, error_msgs: Some(vec![e.to_string()]) }
            }
        };
        Ok(TMasterResult { status })
    }

    async fn snapshot_loader_report(&self, req: TSnapshotLoaderReportRequest) -> R<TStatus> {
        debug!(job_id = req.job_id, task_id = req.task_id, "snapshot loader progress");
        Ok(match snapshots::loader_report(&self.backup, req.job_id, req.task_id, req.finished_num, req.total_num) {
            Ok(()) => ok_status(),
            Err(e) => e.to_status(),
        })
    }

    async fn load_txn_begin(&self, req: TLoadTxnBeginRequest) -> R<TLoadTxnBeginResult> {
        Ok(crate::load::rpc::begin(&self.loads, req).await)
    }

    async fn load_txn_commit(&self, req: TLoadTxnCommitRequest) -> R<TLoadTxnCommitResult> {
        Ok(crate::load::rpc::commit(&self.loads, req).await)
    }

    async fn load_txn_pre_commit(&self, req: TLoadTxnCommitRequest) -> R<TLoadTxnCommitResult> {
        Ok(crate::load::rpc::precommit(&self.loads, req).await)
    }

    async fn load_txn_2pc(&self, req: TLoadTxn2PCRequest) -> R<TLoadTxn2PCResult> {
        Ok(crate::load::rpc::txn_2pc(&self.loads, req).await)
    }

    async fn load_txn_rollback(&self, req: TLoadTxnRollbackRequest) -> R<TLoadTxnRollbackResult> {
        Ok(crate::load::rpc::rollback(&self.loads, req).await)
    }

    async fn begin_txn(&self, req: TBeginTxnRequest) -> R<TBeginTxnResult> {
        Ok(crate::load::ccr_txn::begin_txn(&self.loads, req).await)
    }

    async fn commit_txn(&self, req: TCommitTxnRequest) -> R<TCommitTxnResult> {
        Ok(crate::load::ccr_txn::commit_txn(&self.loads, req).await)
    }

    async fn rollback_txn(&self, req: TRollbackTxnRequest) -> R<TRollbackTxnResult> {
        Ok(crate::load::ccr_txn::rollback_txn(&self.loads, req).await)
    }

    async fn confirm_unused_remote_files(
        &self,
        _req: TConfirmUnusedRemoteFilesRequest,
    ) -> R<TConfirmUnusedRemoteFilesResult> {
        // The result has no status field: confirming nothing is the safe answer until
        // cooldown is implemented (no remote file gets deleted).
        Ok(TConfirmUnusedRemoteFilesResult { confirmed_tablets: Some(Vec::new()) })
    }

    async fn get_binlog(&self, request: TGetBinlogRequest) -> R<TGetBinlogResult> {
        Ok(super::binlog::get_binlog(&self.ctx, &self.loads.binlogs, &request))
    }

    async fn get_binlog_lag(&self, request: TGetBinlogRequest) -> R<TGetBinlogLagResult> {
        Ok(super::binlog::get_binlog_lag(&self.ctx, &self.loads.binlogs, &request))
    }

    async fn get_auto_increment_range(&self, request: TAutoIncrementRangeRequest) -> R<TAutoIncrementRangeResult> {
        Ok(crate::load::auto_inc::get_range(&self.ctx, &self.loads.auto_inc, &request))
    }
}

/// The database a getMeta request names, by name or id (empty when neither resolves; the
/// request then fails on its own).
fn meta_db_name(ctx: &crate::context::FeContext, db: &doris_thrift::frontend_service::TGetMetaDB) -> String {
    match (&db.name, db.id) {
        (Some(n), _) if !n.is_empty() => n.clone(),
        (_, Some(id)) => ctx.catalog.database_by_id(id).map(|d| d.name).unwrap_or_default(),
        _ => String::new(),
    }
}
