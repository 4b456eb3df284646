//! What a task executor runs with: the BE's shared context (storage, config, metrics,
//! HTTP client), the master FE client and the report state. No agent internals.

use std::sync::Arc;

use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::types::TTaskType;

use crate::context::BeContext;
use crate::error::ok_status;
use crate::master::{MasterClient, ReportState};

pub struct TaskEnv {
    pub ctx: Arc<BeContext>,
    pub master: MasterClient,
    pub reports: Arc<ReportState>,
}

impl TaskEnv {
    /// A finishTask with only the common fields set and an OK status; the backend is
    /// filled again just before it is sent.
    pub fn finish_request(&self, task_type: TTaskType, signature: i64) -> TFinishTaskRequest {
        TFinishTaskRequest {
            backend: self.master.backend(),
            task_type,
            signature,
            task_status: ok_status(),
            report_version: None,
            finish_tablet_infos: None,
            tablet_checksum: None,
            request_version: None,
            request_version_hash: None,
            snapshot_path: None,
            error_tablet_ids: None,
            snapshot_files: None,
            tablet_files: None,
            downloaded_tablet_ids: None,
            copy_size: None,
            copy_time_ms: None,
            succ_tablets: None,
            table_id_to_delta_num_rows: None,
            table_id_to_tablet_id_to_delta_num_rows: None,
            resp_partitions: None,
        }
    }
}
