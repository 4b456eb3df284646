//! loadTxnBegin / loadTxnCommit / loadTxnRollback: the stream load's transaction calls;
//! commit and rollback are `commit`'s.

use doris_thrift::frontend_service::*;
use doris_thrift::status::{TStatus, TStatusCode};
use tracing::{info, warn};

use super::commit::{self, AbortedAgain, Committed};
use super::txn::{TxnRecord, TxnState, DEFAULT_TIMEOUT_S};
use super::Loads;
use crate::context::FeContext;
use crate::error::{ok_status, FeError};

pub(super) fn status(code: TStatusCode, msg: impl Into<String>) -> TStatus {
    TStatus { status_code: code, error_msgs: Some(vec![msg.into()]) }
}

/// A user by password, or the cluster token (the token must match, not merely be set).
pub(super) fn check_user(ctx: &FeContext, user: &str, passwd: &str, token: Option<&str>) -> Result<(), FeError> {
    crate::rpc::auth::check(ctx, Some(user), Some(passwd), token, None)
}

/// [`check_user`], then LOAD_PRIV on `scope` for a caller that gave a password.
pub(super) fn check_load(
    ctx: &FeContext,
    user: &str,
    passwd: &str,
    token: Option<&str>,
    scope: &crate::auth::Scope,
) -> Result<(), FeError> {
    crate::rpc::auth::check_priv(ctx, Some(user), Some(passwd), token, None, scope, crate::auth::Priv::Load)
}

pub async fn begin(ctx: &Loads, req: TLoadTxnBeginRequest) -> TLoadTxnBeginResult {
    match begin_inner(ctx, &req) {
        Ok(Ok(rec)) => {
            info!(txn_id = rec.txn_id, label = %rec.label, "load transaction begun");
            TLoadTxnBeginResult::new(ok_status(), rec.txn_id, None, rec.db_id)
        }
        Ok(Err(old)) => {
            let job_status = match old.state {
                TxnState::Visible => "FINISHED",
                _ => "RUNNING",
            };
            TLoadTxnBeginResult::new(
                status(
                    TStatusCode::LABEL_ALREADY_EXISTS,
                    format!("Label [{}] has already been used, relate to txn [{}]", old.label, old.txn_id),
                ),
                None,
                job_status.to_string(),
                old.db_id,
            )
        }
        Err(e) => TLoadTxnBeginResult::new(e.to_status(), None, None, None),
    }
}

fn begin_inner(ctx: &Loads, req: &TLoadTxnBeginRequest) -> Result<Result<TxnRecord, TxnRecord>, FeError> {
    check_load(ctx, &req.user, &req.passwd, req.token.as_deref(), &crate::auth::Scope::table(&req.db, &req.tbl))?;
    if req.label.is_empty() || req.label.len() > 128 {
        return Err(FeError::InvalidArgument(format!("invalid label '{}'", req.label)));
    }
    let table = ctx.catalog.table(&req.db, &req.tbl).map_err(FeError::from)?;
    // A table a restore made is held whole; partitions held are only known at commit.
    if let Some(why) = table.load_refusal(&[]) {
        return Err(FeError::IllegalState(why));
    }
    let rec = TxnRecord {
        txn_id: ctx.store.next_id()?,
        db_id: table.db_id,
        table_ids: vec![table.id],
        label: req.label.clone(),
        state: TxnState::Prepare,
        create_ms: FeContext::now_ms(),
        commit_ms: None,
        finish_ms: None,
        reason: None,
        coordinator: super::txn::coordinator(req.user_ip.as_deref()),
        partition_versions: Vec::new(),
        timeout_s: req.timeout.filter(|t| *t > 0).unwrap_or(DEFAULT_TIMEOUT_S),
    };
    ctx.txns.begin(rec)
}

pub async fn rollback(ctx: &Loads, req: TLoadTxnRollbackRequest) -> TLoadTxnRollbackResult {
    let r = check_user(ctx, &req.user, &req.passwd, req.token.as_deref())
        .and_then(|()| commit::rollback(ctx, req.txn_id, None, req.reason.clone(), AbortedAgain::Ok));
    match r {
        Ok(_) => TLoadTxnRollbackResult { status: ok_status() },
        Err(e) => TLoadTxnRollbackResult { status: e.to_status() },
    }
}

pub async fn commit(ctx: &Loads, req: TLoadTxnCommitRequest) -> TLoadTxnCommitResult {
    let written: Vec<(i64, i64)> = req.commit_infos.iter().flatten().map(|c| (c.tablet_id, c.backend_id)).collect();
    let r = match check_user(ctx, &req.user, &req.passwd, req.token.as_deref()) {
        Ok(()) => commit::commit(ctx, req.txn_id, None, &written).await,
        Err(e) => Err(e),
    };
    TLoadTxnCommitResult { status: commit_status(req.txn_id, r) }
}

/// The status a commit answers: OK, or upstream's PUBLISH_TIMEOUT when the data becomes
/// visible later.
pub fn commit_status(txn_id: i64, r: Result<Committed, FeError>) -> TStatus {
    match r {
        Ok(Committed::Visible) => ok_status(),
        Ok(Committed::PublishPending) => {
            status(TStatusCode::PUBLISH_TIMEOUT, "transaction commit successfully, BUT data will be visible later")
        }
        Err(e) => {
            warn!(txn_id, error = %e, "commit failed");
            e.to_status()
        }
    }
}
