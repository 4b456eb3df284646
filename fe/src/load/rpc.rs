//! loadTxnBegin / loadTxnCommit / loadTxnRollback, and the publish that makes a committed
//! load visible: each touched partition gets version = visible_version + 1, every replica
//! BE gets a PUBLISH_VERSION task, and once all finished the partitions' visible versions
//! move (persisted in the catalog).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use doris_thrift::agent_service::{TPartitionVersionInfo, TPublishVersionRequest};
use doris_thrift::frontend_service::*;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::types::TTaskType;
use tracing::{info, warn};

use super::txn::{TxnRecord, TxnState, TxnStore};
use crate::context::{Ctx, FeContext};
use crate::error::{ok_status, FeError};
use crate::system::task_queue::{new_task, AgentTask};

/// How long a commit waits for the BEs' PUBLISH_VERSION answers before it answers
/// PUBLISH_TIMEOUT and keeps retrying in the background.
const PUBLISH_WAIT: Duration = Duration::from_secs(30);
const PUBLISH_RETRY_EVERY: Duration = Duration::from_secs(3);

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

fn store(ctx: &FeContext) -> Result<std::sync::Arc<TxnStore>, FeError> {
    TxnStore::of(ctx.store.path().parent().unwrap_or(ctx.store.path()))
}

