//! CREATE: a new tablet; finishTask carries its TTabletInfo and a new report version.

use doris_thrift::agent_service::TCreateTabletReq;
use doris_thrift::types::TStorageMedium;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_tablet, TaskEnv};
use crate::error::{BeError, Result};
use crate::storage::{schema, NewTablet};

pub async fn run(env: &TaskEnv, _signature: i64, req: TCreateTabletReq, finish: &mut TFinishTaskRequest) -> Result<()> {
    record_tablet(req.tablet_id);
    // Upstream sends both on failure too (an empty list, the current version).
    finish.report_version = Some(env.reports.version());
    finish.finish_tablet_infos = Some(Vec::new());
    let storage = env.ctx.storage.clone();
    let info = blocking(move || {
        let meta = storage.create_tablet(&req)?;
        storage
            .tablet_info(meta.tablet_id)
            .ok_or_else(|| BeError::Internal(format!("tablet {} vanished after its creation", meta.tablet_id)))
    })
    .await?;
    finish.report_version = Some(env.reports.bump_version());
    finish.finish_tablet_infos = Some(vec![Box::new(info)]);
    Ok(())
}

/// The request's defaults are upstream's: version 1, HDD, no policy.
impl TryFrom<&TCreateTabletReq> for NewTablet {
    type Error = BeError;

    fn try_from(req: &TCreateTabletReq) -> Result<NewTablet> {
        let tablet_id = req.tablet_id;
        let mut schema = schema::from_thrift(&req.tablet_schema)
            .map_err(|e| BeError::InvalidArgument(format!("tablet {tablet_id}: {e}")))?;
        schema.enable_unique_key_merge_on_write = req.enable_unique_key_merge_on_write.unwrap_or(false);
        Ok(NewTablet {
            tablet_id,
            schema_hash: req.tablet_schema.schema_hash,
            version: req.version.unwrap_or(1),
            schema,
            replica_id: req.replica_id.unwrap_or(0),
            table_id: req.table_id.unwrap_or(0),
            partition_id: req.partition_id.unwrap_or(0),
            storage_medium: schema::storage_medium_name(req.storage_medium.unwrap_or(TStorageMedium::HDD)).to_string(),
            storage_policy_id: req.storage_policy_id.unwrap_or(0),
            in_restore_mode: req.in_restore_mode.unwrap_or(false),
        })
    }
}
