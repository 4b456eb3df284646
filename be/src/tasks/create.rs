//! CREATE: a new tablet; finishTask carries its TTabletInfo and a new report version.

use doris_thrift::agent_service::TCreateTabletReq;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_tablet, TaskEnv};
use crate::error::{BeError, Result};

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
