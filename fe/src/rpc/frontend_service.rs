//! The FrontendService handler: decode, call the domain, encode. Failures travel as a
//! non-OK TStatus with a message a person can act on, never as an exception.

use doris_thrift::frontend_service::*;
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::services::FrontendServiceHandler;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::types::TBackend;
use thrift::ApplicationError;
use tracing::{debug, warn};

use super::{auth, meta};
use crate::context::Ctx;
use crate::error::{ok_status, FeError};
use crate::system::reports;

pub struct FrontendRpc {
    ctx: Ctx,
}

impl FrontendRpc {
    pub fn new(ctx: Ctx) -> Self {
        FrontendRpc { ctx }
    }
}

fn not_implemented(method: &str, what: &str) -> TStatus {
    TStatus {
        status_code: TStatusCode::NOT_IMPLEMENTED_ERROR,
        error_msgs: Some(vec![format!("{method} is not implemented by doris-rs yet ({what})")]),
    }
}

type R<T> = Result<T, ApplicationError>;

#[async_trait::async_trait]
impl FrontendServiceHandler for FrontendRpc {
    async fn get_snapshot(&self, _request: TGetSnapshotRequest) -> R<TGetSnapshotResult> {
        Ok(TGetSnapshotResult {
            status: Some(not_implemented("getSnapshot", "backup and local snapshots come in a later version")),
            meta: None,
            job_info: None,
            master_address: Some(self.ctx.rpc_address()),
            compressed: None,
            expired_at: None,
            commit_seq: None,
        })
    }

    async fn restore_snapshot(&self, _request: TRestoreSnapshotRequest) -> R<TRestoreSnapshotResult> {
        Ok(TRestoreSnapshotResult {
            status: Some(not_implemented("restoreSnapshot", "restore jobs come in a later version")),
            master_address: Some(self.ctx.rpc_address()),
        })
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
            auth::check(
                &self.ctx,
                req.user.as_deref(),
                req.passwd.as_deref(),
                req.token.as_deref(),
                req.user_ip.as_deref(),
            )?;
            let db = req.db.as_ref().ok_or_else(|| FeError::InvalidArgument("getMeta needs a db".into()))?;
            meta::db_meta(&self.ctx, db)
        })();
        Ok(match r {
            Ok(m) => TGetMetaResult { status: ok_status(), db_meta: Some(m), master_address: master },
            Err(e) => TGetMetaResult { status: e.to_status(), db_meta: None, master_address: master },
        })
    }

    async fn finish_task(&self, req: TFinishTaskRequest) -> R<TMasterResult> {
        let status = match reports::finish_task(&self.ctx, req) {
            Ok(_) => ok_status(),
            Err(e) => {
                warn!(error = %e, "finishTask refused");
                TStatus { status_code: TStatusCode::NOT_FOUND, error_msgs: Some(vec![e.to_string()]) }
            }
        };
        Ok(TMasterResult { status })
    }

    async fn report(&self, req: TReportRequest) -> R<TMasterResult> {
        let status = match reports::apply_report(&self.ctx, &req) {
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
        Ok(ok_status())
    }

    async fn load_txn_begin(&self, _req: TLoadTxnBeginRequest) -> R<TLoadTxnBeginResult> {
        Ok(TLoadTxnBeginResult::new(not_implemented("loadTxnBegin", "loads come in a later version"), None, None, None))
    }

    async fn load_txn_commit(&self, _req: TLoadTxnCommitRequest) -> R<TLoadTxnCommitResult> {
        Ok(TLoadTxnCommitResult { status: not_implemented("loadTxnCommit", "loads come in a later version") })
    }

    async fn load_txn_rollback(&self, _req: TLoadTxnRollbackRequest) -> R<TLoadTxnRollbackResult> {
        Ok(TLoadTxnRollbackResult { status: not_implemented("loadTxnRollback", "loads come in a later version") })
    }

    async fn confirm_unused_remote_files(
        &self,
        _req: TConfirmUnusedRemoteFilesRequest,
    ) -> R<TConfirmUnusedRemoteFilesResult> {
        // The result has no status field: confirming nothing is the safe answer until
        // cooldown is implemented (no remote file gets deleted).
        Ok(TConfirmUnusedRemoteFilesResult { confirmed_tablets: Some(Vec::new()) })
    }
}