pub async fn begin(ctx: &Ctx, req: TLoadTxnBeginRequest) -> TLoadTxnBeginResult {
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

fn begin_inner(ctx: &FeContext, req: &TLoadTxnBeginRequest) -> Result<Result<TxnRecord, TxnRecord>, FeError> {
    check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
    if req.label.is_empty() || req.label.len() > 128 {
        return Err(FeError::InvalidArgument(format!("invalid label '{}'", req.label)));
    }
    let table = ctx.catalog.table(&req.db, &req.tbl).map_err(FeError::from)?;
    let rec = TxnRecord {
        txn_id: ctx.store.next_id().map_err(|e| FeError::Internal(e.to_string()))?,
        db_id: table.db_id,
        table_id: table.id,
        label: req.label.clone(),
        state: TxnState::Prepare,
        create_ms: FeContext::now_ms(),
        finish_ms: None,
        reason: None,
        partition_versions: Vec::new(),
    };
    store(ctx)?.begin(rec)
}

pub async fn rollback(ctx: &Ctx, req: TLoadTxnRollbackRequest) -> TLoadTxnRollbackResult {
    let r = (|| {
        check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
        store(ctx)?.update(req.txn_id, |t| match t.state {
            TxnState::Prepare | TxnState::Aborted => {
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
            TLoadTxnRollbackResult { status: ok_status() }
        }
        Err(e) => TLoadTxnRollbackResult { status: e.to_status() },
    }
}

pub async fn commit(ctx: &Ctx, req: TLoadTxnCommitRequest) -> TLoadTxnCommitResult {
    match commit_inner(ctx, &req).await {
        Ok(st) => TLoadTxnCommitResult { status: st },
        Err(e) => {
            warn!(txn_id = req.txn_id, error = %e, "load commit failed");
            TLoadTxnCommitResult { status: e.to_status() }
        }
    }
}

async fn commit_inner(ctx: &Ctx, req: &TLoadTxnCommitRequest) -> Result<TStatus, FeError> {
    check_user(ctx, &req.user, &req.passwd, req.token.as_deref())?;
    let st = store(ctx)?;
    let rec = st.get(req.txn_id)?.ok_or_else(|| FeError::NotFound(format!("transaction [{}]", req.txn_id)))?;
    match rec.state {
        TxnState::Prepare => {}
        TxnState::Visible => return Ok(ok_status()),
        s => return Err(FeError::IllegalState(format!("transaction [{}] is {}", rec.txn_id, s.name()))),
    }
    let lock = st.table_lock(rec.table_id);
    let guard = lock.clone().lock_owned().await;
    // A COMMITTED load of this table found while holding its lock has nobody publishing it
    // (the retry loop keeps the lock until it succeeds): it was committed before an FE
    // restart. Publish it first, so versions stay in order.
    for old in st.in_state(TxnState::Committed)?.into_iter().filter(|t| t.table_id == rec.table_id) {
        let table = ctx.catalog.table_by_id(old.table_id);
        let bes: BTreeSet<i64> = table
            .iter()
            .flat_map(|t| t.partitions.iter())
            .filter(|p| old.partition_versions.iter().any(|(id, _)| *id == p.id))
            .flat_map(|p| p.index.tablets.iter().flat_map(|t| t.replicas.iter().map(|r| r.backend_id)))
            .collect();
        if !publish(ctx, &old, &bes).await {
            return Err(FeError::IllegalState(format!(
                "transaction [{}] of this table is committed but not yet published; try again later",
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
    let mut versions: BTreeMap<i64, i64> = BTreeMap::new();
    let mut backends: BTreeSet<i64> = BTreeSet::new();
    for p in &table.partitions {
        if !p.index.tablets.iter().any(|t| written_tablets.contains(&t.id)) {
            continue;
        }
        for t in &p.index.tablets {
            for r in &t.replicas {
                if !written.contains(&(t.id, r.backend_id)) {
                    return Err(FeError::InvalidArgument(format!(
                        "Failed to commit txn {}: tablet {} replica on backend {} was not written",
                        rec.txn_id, t.id, r.backend_id
                    )));
                }
                backends.insert(r.backend_id);
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
    if publish(ctx, &rec, &backends).await {
        drop(guard);
        return Ok(ok_status());
    }
    // Keep the table lock and retry until every replica published: a later load may not
    // take the next version before this one is visible.
    let ctx2 = ctx.clone();
    tokio::spawn(async move {
        let _guard = guard;
        loop {
            tokio::time::sleep(PUBLISH_RETRY_EVERY).await;
            if publish(&ctx2, &rec, &backends).await {
                break;
            }
        }
    });
    Ok(status(
        TStatusCode::PUBLISH_TIMEOUT,
        "transaction commit successfully, BUT data will be visible later",
    ))
}

/// Send PUBLISH_VERSION to every backend and wait; on success move the partitions'
/// visible versions and mark the transaction VISIBLE. False when some BE did not publish.
async fn publish(ctx: &FeContext, rec: &TxnRecord, backends: &BTreeSet<i64>) -> bool {
    let infos: Vec<TPartitionVersionInfo> =
        rec.partition_versions.iter().map(|(p, v)| TPartitionVersionInfo::new(*p, *v, 0)).collect();
    let mut tasks = Vec::new();
    for be in backends {
        let Some(addr) = ctx.backends.get(*be).and_then(|b| b.be_addr()) else {
            warn!(txn_id = rec.txn_id, backend_id = be, "backend address unknown; cannot publish");
            return false;
        };
        let mut t = new_task(TTaskType::PUBLISH_VERSION, rec.txn_id);
        t.publish_version_req = Some(Box::new(TPublishVersionRequest::new(rec.txn_id, infos.clone(), None, None)));
        tasks.push(AgentTask { backend_id: *be, addr, request: t });
    }
    if let Err(e) = ctx.tasks.run(tasks, PUBLISH_WAIT).await {
        warn!(txn_id = rec.txn_id, error = %e, "publish not finished");
        return false;
    }
    let now = FeContext::now_ms();
    let pv = rec.partition_versions.clone();
    if let Err(e) = ctx.catalog.update_table(rec.table_id, |t| {
        for p in t.partitions.iter_mut() {
            if let Some((_, v)) = pv.iter().find(|(id, _)| *id == p.id) {
                p.visible_version = p.visible_version.max(*v);
                p.visible_version_time_ms = now;
                // Every replica published (the tasks above all finished OK); row counts
                // and sizes follow with the BEs' next tablet report.
                for t in p.index.tablets.iter_mut() {
                    for r in t.replicas.iter_mut() {
                        r.version = r.version.max(*v);
                    }
                }
            }
        }
    }) {
        warn!(txn_id = rec.txn_id, error = %e, "cannot persist the new visible versions");
        return false;
    }
    let st = match store(ctx) {
        Ok(s) => s,
        Err(_) => return false,
    };
    if let Err(e) = st.update(rec.txn_id, |t| {
        t.state = TxnState::Visible;
        t.finish_ms = Some(now);
        Ok(())
    }) {
        warn!(txn_id = rec.txn_id, error = %e, "cannot mark the transaction visible");
    }
    info!(txn_id = rec.txn_id, versions = ?pv, "load visible");
    true
}
