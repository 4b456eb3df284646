//! Garbage collection of pending rowsets: rowsets a load wrote for a transaction that
//! never becomes visible (aborted, or never committed because its coordinator or the FE
//! died) must not stay on disk.
//!
//! Two ways, as upstream:
//! - the FE tells us: after an abort it calls `POST /api/_internal/load/clear_txn?txn_id`
//!   (our stand-in for CLEAR_TRANSACTION_TASK) and we drop the txn's pending rowsets on
//!   every tablet;
//! - expiry: a txn pending here longer than `pending_data_expire_time_sec` (upstream's BE
//!   key, default 1800) is looked up on the master FE (`GET /api/_internal/load/txn_state`,
//!   where upstream reports it in the tablet report), checked every
//!   `report_tablet_interval_seconds`. ABORTED, VISIBLE (this replica can no longer take
//!   part) or unknown to the FE: dropped. PREPARE, PRECOMMITTED (a two-phase commit load
//!   waiting for its user) or COMMITTED: kept, the FE still decides (it aborts a PREPARE or
//!   PRECOMMITTED load past its timeout when asked).
//!
//! Meta first, then files: a crash in between leaves files the engine removes at open.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::TOKEN_HEADER;
use crate::context::BeContext;
use crate::error::BeError;
use crate::storage::StorageEngine;

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("no master FE known yet (no heartbeat)")]
    NoMaster,
    #[error("asking the FE about transactions: {0}")]
    Fe(String),
    #[error(transparent)]
    Storage(#[from] BeError),
}

/// Drop `txn_id`'s pending rowset of one tablet and its files; how many were dropped
/// (0 when the tablet holds none).
pub fn drop_pending(storage: &StorageEngine, tablet_id: i64, txn_id: i64) -> Result<usize, BeError> {
    let dir = storage.tablet_dir(tablet_id)?;
    let mut dropped = Vec::new();
    storage.update_meta(tablet_id, |m| {
        m.pending.retain(|p| {
            if p.txn_id == txn_id {
                dropped.push(p.rowset.clone());
                false
            } else {
                true
            }
        });
        Ok(())
    })?;
    for rs in &dropped {
        for f in rs.segment_files() {
            if let Err(e) = std::fs::remove_file(dir.join(&f)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    warn!(tablet_id, txn_id, file = %f, error = %e, "cannot remove a dropped rowset's file; the engine removes it at open");
                }
            }
        }
    }
    Ok(dropped.len())
}

/// Pending txns on this BE: txn id -> tablets holding a pending rowset of it.
pub fn pending_txns(storage: &StorageEngine) -> BTreeMap<i64, Vec<i64>> {
    let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for tablet_id in storage.tablet_ids() {
        if let Some(m) = storage.tablet_meta(tablet_id) {
            for p in &m.pending {
                out.entry(p.txn_id).or_default().push(tablet_id);
            }
        }
    }
    out
}

