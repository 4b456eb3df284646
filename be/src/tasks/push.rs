//! REALTIME_PUSH of push type DELETE: a DELETE's predicate becomes the transaction's pending
//! rowset on the tablet (no segments), made visible by PUBLISH_VERSION as a load's is; from
//! its version on, reads drop the matching rows of older versions (`load::read`).
//! finishTask as upstream's push fills it: `request_version` (the push's version) for a
//! DELETE, the report version, and the tablet's info only when it succeeded.

use doris_thrift::agent_service::TPushReq;
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::types::TPushType;
use tracing::info;

use super::{blocking, TaskEnv};
use crate::error::{BeError, Result};
use crate::storage::{DeleteCondition, RowsetMeta};

pub async fn run(env: &TaskEnv, _signature: i64, req: TPushReq, finish: &mut TFinishTaskRequest) -> Result<()> {
    finish.report_version = Some(env.reports.version());
    if req.push_type == TPushType::DELETE {
        finish.request_version = Some(req.version);
    }
    if req.push_type != TPushType::DELETE {
        return Err(BeError::InvalidArgument(format!(
            "push type {} is not supported: doris-rs serves only DELETE pushes (loads arrive by stream load)",
            req.push_type.0
        )));
    }
    let tablet_id = req.tablet_id;
    let txn_id = req.transaction_id.ok_or_else(|| BeError::InvalidArgument("delete push without transaction_id".into()))?;
    let partition_id = req.partition_id.ok_or_else(|| BeError::InvalidArgument("delete push without partition_id".into()))?;
    let conditions: Vec<DeleteCondition> = req
        .delete_conditions
        .unwrap_or_default()
        .into_iter()
        .map(|c| DeleteCondition { column: c.column_name, op: c.condition_op, values: c.condition_values })
        .collect();
    if conditions.is_empty() {
        return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: delete push without conditions")));
    }
    let storage = env.ctx.storage.clone();
    let tablet_info = blocking(move || {
        let meta = storage.tablet_meta(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        for c in &conditions {
            if !meta.schema.columns.iter().any(|col| col.name.eq_ignore_ascii_case(&c.column)) {
                return Err(BeError::InvalidArgument(format!(
                    "tablet {tablet_id}: delete condition on column {}, which the tablet does not have",
                    c.column
                )));
            }
        }
        // A push the FE sent again (after a lost answer) finds its rowset already pending.
        if !meta.pending.iter().any(|p| p.txn_id == txn_id) {
            let rowset = RowsetMeta {
                rowset_id: storage.next_rowset_id(),
                start_version: 0,
                end_version: 0,
                num_segments: 0,
                num_rows: 0,
                data_size: 0,
                txn_id: Some(txn_id),
                remote: false,
                creation_time_s: chrono::Utc::now().timestamp(),
                delete_predicate: Some(conditions),
            };
            storage.add_pending_rowset(tablet_id, txn_id, partition_id, rowset)?;
        }
        storage.tablet_info(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))
    })
    .await?;
    info!(tablet_id, txn_id, "delete predicate pending");
    finish.report_version = Some(env.reports.bump_version());
    finish.finish_tablet_infos = Some(vec![Box::new(tablet_info)]);
    Ok(())
}
