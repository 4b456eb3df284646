//! PUBLISH_VERSION: make a transaction's pending rowsets visible, per partition.
//! finishTask carries the tablets that failed, those published with their version, and
//! the rows each published tablet gained per table (upstream's
//! `table_id_to_tablet_id_to_delta_num_rows`, which the Java FE's statistics read).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use doris_thrift::agent_service::TPublishVersionRequest;
use doris_thrift::master_service::TFinishTaskRequest;
use tracing::warn;

use super::{blocking, TaskEnv};
use crate::error::{BeError, Result};

/// Tries per partition (upstream: 3, a second apart).
const PUBLISH_TRIES: u32 = 3;

pub async fn run(env: &TaskEnv, _signature: i64, req: TPublishVersionRequest, finish: &mut TFinishTaskRequest) -> Result<()> {
    let txn_id = req.transaction_id;
    let mut errors: BTreeSet<i64> = BTreeSet::new();
    let mut succ: BTreeMap<i64, i64> = BTreeMap::new();
    let mut last_err: Option<BeError> = None;
    for pv in &req.partition_version_infos {
        let (partition_id, version) = (pv.partition_id, pv.version);
        // The tablets this publish concerns: those holding the txn's pending rowset.
        let storage = env.ctx.storage.clone();
        let pending: Vec<i64> = blocking(move || {
            Ok(storage
                .tablet_ids()
                .into_iter()
                .filter(|id| {
                    storage.tablet_meta(*id).is_some_and(|m| {
                        m.pending.iter().any(|p| p.txn_id == txn_id && p.partition_id == partition_id)
                    })
                })
                .collect())
        })
        .await?;
        let mut outcome = Err(BeError::Internal("not tried".into()));
        for attempt in 0..PUBLISH_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let storage = env.ctx.storage.clone();
            outcome = blocking(move || storage.publish_version(txn_id, partition_id, version)).await;
            match &outcome {
                Ok(failed) if failed.is_empty() => break,
                Ok(failed) => warn!(txn_id, partition_id, attempt, failed = ?failed, "some tablets failed to publish"),
                Err(e) => warn!(txn_id, partition_id, attempt, error = %e, "publish failed"),
            }
        }
        match outcome {
            Ok(failed) => {
                errors.extend(failed.iter().copied());
                for id in pending.into_iter().filter(|id| !failed.contains(id)) {
                    succ.insert(id, version);
                }
            }
            Err(e) => {
                errors.extend(pending);
                last_err = Some(e);
            }
        }
    }
    let storage = env.ctx.storage.clone();
    let published = succ.clone();
    let delta_rows = blocking(move || {
        let mut by_table: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
        for (tablet_id, version) in published {
            if let Some(meta) = storage.tablet_meta(tablet_id) {
                let rows = meta.rowsets.iter().filter(|r| r.start_version == version && r.end_version == version).map(|r| r.num_rows).sum();
                by_table.entry(meta.table_id).or_default().insert(tablet_id, rows);
            }
        }
        Ok(by_table)
    })
    .await
    .unwrap_or_default();
    finish.report_version = Some(env.reports.version());
    finish.error_tablet_ids = Some(errors.iter().copied().collect());
    finish.succ_tablets = Some(succ);
    finish.table_id_to_tablet_id_to_delta_num_rows = Some(delta_rows);
    if let Some(e) = last_err {
        return Err(e);
    }
    if !errors.is_empty() {
        return Err(BeError::Internal(format!("publish version failed for txn {txn_id}: tablets {errors:?}")));
    }
    Ok(())
}
