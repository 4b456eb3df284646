//! loadTxnBegin / loadTxnCommit / loadTxnRollback, and for two-phase commit loads
//! loadTxnPreCommit / loadTxn2PC: the stream load's transaction calls; commit and rollback
//! are `commit`'s.

use doris_thrift::frontend_service::*;
use doris_thrift::status::{TStatus, TStatusCode};
use tracing::{info, warn};

use super::commit::{self, AbortedAgain, Committed, TxnError};
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
        precommit_ms: None,
        published: Vec::new(),
        written: Vec::new(),
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

/// loadTxnPreCommit: a two-phase-commit load's replicas are written; the transaction waits,
/// PRECOMMITTED, for loadTxn2PC. Checked as loadTxnCommit is: password with LOAD_PRIV on
/// the table, or the cluster token.
pub async fn precommit(ctx: &Loads, req: TLoadTxnCommitRequest) -> TLoadTxnCommitResult {
    let written: Vec<(i64, i64)> = req.commit_infos.iter().flatten().map(|c| (c.tablet_id, c.backend_id)).collect();
    let scope = crate::auth::Scope::table(&req.db, &req.tbl);
    let r = check_load(ctx, &req.user, &req.passwd, req.token.as_deref(), &scope)
        .and_then(|()| commit::precommit(ctx, req.txn_id, &written));
    match r {
        Ok(_) => TLoadTxnCommitResult { status: ok_status() },
        Err(e) => {
            warn!(txn_id = req.txn_id, error = %e, "pre-commit failed");
            TLoadTxnCommitResult { status: e.to_status() }
        }
    }
}

/// loadTxn2PC: the user's `commit` or `abort` of a PRECOMMITTED transaction, named by id or
/// by label (an abort may also name a PREPARE one), with LOAD_PRIV on each of its tables.
pub async fn txn_2pc(ctx: &Loads, req: TLoadTxn2PCRequest) -> TLoadTxn2PCResult {
    let status = match txn_2pc_inner(ctx, &req).await {
        Ok(()) => ok_status(),
        Err(e) => {
            warn!(txn_id = ?req.txn_id, label = ?req.label, op = ?req.operation, error = %e, "two-phase commit refused");
            // Upstream answers a refused operation as ANALYSIS_ERROR with its message.
            match e {
                FeError::Internal(_) => e.to_status(),
                e => status(TStatusCode::ANALYSIS_ERROR, e.to_string()),
            }
        }
    };
    TLoadTxn2PCResult { status }
}

async fn txn_2pc_inner(ctx: &Loads, req: &TLoadTxn2PCRequest) -> Result<(), FeError> {
    check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
    let db_name = req.db.as_deref().filter(|d| !d.is_empty()).ok_or_else(|| FeError::IllegalState("No database selected.".into()))?;
    let db = ctx
        .catalog
        .database(db_name)
        .ok_or_else(|| FeError::IllegalState(format!("unknown database, database={db_name}")))?;
    let op = req.operation.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    if op != "commit" && op != "abort" {
        return Err(FeError::IllegalState("transaction operation should be 'commit' or 'abort'".into()));
    }
    let txn_id = match (req.txn_id, req.label.as_deref().filter(|l| !l.is_empty())) {
        (Some(id), _) => id,
        (None, Some(label)) => {
            let rec = ctx.txns.by_label(db.id, label)?;
            let wanted = |s: TxnState| s == TxnState::Precommitted || (op == "abort" && s == TxnState::Prepare);
            match rec {
                Some(r) if wanted(r.state) => r.txn_id,
                _ => return Err(FeError::IllegalState(format!("transaction not found, label={label}"))),
            }
        }
        (None, None) => return Err(FeError::IllegalState("txn_id or label is required".into())),
    };
    let rec = ctx.txns.get(txn_id)?.filter(|r| r.db_id == db.id).ok_or(TxnError::NotFound(txn_id))?;
    // Privileges on the tables it writes (a dropped table does not stop an abort).
    for id in &rec.table_ids {
        match ctx.catalog.table_by_id(*id) {
            Some(t) => check_load(ctx, &req.user, &req.passwd, req.token.as_deref(), &crate::auth::Scope::table(&db.name, &t.name))?,
            None if op == "abort" => {}
            None => return Err(FeError::IllegalState(format!("unknown table, table_id={id}"))),
        }
    }
    if op == "commit" {
        let r = commit::commit_2pc(ctx, txn_id, (db.id, &db.name)).await?;
        info!(txn_id, published = (r == Committed::Visible), "two-phase commit: committed");
    } else {
        commit::rollback(ctx, txn_id, Some(db.id), Some("User Abort".into()), AbortedAgain::Refuse)?;
        info!(txn_id, "two-phase commit: aborted");
    }
    Ok(())
}
