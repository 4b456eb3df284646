//! Publish of committed loads, and the FE's load daemon.
//!
//! A commit publishes at once (PUBLISH_VERSION to the BEs of the replicas that wrote, then
//! the partitions' visible versions move once each tablet has a quorum of replicas at the
//! new version; the others are marked lagging). A BE that publishes only part of its
//! tablets answers non-OK with `error_tablet_ids`; the rest of its tablets count. Short of a
//! quorum (BEs down, an FE that died between commit and publish) the transaction stays
//! COMMITTED in the txn store with the replicas that did publish, and the daemon retries
//! it with backoff, asking only the BEs with replicas still missing. The
//! daemon starts with the FE, so a commit made durable before a crash is published after the
//! restart. Publishing twice is harmless: a BE answers OK for a txn it no longer holds
//! pending, and visible versions only move up.
//!
//! The daemon also aborts PREPARE transactions past their timeout (upstream's
//! "timeout by txn manager") and asks the replica BEs to drop an aborted load's pending
//! rowsets (`POST /api/_internal/load/clear_txn`, our stand-in for upstream's
//! CLEAR_TRANSACTION_TASK; BEs that miss it drop them when the pending data expires).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use doris_thrift::agent_service::{TPartitionVersionInfo, TPublishVersionRequest};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::quorum;
use super::txn::{TxnRecord, TxnState};
use super::Loads;
use crate::binlog::{Binlog, BinlogKind, PartitionRecord, TableRecord, UpsertRecord};
use crate::catalog::OlapTable;
use crate::persist::Kind;
use crate::context::FeContext;
use crate::error::FeError;
use crate::system::task_queue::{status_text, AgentTask, TaskError};
use doris_thrift::task_body::TaskBody;

