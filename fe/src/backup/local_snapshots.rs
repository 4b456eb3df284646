//! Local snapshots (`__keep_on_local__`): what a finished local backup leaves for the CCR
//! syncer's getSnapshot. Unlike upstream they are kept in the meta store, so they survive
//! an FE restart, until their TTL; expiry releases the BE snapshots.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, Instrument};

use crate::backup::state::SnapshotRecord;
use crate::backup::{BackupCtx, BackupEnv};
use crate::context::FeContext;
use crate::error::Result;
use crate::persist::Named;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalSnapshot {
    pub label: String,
    pub db_id: i64,
    pub db_name: String,
    pub job_id: i64,
    /// The framed meta bytes.
    pub meta: Vec<u8>,
    /// The job_info JSON.
    pub job_info: String,
    pub create_time_ms: i64,
    pub ttl_ms: i64,
    pub commit_seq: i64,
    /// The BE snapshots to release on expiry.
    pub snapshots: Vec<SnapshotRecord>,
}

impl LocalSnapshot {
    pub fn expired_at_ms(&self) -> i64 {
        self.create_time_ms + self.ttl_ms
    }
}

/// Store a new local snapshot in the same transaction as its job's final record; a
/// snapshot it replaces (same label) has its BE snapshots released.
pub async fn publish(ctx: &BackupEnv, snap: LocalSnapshot, job: super::StoredJob) -> Result<()> {
    let new_job = snap.job_id;
    if let Some(old) = ctx.jobs.save_local_snapshot(ctx, job, snap)? {
        if old.job_id != new_job {
            super::release_snapshots(ctx, &old.snapshots).await;
        }
    }
    Ok(())
}

/// Drop the expired local snapshots; the labels dropped.
pub async fn expire(ctx: &BackupEnv, now_ms: i64) -> Vec<String> {
    let mut dropped = Vec::new();
    for s in ctx.jobs.expired_local_snapshots(now_ms) {
        if ctx
            .store
            .delete_named(Named::LocalSnapshot, &s.label)
            .is_err()
        {
            continue;
        }
        ctx.jobs.remove_local_in_memory(&s.label);
        super::release_snapshots(ctx, &s.snapshots).await;
        info!(label = %s.label, job_id = s.job_id, "local snapshot expired and released");
        dropped.push(s.label.clone());
    }
    dropped
}

/// Expire local snapshots every second until `stop`.
pub async fn run_expiry(ctx: BackupCtx, stop: CancellationToken) {
    let span = info_span!("local_snapshot_expiry");
    async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            expire(&ctx, FeContext::now_ms()).await;
        }
    }
    .instrument(span)
    .await
}
