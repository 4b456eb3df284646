//! Commit of a PREPARE transaction, for stream loads (loadTxnCommit) and for the
//! transactions a CCR syncer drives (commitTxn), or of a PRECOMMITTED one (a two-phase
//! commit load, by loadTxn2PC): check each tablet of the touched partitions was written
//! on a quorum of its replicas (upstream's `loadRequiredReplicaNum`), record which wrote,
//! give each touched partition version = visible_version + 1, and publish. A publish that does not finish leaves the transaction COMMITTED for the load
//! daemon to retry; rollback of a PREPARE transaction.

use std::collections::{BTreeMap, BTreeSet};

use tracing::{info, warn};

use super::publish::{clear_on_backends, publish};
use super::txn::{TxnRecord, TxnState};
use super::Loads;
use crate::context::FeContext;
use crate::error::FeError;

/// A transaction refused, in upstream's words (the CCR syncer matches "transaction [N] not
/// found", "is already aborted" and "is already COMMITTED").
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error("transaction [{0}] not found")]
    NotFound(i64),
    #[error("transaction [{txn_id}] is already aborted. abort reason: {reason}")]
    Aborted { txn_id: i64, reason: String },
    #[error("transaction [{txn_id}] is already {state}, could not abort")]
    CannotAbort { txn_id: i64, state: &'static str },
    #[error("transaction [{txn_id}] is {state}")]
    NotRunning { txn_id: i64, state: &'static str },
    #[error("transaction [{txn_id}] is {state}, not PRECOMMITTED: only a pre-committed transaction can be committed by two-phase commit")]
    NotPrecommitted { txn_id: i64, state: &'static str },
    #[error("transaction [{txn_id}] is already PRECOMMITTED: commit or abort it with two-phase commit")]
    Precommitted { txn_id: i64 },
    #[error("transaction [{txn_id}] does not belong to database {db}")]
    OtherDatabase { txn_id: i64, db: String },
    /// Upstream's text (DatabaseTransactionMgr) for a tablet written on fewer replicas than
    /// its quorum.
    #[error("Failed to commit txn {txn_id}, cause tablet {tablet_id} succ replica num {succ} < load required replica num {required}. table {table_id}, partition: [ id={partition_id}, commit version {commit_version}, visible version {visible_version} ], this tablet detail: {detail}")]
    QuorumFailed {
        txn_id: i64,
        tablet_id: i64,
        succ: usize,
        required: usize,
        table_id: i64,
        partition_id: i64,
        commit_version: i64,
        visible_version: i64,
        detail: String,
    },
    #[error("Failed to commit txn {txn_id}: tablet {tablet_id} is not a tablet of its tables")]
    ForeignTablet { txn_id: i64, tablet_id: i64 },
    #[error("transaction [{txn_id}] of this table is committed but not yet published ({why}); try again later")]
    EarlierUnpublished { txn_id: i64, why: String },
}

impl From<TxnError> for FeError {
    fn from(e: TxnError) -> Self {
        match e {
            e @ (TxnError::QuorumFailed { .. } | TxnError::ForeignTablet { .. }) => FeError::InvalidArgument(e.to_string()),
            e => FeError::IllegalState(e.to_string()),
        }
    }
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Every replica published: the data is visible.
    Visible,
    /// Durably COMMITTED; the load daemon publishes it (upstream's PUBLISH_TIMEOUT).
    PublishPending,
}

/// Commit transaction `txn_id` given the replicas written (`(tablet id, backend id)`).
/// `db_id`, when given, is the database the caller names: a transaction of another one is
/// refused. A PREPARE transaction is committed by loadTxnCommit/commitTxn; a PRECOMMITTED
/// one only by a two-phase commit, with the replicas it recorded (see [`commit_2pc`]).
pub async fn commit(ctx: &Loads, txn_id: i64, db: Option<(i64, &str)>, written: &[(i64, i64)]) -> Result<Committed, FeError> {
    commit_from(ctx, txn_id, db, TxnState::Prepare, written).await
}

/// The user's commit of PRECOMMITTED transaction `txn_id` (loadTxn2PC `commit`).
pub async fn commit_2pc(ctx: &Loads, txn_id: i64, db: (i64, &str)) -> Result<Committed, FeError> {
    let rec = ctx.txns.state_now(txn_id, FeContext::now_ms())?.ok_or(TxnError::NotFound(txn_id))?;
    commit_from(ctx, txn_id, Some(db), TxnState::Precommitted, &rec.written).await
}

/// Record PREPARE transaction `txn_id` as PRECOMMITTED with the replicas written
/// (loadTxnPreCommit): they are checked as a commit checks them, but no version is
/// assigned; the rowsets stay pending on the BEs until [`commit_2pc`] or an abort.
pub fn precommit(ctx: &Loads, txn_id: i64, written: &[(i64, i64)]) -> Result<TxnRecord, FeError> {
    let st = &ctx.txns;
    let rec = st.state_now(txn_id, FeContext::now_ms())?.ok_or(TxnError::NotFound(txn_id))?;
    match rec.state {
        TxnState::Prepare => {}
        TxnState::Aborted => {
            return Err(TxnError::Aborted { txn_id, reason: rec.reason.clone().unwrap_or_default() }.into());
        }
        s => return Err(TxnError::NotRunning { txn_id, state: s.name() }.into()),
    }
    plan_versions(ctx, &rec, written)?;
    let rec = st.update(txn_id, |t| {
        if t.state != TxnState::Prepare {
            return Err(TxnError::NotRunning { txn_id, state: t.state.name() }.into());
        }
        t.state = TxnState::Precommitted;
        t.precommit_ms = Some(FeContext::now_ms());
        t.written = written.to_vec();
        Ok(())
    })?;
    info!(txn_id, "transaction pre-committed");
    Ok(rec)
}

async fn commit_from(
    ctx: &Loads,
    txn_id: i64,
    db: Option<(i64, &str)>,
    from: TxnState,
    written: &[(i64, i64)],
) -> Result<Committed, FeError> {
    let st = &ctx.txns;
    // state_now: a transaction past its timeout is aborted, not committed.
    let rec = st.state_now(txn_id, FeContext::now_ms())?.ok_or(TxnError::NotFound(txn_id))?;
    if let Some((db_id, name)) = db {
        if rec.db_id != db_id {
            return Err(TxnError::OtherDatabase { txn_id, db: name.to_string() }.into());
        }
    }
    match rec.state {
        s if s == from => {}
        TxnState::Prepare => return Err(TxnError::NotPrecommitted { txn_id, state: rec.state.name() }.into()),
        TxnState::Precommitted => return Err(TxnError::Precommitted { txn_id }.into()),
        TxnState::Visible => return Ok(Committed::Visible),
        TxnState::Aborted => {
            return Err(TxnError::Aborted { txn_id, reason: rec.reason.clone().unwrap_or_default() }.into());
        }
        TxnState::Committed => return Ok(Committed::PublishPending),
    }
    let guards = st.lock_tables(&rec).await;
    // A COMMITTED transaction over one of these tables found while holding their locks is
    // waiting for the load daemon's retry (a BE was down, or the FE restarted before
    // publishing). Publish it first: this one's versions must come after its.
    // One that also writes tables whose locks are not held is left to the daemon.
    let mut older = st.in_state(TxnState::Committed)?;
    older.retain(|t| t.table_ids.iter().any(|id| rec.writes(*id)));
    older.sort_by_key(|t| t.txn_id);
    for old in older {
        if !old.table_ids.iter().all(|id| rec.writes(*id)) {
            let why = "it spans other tables too".to_string();
            return Err(TxnError::EarlierUnpublished { txn_id: old.txn_id, why }.into());
        }
        if let Err(e) = publish(ctx, &old).await {
            return Err(TxnError::EarlierUnpublished { txn_id: old.txn_id, why: e.to_string() }.into());
        }
    }
    let versions = plan_versions(ctx, &rec, written)?;
    let rec = st.update(txn_id, |t| {
        if t.state != from {
            return Err(TxnError::NotRunning { txn_id, state: t.state.name() }.into());
        }
        t.state = TxnState::Committed;
        t.commit_ms = Some(FeContext::now_ms());
        t.partition_versions = versions.clone();
        // Which replicas wrote: publish waits for a quorum of them, the others lag.
        t.written = written.to_vec();
        Ok(())
    })?;
    info!(txn_id, versions = ?rec.partition_versions, "transaction committed");
    let published = publish(ctx, &rec).await;
    drop(guards);
    match published {
        Ok(()) => Ok(Committed::Visible),
        Err(e) => {
            warn!(txn_id, error = %e, "publish not finished; the load daemon retries it");
            st.publish_wakeup.notify_one();
            Ok(Committed::PublishPending)
        }
    }
}

/// The (partition, version) pairs a commit of `rec` assigns: the partitions of its tables
/// whose tablets were written, each at its visible version + 1. Each tablet of such a
/// partition must have been written on a quorum of its replicas (the others are marked
/// lagging at publish and repaired by CLONE), and every tablet named must belong to one
/// of its tables. Checked under the tables' locks, which a restore takes to hold a
/// table: a transaction begun before the restore must not land in what it overwrites.
fn plan_versions(ctx: &Loads, rec: &TxnRecord, written: &[(i64, i64)]) -> Result<Vec<(i64, i64)>, FeError> {
    let written: BTreeSet<(i64, i64)> = written.iter().copied().collect();
    let mut unknown: BTreeSet<i64> = written.iter().map(|(t, _)| *t).collect();
    let mut versions: BTreeMap<i64, i64> = BTreeMap::new();
    for id in &rec.table_ids {
        let table = ctx
            .catalog
            .table_by_id(*id)
            .ok_or_else(|| FeError::NotFound(format!("table {id} of transaction [{}]", rec.txn_id)))?;
        let touched: Vec<i64> = table
            .loadable_partitions()
            .filter(|p| p.index.tablets.iter().any(|t| unknown.contains(&t.id)))
            .map(|p| p.id)
            .collect();
        if let Some(why) = table.load_refusal(&touched) {
            return Err(FeError::IllegalState(why));
        }
        for p in table.loadable_partitions().filter(|p| touched.contains(&p.id)) {
            for t in &p.index.tablets {
                unknown.remove(&t.id);
                // A lagging replica's write does not count: it misses earlier versions.
                let (succ, failed): (Vec<_>, Vec<_>) =
                    t.replicas.iter().partition(|r| written.contains(&(t.id, r.backend_id)) && !r.is_lagging());
                let required = load_required_replica_num(t.replicas.len());
                if succ.len() < required {
                    let ids = |v: &[&crate::catalog::Replica]| v.iter().map(|r| r.backend_id.to_string()).collect::<Vec<_>>().join(",");
                    return Err(TxnError::QuorumFailed {
                        txn_id: rec.txn_id,
                        tablet_id: t.id,
                        succ: succ.len(),
                        required,
                        table_id: table.id,
                        partition_id: p.id,
                        commit_version: p.visible_version,
                        visible_version: p.visible_version,
                        detail: format!("succ replica backends: [{}], write failed replica backends: [{}]", ids(&succ), ids(&failed)),
                    }
                    .into());
                }
            }
            versions.insert(p.id, p.visible_version + 1);
        }
    }
    if let Some(t) = unknown.first() {
        return Err(TxnError::ForeignTablet { txn_id: rec.txn_id, tablet_id: *t }.into());
    }
    Ok(versions.into_iter().collect())
}

/// Replicas of a tablet with `replicas` replicas that a load must write, and that must
/// publish a version before it is visible: a majority (upstream's `loadRequiredReplicaNum`
/// with no `min_load_replica_num` set).
pub fn load_required_replica_num(replicas: usize) -> usize {
    replicas / 2 + 1
}

/// How rolling back an ABORTED transaction answers: a stream load's second rollback is
/// fine, the syncer's rollbackTxn hears upstream's "is already aborted".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortedAgain {
    Ok,
    Refuse,
}

/// Abort PREPARE or PRECOMMITTED transaction `txn_id` and ask the BEs to drop what it
/// wrote.
pub fn rollback(ctx: &Loads, txn_id: i64, db_id: Option<i64>, reason: Option<String>, again: AbortedAgain) -> Result<TxnRecord, FeError> {
    let t = ctx.txns.update(txn_id, |t| {
        if db_id.is_some_and(|d| d != t.db_id) {
            return Err(TxnError::NotFound(txn_id).into());
        }
        match t.state {
            // The first reason (e.g. a timeout) stays.
            TxnState::Aborted if again == AbortedAgain::Ok => Ok(()),
            TxnState::Aborted => Err(TxnError::Aborted { txn_id, reason: t.reason.clone().unwrap_or_default() }.into()),
            TxnState::Prepare | TxnState::Precommitted => {
                t.state = TxnState::Aborted;
                t.finish_ms = Some(FeContext::now_ms());
                t.reason = reason.clone();
                Ok(())
            }
            s => Err(TxnError::CannotAbort { txn_id, state: s.name() }.into()),
        }
    });
    let t = match t {
        Err(FeError::NotFound(_)) => return Err(TxnError::NotFound(txn_id).into()),
        r => r?,
    };
    info!(txn_id, reason = ?t.reason, "transaction aborted");
    // The writer drops its rowsets too; this reaches the replicas even when it cannot.
    clear_on_backends(ctx, &t);
    Ok(t)
}