/// How long one publish waits for the BEs' PUBLISH_VERSION answers.
pub const PUBLISH_WAIT: Duration = Duration::from_secs(30);
/// Retry backoff of a failed publish: doubles from the first to the max.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// How often PREPARE transactions are checked against their timeout (upstream's
/// `transaction_clean_interval_second` is 30).
const TIMEOUT_SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Header carrying the cluster token on our internal HTTP calls.
const TOKEN_HEADER: &str = "token";

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("backend {0} has no known be_port; cannot publish")]
    NoAddress(i64),
    #[error(transparent)]
    Tasks(#[from] TaskError),
    #[error("cannot record the new visible versions: {0}")]
    Catalog(String),
    #[error(transparent)]
    Store(#[from] FeError),
    #[error("transaction [{txn_id}]: tablet {tablet_id} published on {have} replica(s), {required} required; retried")]
    Quorum { txn_id: i64, tablet_id: i64, have: usize, required: usize },
}

/// Publish a COMMITTED transaction: PUBLISH_VERSION to the backends whose written
/// replicas have not published yet, then, once each tablet has a quorum of replicas at the
/// new version, move the partitions' visible versions and mark it VISIBLE. Replicas that
/// did not write or publish are marked lagging (repaired by CLONE). Short of a quorum it
/// fails, keeping what was published for the daemon's retry. The caller holds the tables'
/// locks.
pub async fn publish(ctx: &Loads, rec: &TxnRecord) -> Result<(), PublishError> {
    let st = &ctx.txns;
    let now = FeContext::now_ms();
    // Tables dropped since the commit have nothing left to make visible; upstream finishes
    // such a transaction too.
    let live: Vec<i64> = rec.table_ids.iter().copied().filter(|id| ctx.catalog.table_by_id(*id).is_some()).collect();
    if live.len() < rec.table_ids.len() {
        warn!(txn_id = rec.txn_id, tables = ?rec.table_ids, live = ?live, "tables of a committed transaction are gone");
    }
    if live.is_empty() {
        st.update(rec.txn_id, |t| {
            t.state = TxnState::Visible;
            t.finish_ms = Some(now);
            Ok(())
        })?;
        return Ok(());
    }
    let tables: Vec<std::sync::Arc<OlapTable>> = live.iter().filter_map(|id| ctx.catalog.table_by_id(*id)).collect();
    let targets = quorum::targets(&tables, rec, |b| ctx.backends.get(b).is_some());
    let written = quorum::written(rec, &targets);
    let mut done: BTreeSet<(i64, i64)> = rec.published.iter().copied().collect();
    let infos: Vec<TPartitionVersionInfo> =
        rec.partition_versions.iter().map(|(p, v)| TPartitionVersionInfo::new(*p, *v, 0)).collect();
    let mut tasks = Vec::new();
    for be in quorum::backends_to_ask(&targets, &written, &done) {
        // A backend down now is not asked: its replicas lag unless the others lack a quorum.
        let Some(b) = ctx.backends.get(be).filter(|b| b.alive) else { continue };
        let addr = b.be_addr().ok_or(PublishError::NoAddress(be))?;
        // Upstream signs a publish with its transaction id.
        let t = TaskBody::PublishVersion(TPublishVersionRequest::new(rec.txn_id, infos.clone(), None, None)).into_request(rec.txn_id);
        tasks.push(AgentTask { backend_id: be, addr, request: t });
    }
    if !tasks.is_empty() {
        let mut newly = Vec::new();
        for (be, answer) in ctx.tasks.run_answers(tasks, PUBLISH_WAIT).await {
            let published = quorum::published_by(&targets, &written, be, &answer);
            match &answer {
                Ok(req) if req.task_status.status_code == doris_thrift::status::TStatusCode::OK => {}
                Ok(req) => warn!(txn_id = rec.txn_id, backend_id = be, error_tablet_ids = ?req.error_tablet_ids,
                    status = %status_text(&req.task_status), "publish failed on some tablets of the backend"),
                Err(e) => warn!(txn_id = rec.txn_id, backend_id = be, error = %e, "publish not answered"),
            }
            newly.extend(published);
        }
        if newly.iter().any(|k| !done.contains(k)) {
            done.extend(newly);
            st.update(rec.txn_id, |t| {
                t.published = done.iter().copied().collect();
                Ok(())
            })?;
        }
    }
    if let Some((tablet_id, have, required)) = quorum::short_of_quorum(&targets, &done) {
        return Err(PublishError::Quorum { txn_id: rec.txn_id, tablet_id, have, required });
    }
    let pv = rec.partition_versions.clone();
    // The UPSERT binlog of tables that keep them, written with the new versions.
    // Commit seqs of one database's binlogs must ascend in the order entries become
    // visible, or a reader past a later one would skip an earlier one: drawing the seq,
    // the store write and the publish of the entry happen under the database's lock.
    let order = ctx.binlogs.order_lock(rec.db_id);
    let _in_order = order.lock().unwrap_or_else(|p| p.into_inner());
    let db_keeps = ctx.catalog.database_by_id(rec.db_id).is_some_and(|d| d.binlog().enable);
    let commit_seq = if binlog_wanted(ctx, db_keeps, &live) { Some(ctx.store.next_id().map_err(FeError::from)?) } else { None };
    let mut binlog = None;
    ctx.catalog
        .update_tables_and(
            &live,
            |t| {
                for p in t.partitions.iter_mut().chain(t.temp_partitions.iter_mut()) {
                    if let Some((_, v)) = pv.iter().find(|(id, _)| *id == p.id) {
                        // max(): a publish repeated after an FE restart moves nothing twice.
                        if *v > p.visible_version {
                            p.visible_version = *v;
                            p.visible_version_time_ms = now;
                        }
                        // Replicas that published hold every version up to `v` (a BE
                        // publishes only the version after its last); the others lag. Row
                        // counts and sizes follow with the BEs' next tablet report.
                        for t in p.index.tablets.iter_mut() {
                            for r in t.replicas.iter_mut() {
                                if done.contains(&(t.id, r.backend_id)) {
                                    r.mark_caught_up(*v);
                                } else {
                                    r.mark_failed(*v, now);
                                }
                            }
                        }
                    }
                }
            },
            |w, tables| {
                // Built from the tables as changed; the catalog is locked here, ask it nothing.
                binlog = commit_seq.map(|seq| upsert_binlog(rec, seq, db_keeps, tables, now));
                match &binlog {
                    Some(b) => w.put(Kind::Binlog, b.commit_seq, b),
                    None => Ok(()),
                }
            },
        )
        .map_err(|e| PublishError::Catalog(e.to_string()))?;
    st.update(rec.txn_id, |t| {
        t.state = TxnState::Visible;
        t.finish_ms = Some(now);
        Ok(())
    })?;
    if let Some(b) = binlog {
        info!(txn_id = rec.txn_id, commit_seq = b.commit_seq, "upsert binlog written");
        ctx.binlogs.publish(b);
    }
    info!(txn_id = rec.txn_id, versions = ?pv, "transaction visible");
    Ok(())
}

/// Best effort, in the background: ask every BE holding a replica of the aborted load's
/// table to drop the txn's pending rowsets. A BE that misses this drops them once they
/// are older than its `pending_data_expire_time_sec` (it asks us about the txn then).
pub fn clear_on_backends(ctx: &Loads, rec: &TxnRecord) {
    let bes: BTreeSet<i64> = rec
        .table_ids
        .iter()
        .filter_map(|id| ctx.catalog.table_by_id(*id))
        .flat_map(|table| {
            table.partitions.iter().flat_map(|p| p.index.tablets.iter().flat_map(|t| t.replicas.iter().map(|r| r.backend_id))).collect::<Vec<_>>()
        })
        .collect();
    let targets: Vec<(i64, String)> = bes
        .into_iter()
        .filter_map(|id| ctx.backends.get(id))
        .filter(|b| b.http_port > 0)
        .map(|b| (b.id, format!("http://{}:{}/api/_internal/load/clear_txn?txn_id={}", b.host, b.http_port, rec.txn_id)))
        .collect();
    let token = ctx.cluster.token.clone();
    let txn_id = rec.txn_id;
    tokio::spawn(
        async move {
            for (backend_id, url) in targets {
                let r = crate::system::be_http::client().post(url).header(TOKEN_HEADER, token.clone()).timeout(Duration::from_secs(10)).send().await;
                match r {
                    Ok(resp) if resp.status().is_success() => {}
                    Ok(resp) => warn!(backend_id, status = %resp.status(), "backend refused to clear the txn"),
                    Err(e) => warn!(backend_id, error = %e, "cannot ask the backend to clear the txn"),
                }
            }
        }
        .instrument(info_span!("clear_txn", txn_id)),
    );
}

/// The FE's load daemon: publish retries with backoff, PREPARE timeouts. Runs until `stop`.
pub async fn run(ctx: Loads, stop: CancellationToken) {
    let st = ctx.txns.clone();

    // txn -> (failed attempts, next try)
    let mut retry: HashMap<i64, (u32, Instant)> = HashMap::new();
    let mut next_sweep = Instant::now();
    let mut next_label_clean = Instant::now();
    loop {
        let mut committed = st.in_state(TxnState::Committed).unwrap_or_else(|e| {
            warn!(error = %e, "cannot list committed loads");
            Vec::new()
        });
        committed.sort_by_key(|t| t.txn_id);
        retry.retain(|id, _| committed.iter().any(|t| t.txn_id == *id));
        // A table's loads publish in commit order: one waiting blocks the later ones.
        let mut blocked: HashSet<i64> = HashSet::new();
        for rec in committed {
            if rec.table_ids.iter().any(|t| blocked.contains(t)) {
                blocked.extend(rec.table_ids.iter().copied());
                continue;
            }
            if retry.get(&rec.txn_id).is_some_and(|(_, due)| *due > Instant::now()) {
                blocked.extend(rec.table_ids.iter().copied());
                continue;
            }
            let _guards = tokio::select! {
                _ = stop.cancelled() => return,
                g = st.lock_tables(&rec) => g,
            };
            // A commit of the same table may have published it while we waited.
            match st.get(rec.txn_id) {
                Ok(Some(r)) if r.state == TxnState::Committed => {}
                _ => continue,
            }
            let r = tokio::select! {
                _ = stop.cancelled() => return,
                r = publish(&ctx, &rec).instrument(info_span!("publish_retry", txn_id = rec.txn_id)) => r,
            };
            match r {
                Ok(()) => {
                    retry.remove(&rec.txn_id);
                }
                Err(e) => {
                    let attempts = retry.get(&rec.txn_id).map(|(n, _)| n + 1).unwrap_or(1);
                    let wait = RETRY_FIRST.saturating_mul(1 << (attempts - 1).min(16)).min(RETRY_MAX);
                    warn!(txn_id = rec.txn_id, attempts, retry_in_s = wait.as_secs(), error = %e, "publish failed; will retry");
                    retry.insert(rec.txn_id, (attempts, Instant::now() + wait));
                    blocked.extend(rec.table_ids.iter().copied());
                }
            }
        }
        for rec in st.take_to_clear() {
            info!(txn_id = rec.txn_id, label = %rec.label, "timed-out load transaction aborted at its label's reuse");
            clear_on_backends(&ctx, &rec);
        }
        if Instant::now() >= next_sweep {
            match st.abort_timed_out(FeContext::now_ms()) {
                Ok(aborted) => {
                    for rec in aborted {
                        info!(txn_id = rec.txn_id, label = %rec.label, "load transaction timed out; aborted");
                        clear_on_backends(&ctx, &rec);
                    }
                }
                Err(e) => warn!(error = %e, "cannot check load timeouts"),
            }
            next_sweep = Instant::now() + TIMEOUT_SWEEP_EVERY;
        }
        if Instant::now() >= next_label_clean {
            let keep_ms = (ctx.config.streaming_label_keep_max_second as i64).saturating_mul(1000);
            match st.remove_expired(FeContext::now_ms(), keep_ms) {
                Ok((0, 0)) => {}
                Ok((txns, jobs)) => info!(txns, jobs, "expired load labels removed"),
                Err(e) => warn!(error = %e, "cannot remove expired load labels"),
            }
            next_label_clean = Instant::now() + Duration::from_secs(ctx.config.label_clean_interval_second);
        }
        let wake = retry.values().map(|(_, due)| *due).min().unwrap_or(next_sweep).min(next_sweep).min(next_label_clean);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = st.publish_wakeup.notified() => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}


/// Whether a publish writes an UPSERT: binlogs are on and the database (`db_keeps`) or
/// one of the tables keeps them.
fn binlog_wanted(ctx: &Loads, db_keeps: bool, live: &[i64]) -> bool {
    ctx.config.enable_feature_binlog
        && (db_keeps || live.iter().filter_map(|id| ctx.catalog.table_by_id(*id)).any(|t| t.binlog().enable))
}

/// The UPSERT entry a publish of `rec` writes at `commit_seq`: upstream's record of the
/// partitions it makes visible in `tables` that keep binlogs (all of them when the
/// database does, `db_on`), as they stand after the publish: their range
/// strings, by which the syncer pairs partitions, and the versions they reach.
fn upsert_binlog(rec: &TxnRecord, commit_seq: i64, db_on: bool, tables: &[OlapTable], now: i64) -> Binlog {
    let mut table_records = BTreeMap::new();
    for t in tables.iter().filter(|t| db_on || t.binlog().enable) {
        let partition_records: Vec<PartitionRecord> = rec
            .partition_versions
            .iter()
            .filter_map(|(pid, v)| t.loadable_partitions().find(|p| p.id == *pid).map(|p| (p, *v)))
            .map(|(p, version)| PartitionRecord {
                partition_id: p.id,
                range: t.describe_partition(p),
                version,
                is_temp_partition: t.temp_partitions.iter().any(|x| x.id == p.id),
            })
            .collect();
        table_records.insert(t.id, TableRecord { partition_records, index_ids: vec![t.base_index_id] });
    }
    let record = UpsertRecord {
        commit_seq,
        txn_id: rec.txn_id,
        time_stamp: now,
        label: rec.label.clone(),
        db_id: rec.db_id,
        table_records,
    };
    Binlog {
        commit_seq,
        timestamp_ms: now,
        kind: BinlogKind::Upsert,
        db_id: rec.db_id,
        table_ids: record.table_records.keys().copied().collect(),
        data: record.to_json(),
        belong: -1,
    }
}