/// Drop every pending rowset of `txn_id` on this BE; how many.
pub fn clear_txn(storage: &StorageEngine, txn_id: i64) -> Result<usize, BeError> {
    let tablets = pending_txns(storage).remove(&txn_id).unwrap_or_default();
    let mut n = 0;
    for tablet_id in tablets {
        match drop_pending(storage, tablet_id, txn_id) {
            Ok(k) => n += k,
            // Dropped meanwhile: nothing left to clear there.
            Err(BeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `POST /api/_internal/load/clear_txn?txn_id=N`: the FE aborted the txn.
pub async fn clear_txn_handler(
    State(ctx): State<Arc<BeContext>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let expected = ctx.token();
    let given = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    if expected.is_empty() || given != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    }
    let Some(txn_id) = q.get("txn_id").and_then(|v| v.parse::<i64>().ok()) else {
        return (StatusCode::BAD_REQUEST, "missing or bad parameter txn_id").into_response();
    };
    let storage = ctx.storage.clone();
    match tokio::task::spawn_blocking(move || clear_txn(&storage, txn_id)).await {
        Ok(Ok(n)) => {
            if n > 0 {
                info!(txn_id, rowsets = n, "pending rowsets of an aborted load dropped");
            }
            (StatusCode::OK, n.to_string()).into_response()
        }
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Expiry state: when this BE first saw each pending txn. Kept in memory (as upstream's
/// txn manager's creation times), so a restart gives pending data one more period.
#[derive(Default)]
pub struct Expiry {
    first_seen: HashMap<i64, Instant>,
}

impl Expiry {
    /// One pass: ask the FE about txns pending longer than `expire`, drop the dead ones;
    /// how many rowsets were dropped.
    pub async fn sweep(&mut self, ctx: &BeContext, expire: Duration) -> Result<usize, GcError> {
        let storage = ctx.storage.clone();
        let pending = tokio::task::spawn_blocking(move || pending_txns(&storage))
            .await
            .map_err(|e| BeError::Internal(format!("listing pending rowsets: {e}")))?;
        let now = Instant::now();
        self.first_seen.retain(|txn, _| pending.contains_key(txn));
        for txn in pending.keys() {
            self.first_seen.entry(*txn).or_insert(now);
        }
        let expired: Vec<i64> =
            self.first_seen.iter().filter(|(_, seen)| now.duration_since(**seen) >= expire).map(|(t, _)| *t).collect();
        if expired.is_empty() {
            return Ok(0);
        }
        let states = ask_fe(ctx, &expired).await?;
        let dead: HashSet<i64> = expired
            .into_iter()
            .filter(|t| matches!(states.get(t).map(|s| s.as_str()), Some("ABORTED" | "VISIBLE" | "UNKNOWN")))
            .collect();
        let mut dropped = 0;
        for txn_id in dead {
            let storage = ctx.storage.clone();
            let n = tokio::task::spawn_blocking(move || clear_txn(&storage, txn_id))
                .await
                .map_err(|e| BeError::Internal(format!("clearing txn {txn_id}: {e}")))??;
            info!(txn_id, state = %states[&txn_id], rowsets = n, "expired pending rowsets dropped");
            self.first_seen.remove(&txn_id);
            dropped += n;
        }
        Ok(dropped)
    }
}

/// The master FE's view of `txns`: id -> PREPARE/COMMITTED/VISIBLE/ABORTED/UNKNOWN.
async fn ask_fe(ctx: &BeContext, txns: &[i64]) -> Result<HashMap<i64, String>, GcError> {
    let m = ctx.master();
    let (Some(fe), Some(port)) = (m.fe_addr, m.fe_http_port) else { return Err(GcError::NoMaster) };
    let mut out = HashMap::new();
    for chunk in txns.chunks(1000) {
        let ids: Vec<String> = chunk.iter().map(|t| t.to_string()).collect();
        let url = format!("http://{}:{}/api/_internal/load/txn_state?txn_ids={}", fe.hostname, port, ids.join(","));
        let resp = ctx
            .http
            .get(url)
            .header(TOKEN_HEADER, m.token.clone())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| GcError::Fe(e.to_string()))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| GcError::Fe(e.to_string()))?;
        if !status.is_success() {
            return Err(GcError::Fe(format!("{status}: {}", String::from_utf8_lossy(&body))));
        }
        let m: HashMap<String, String> = serde_json::from_slice(&body).map_err(|e| GcError::Fe(format!("bad answer: {e}")))?;
        for (k, v) in m {
            if let Ok(id) = k.parse() {
                out.insert(id, v);
            }
        }
    }
    Ok(out)
}

/// The expiry loop, every `report_tablet_interval_seconds` until `stop`.
pub async fn run(ctx: Arc<BeContext>, stop: CancellationToken) {
    let expire = Duration::from_secs(ctx.config.pending_data_expire_time_sec);
    let mut tick = tokio::time::interval(Duration::from_secs(ctx.config.report_tablet_interval_seconds.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expiry = Expiry::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match expiry.sweep(&ctx, expire).instrument(info_span!("pending_rowset_gc")).await {
            Ok(_) | Err(GcError::NoMaster) => {}
            Err(e) => warn!(error = %e, "pending rowset GC failed; retrying next round"),
        }
    }
}
