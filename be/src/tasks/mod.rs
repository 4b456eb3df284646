//! One agent task each: run it against storage (or a repository, or another BE) and
//! fill the finishTask fields upstream fills for its type.

pub mod cooldown_conf;
pub mod create;
pub mod download;
pub mod drop;
pub mod move_dir;
pub mod progress;
pub mod publish;
pub mod release;
pub mod repository;
pub mod snapshot;
pub mod storage_policy;
pub mod upload;

use std::sync::Arc;

use doris_thrift::agent_service::TAgentTaskRequest;
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::types::TTaskType;
use tracing::warn;

use crate::agent::Agent;
use crate::error::{ok_status, BeError, Result};

pub fn task_type_name(t: TTaskType) -> &'static str {
    match t {
        TTaskType::CREATE => "CREATE",
        TTaskType::DROP => "DROP",
        TTaskType::PUSH => "PUSH",
        TTaskType::CLONE => "CLONE",
        TTaskType::MAKE_SNAPSHOT => "MAKE_SNAPSHOT",
        TTaskType::RELEASE_SNAPSHOT => "RELEASE_SNAPSHOT",
        TTaskType::CHECK_CONSISTENCY => "CHECK_CONSISTENCY",
        TTaskType::UPLOAD => "UPLOAD",
        TTaskType::DOWNLOAD => "DOWNLOAD",
        TTaskType::MOVE => "MOVE",
        TTaskType::REALTIME_PUSH => "REALTIME_PUSH",
        TTaskType::PUBLISH_VERSION => "PUBLISH_VERSION",
        TTaskType::CLEAR_TRANSACTION_TASK => "CLEAR_TRANSACTION_TASK",
        TTaskType::UPDATE_TABLET_META_INFO => "UPDATE_TABLET_META_INFO",
        TTaskType::ALTER => "ALTER",
        TTaskType::COMPACTION => "COMPACTION",
        TTaskType::PUSH_COOLDOWN_CONF => "PUSH_COOLDOWN_CONF",
        TTaskType::PUSH_STORAGE_POLICY => "PUSH_STORAGE_POLICY",
        TTaskType::GC_BINLOG => "GC_BINLOG",
        _ => "UNKNOWN",
    }
}

/// A finishTask with only the common fields set and an OK status; the backend is
/// filled again just before it is sent.
pub fn finish_request(agent: &Agent, task_type: TTaskType, signature: i64) -> TFinishTaskRequest {
    TFinishTaskRequest {
        backend: agent.master.backend(),
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

/// Run a storage call on the blocking pool (storage does file IO and fsyncs).
pub async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| BeError::Internal(format!("storage call failed: {e}")))?
}

fn missing(member: &str) -> BeError {
    BeError::InvalidArgument(format!("request member {member} is missing"))
}

/// Run one task; the finishTask to send, or None for types the FE expects none for.
pub async fn execute(agent: &Arc<Agent>, task: TAgentTaskRequest) -> Option<TFinishTaskRequest> {
    let mut finish = finish_request(agent, task.task_type, task.signature);
    let sig = task.signature;
    let result = match task.task_type {
        TTaskType::CREATE => match task.create_tablet_req.as_deref() {
            Some(r) => create::run(agent, r, &mut finish).await,
            None => Err(missing("create_tablet_req")),
        },
        TTaskType::DROP => match task.drop_tablet_req.as_deref() {
            Some(r) => drop::run(agent, r).await,
            None => Err(missing("drop_tablet_req")),
        },
        TTaskType::MAKE_SNAPSHOT => match task.snapshot_req.as_deref() {
            Some(r) => snapshot::run(agent, r, &mut finish).await,
            None => Err(missing("snapshot_req")),
        },
        TTaskType::RELEASE_SNAPSHOT => match task.release_snapshot_req.as_deref() {
            Some(r) => release::run(agent, r).await,
            None => Err(missing("release_snapshot_req")),
        },
        TTaskType::UPLOAD => match task.upload_req.as_deref() {
            Some(r) => upload::run(agent, sig, r, &mut finish).await,
            None => Err(missing("upload_req")),
        },
        TTaskType::DOWNLOAD => match task.download_req.as_deref() {
            Some(r) => download::run(agent, sig, r, &mut finish).await,
            None => Err(missing("download_req")),
        },
        TTaskType::MOVE => match task.move_dir_req.as_deref() {
            Some(r) => move_dir::run(agent, r).await,
            None => Err(missing("move_dir_req")),
        },
        TTaskType::PUBLISH_VERSION => match task.publish_version_req.as_deref() {
            Some(r) => publish::run(agent, r, &mut finish).await,
            None => Err(missing("publish_version_req")),
        },
        TTaskType::PUSH_COOLDOWN_CONF => {
            match task.push_cooldown_conf.as_deref() {
                Some(r) => cooldown_conf::run(agent, r).await,
                None => warn!("PUSH_COOLDOWN_CONF without push_cooldown_conf ignored"),
            }
            return None;
        }
        TTaskType::PUSH_STORAGE_POLICY => {
            match task.push_storage_policy_req.as_deref() {
                Some(r) => storage_policy::run(agent, r).await,
                None => warn!("PUSH_STORAGE_POLICY without push_storage_policy_req ignored"),
            }
            return None;
        }
        other => Err(BeError::InvalidArgument(format!("task type {} is not run by this BE", task_type_name(other)))),
    };
    match result {
        Ok(()) => tracing::info!("task succeeded"),
        Err(e) => {
            warn!(error = %e, "task failed");
            finish.task_status = e.to_status();
        }
    }
    Some(finish)
}

/// Record ids on the current task span.
pub(crate) fn record_tablet(tablet_id: i64) {
    tracing::Span::current().record("tablet_id", tablet_id);
}

pub(crate) fn record_job(job_id: i64) {
    tracing::Span::current().record("job_id", job_id);
}
