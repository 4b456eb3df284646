//! loadTxnBegin / loadTxnCommit / loadTxnRollback. A commit gives each touched partition
//! version = visible_version + 1 and publishes it (`publish`); a publish that does not
//! finish leaves the transaction COMMITTED for the load daemon to retry.

use std::collections::{BTreeMap, BTreeSet};

use doris_thrift::frontend_service::*;
use doris_thrift::status::{TStatus, TStatusCode};
use tracing::{info, warn};

use super::publish::{clear_on_backends, publish};
use super::txn::{TxnRecord, TxnState, DEFAULT_TIMEOUT_S};
use super::Loads;
use crate::context::FeContext;
use crate::error::{ok_status, FeError};

fn status(code: TStatusCode, msg: impl Into<String>) -> TStatus {
    TStatus { status_code: code, error_msgs: Some(vec![msg.into()]) }
}

/// root/admin by password, or the cluster token (the token must match, not merely be set).
fn check_user(ctx: &FeContext, user: &str, passwd: &str, token: Option<&str>) -> Result<(), FeError> {
    let ok = match token.filter(|t| !t.is_empty()) {
        Some(t) => t == ctx.cluster.token,
        None => ctx.check_password(user, passwd),
    };
    if ok {
        Ok(())
    } else {
        Err(FeError::AccessDenied { user: user.to_string(), host: "%".into(), using_password: !passwd.is_empty() })
    }
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
    check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
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
        table_id: table.id,
        label: req.label.clone(),
        state: TxnState::Prepare,
        create_ms: FeContext::now_ms(),
        finish_ms: None,
        reason: None,
        partition_versions: Vec::new(),
        timeout_s: req.timeout.filter(|t| *t > 0).unwrap_or(DEFAULT_TIMEOUT_S),
    };
    ctx.txns.begin(rec)
}

pub async fn rollback(ctx: &Loads, req: TLoadTxnRollbackRequest) -> TLoadTxnRollbackResult {
    let r = (|| {
        check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
        ctx.txns.update(req.txn_id, |t| match t.state {
            // Rolling back twice is fine; the first reason (e.g. a timeout) stays.
            TxnState::Aborted => Ok(()),
            TxnState::Prepare => {
                t.state = TxnState::Aborted;
                t.finish_ms = Some(FeContext::now_ms());
                t.reason = req.reason.clone();
                Ok(())
            }
            s => Err(FeError::IllegalState(format!("transaction [{}] is already {}", t.txn_id, s.name()))),
        })
    })();
    match r {
        Ok(t) => {
            info!(txn_id = t.txn_id, reason = ?t.reason, "load transaction aborted");
            // The coordinator drops the rowsets it wrote too; this reaches the replicas
            // even when it cannot.
            clear_on_backends(ctx, &t);
            TLoadTxnRollbackResult { status: ok_status() }
        }
        Err(e) => TLoadTxnRollbackResult { status: e.to_status() },
    }
}

pub async fn commit(ctx: &Loads, req: TLoadTxnCommitRequest) -> TLoadTxnCommitResult {
    match commit_inner(ctx, &req).await {
        Ok(st) => TLoadTxnCommitResult { status: st },
        Err(e) => {
            warn!(txn_id = req.txn_id, error = %e, "load commit failed");
            TLoadTxnCommitResult { status: e.to_status() }
        }
    }
}

async fn commit_inner(ctx: &Loads, req: &TLoadTxnCommitRequest) -> Result<TStatus, FeError> {
    check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
    let st = &ctx.txns;
    // state_now: a load past its timeout is aborted, not committed.
    let rec = st
        .state_now(req.txn_id, FeContext::now_ms())?
        .ok_or_else(|| FeError::NotFound(format!("transaction [{}]", req.txn_id)))?;
    match rec.state {
        TxnState::Prepare => {}
        TxnState::Visible => return Ok(ok_status()),
        TxnState::Aborted => {
            return Err(FeError::IllegalState(format!(
                "transaction [{}] is already aborted. abort reason: {}",
                rec.txn_id,
                rec.reason.as_deref().unwrap_or("")
            )))
        }
        s => return Err(FeError::IllegalState(format!("transaction [{}] is {}", rec.txn_id, s.name()))),
    }
    let lock = st.table_lock(rec.table_id);
    let guard = lock.clone().lock_owned().await;
    // A COMMITTED load of this table found while holding its lock is waiting for the load
    // daemon's retry (a BE was down, or the FE restarted before publishing). Publish it
    // first: this load's versions must come after its.
    let mut older = st.in_state(TxnState::Committed)?;
    older.retain(|t| t.table_id == rec.table_id);
    older.sort_by_key(|t| t.txn_id);
    for old in older {
        if let Err(e) = publish(ctx, &old).await {
            return Err(FeError::IllegalState(format!(
                "transaction [{}] of this table is committed but not yet published ({e}); try again later",
                old.txn_id
            )));
        }
    }
    let table = ctx
        .catalog
        .table_by_id(rec.table_id)
        .ok_or_else(|| FeError::NotFound(format!("table {} of transaction [{}]", rec.table_id, rec.txn_id)))?;
    // Which partitions the load touched, and were all their replicas written?
    let written: BTreeSet<(i64, i64)> =
        req.commit_infos.iter().flatten().map(|c| (c.tablet_id, c.backend_id)).collect();
    let written_tablets: BTreeSet<i64> = written.iter().map(|(t, _)| *t).collect();
    // Checked under the table's load lock, which a restore takes to hold the table: a load
    // begun before the restore must not land in what the restore overwrites.
    let touched: Vec<i64> = table
        .partitions
        .iter()
        .filter(|p| p.index.tablets.iter().any(|t| written_tablets.contains(&t.id)))
        .map(|p| p.id)
        .collect();
    if let Some(why) = table.load_refusal(&touched) {
        return Err(FeError::IllegalState(why));
    }
    let mut versions: BTreeMap<i64, i64> = BTreeMap::new();
    for p in &table.partitions {
        if !p.index.tablets.iter().any(|t| written_tablets.contains(&t.id)) {
            continue;
        }
        // Every replica must have been written: no majority commit, so a failed replica
        // write aborts the load and nothing of it becomes visible.
        for t in &p.index.tablets {
            for r in &t.replicas {
                if !written.contains(&(t.id, r.backend_id)) {
                    return Err(FeError::InvalidArgument(format!(
                        "Failed to commit txn {}: tablet {} replica on backend {} was not written",
                        rec.txn_id, t.id, r.backend_id
                    )));
                }
            }
        }
        versions.insert(p.id, p.visible_version + 1);
    }
    let pv: Vec<(i64, i64)> = versions.iter().map(|(p, v)| (*p, *v)).collect();
    let rec = st.update(rec.txn_id, |t| {
        if t.state != TxnState::Prepare {
            return Err(FeError::IllegalState(format!("transaction [{}] is {}", t.txn_id, t.state.name())));
        }
        t.state = TxnState::Committed;
        t.partition_versions = pv.clone();
        Ok(())
    })?;
    info!(txn_id = rec.txn_id, versions = ?pv, "load transaction committed");
    let published = publish(ctx, &rec).await;
    drop(guard);
    match published {
        Ok(()) => Ok(ok_status()),
        Err(e) => {
            // Durably COMMITTED: the load daemon retries until every replica published.
            warn!(txn_id = rec.txn_id, error = %e, "publish not finished; the load daemon retries it");
            st.publish_wakeup.notify_one();
            Ok(status(TStatusCode::PUBLISH_TIMEOUT, "transaction commit successfully, BUT data will be visible later"))
        }
    }
}
