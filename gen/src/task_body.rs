//! The request member of an agent task, one variant per task kind doris-rs sends or
//! serves. Hand-written (not compiler output): `TAgentTaskRequest` carries every member as
//! an optional field, so FE and BE share this one place that pairs a task type with the
//! member it needs, builds requests and takes them apart.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::agent_service::{
    TAgentServiceVersion, TAgentTaskRequest, TCloneReq, TCreateTabletReq, TDownloadReq, TDropTabletReq, TMoveDirReq,
    TPublishVersionRequest, TPushCooldownConfReq, TPushReq, TPushStoragePolicyReq, TReleaseSnapshotRequest, TSnapshotRequest,
    TUploadReq,
};
use crate::types::TTaskType;

/// One agent task's request member.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskBody {
    Create(TCreateTabletReq),
    Drop(TDropTabletReq),
    MakeSnapshot(TSnapshotRequest),
    ReleaseSnapshot(TReleaseSnapshotRequest),
    Upload(TUploadReq),
    Download(TDownloadReq),
    Move(TMoveDirReq),
    PublishVersion(TPublishVersionRequest),
    PushCooldownConf(TPushCooldownConfReq),
    PushStoragePolicy(TPushStoragePolicyReq),
    /// REALTIME_PUSH: a DELETE's predicate for one tablet.
    RealtimePush(TPushReq),
    /// CLONE: a lagging replica catches up from healthy ones.
    Clone(TCloneReq),
}

/// Why a request has no usable body; the texts are upstream's, which the BE answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskBodyError {
    #[error("task(signature={signature}) has wrong request member = {member}")]
    MissingMember { signature: i64, member: &'static str },
    #[error("task(signature={signature}, type={}) has wrong task type", task_type_name(*.task_type))]
    UnknownType { signature: i64, task_type: TTaskType },
}

impl TaskBody {
    pub fn task_type(&self) -> TTaskType {
        match self {
            TaskBody::Create(_) => TTaskType::CREATE,
            TaskBody::Drop(_) => TTaskType::DROP,
            TaskBody::MakeSnapshot(_) => TTaskType::MAKE_SNAPSHOT,
            TaskBody::ReleaseSnapshot(_) => TTaskType::RELEASE_SNAPSHOT,
            TaskBody::Upload(_) => TTaskType::UPLOAD,
            TaskBody::Download(_) => TTaskType::DOWNLOAD,
            TaskBody::Move(_) => TTaskType::MOVE,
            TaskBody::PublishVersion(_) => TTaskType::PUBLISH_VERSION,
            TaskBody::PushCooldownConf(_) => TTaskType::PUSH_COOLDOWN_CONF,
            TaskBody::PushStoragePolicy(_) => TTaskType::PUSH_STORAGE_POLICY,
            TaskBody::RealtimePush(_) => TTaskType::REALTIME_PUSH,
            TaskBody::Clone(_) => TTaskType::CLONE,
        }
    }

    /// Upstream's name of the `TAgentTaskRequest` member a task type needs; None for the
    /// types no variant covers.
    pub fn member_name(task_type: TTaskType) -> Option<&'static str> {
        Some(match task_type {
            TTaskType::CREATE => "create_tablet_req",
            TTaskType::DROP => "drop_tablet_req",
            TTaskType::MAKE_SNAPSHOT => "snapshot_req",
            TTaskType::RELEASE_SNAPSHOT => "release_snapshot_req",
            TTaskType::UPLOAD => "upload_req",
            TTaskType::DOWNLOAD => "download_req",
            TTaskType::MOVE => "move_dir_req",
            TTaskType::PUBLISH_VERSION => "publish_version_req",
            TTaskType::PUSH_COOLDOWN_CONF => "push_cooldown_conf",
            TTaskType::PUSH_STORAGE_POLICY => "push_storage_policy_req",
            TTaskType::REALTIME_PUSH => "push_req",
            TTaskType::CLONE => "clone_req",
            _ => return None,
        })
    }

    /// The one constructor of agent task requests: protocol V1, no priority, received now.
    pub fn into_request(self, signature: i64) -> TAgentTaskRequest {
        let recv_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut req = TAgentTaskRequest::new(
            TAgentServiceVersion::V1,
            self.task_type(),
            signature,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            recv_ms,
            None,
            None,
        );
        match self {
            TaskBody::Create(r) => req.create_tablet_req = Some(Box::new(r)),
            TaskBody::Drop(r) => req.drop_tablet_req = Some(Box::new(r)),
            TaskBody::MakeSnapshot(r) => req.snapshot_req = Some(Box::new(r)),
            TaskBody::ReleaseSnapshot(r) => req.release_snapshot_req = Some(Box::new(r)),
            TaskBody::Upload(r) => req.upload_req = Some(Box::new(r)),
            TaskBody::Download(r) => req.download_req = Some(Box::new(r)),
            TaskBody::Move(r) => req.move_dir_req = Some(Box::new(r)),
            TaskBody::PublishVersion(r) => req.publish_version_req = Some(Box::new(r)),
            TaskBody::PushCooldownConf(r) => req.push_cooldown_conf = Some(Box::new(r)),
            TaskBody::PushStoragePolicy(r) => req.push_storage_policy_req = Some(Box::new(r)),
            TaskBody::RealtimePush(r) => req.push_req = Some(Box::new(r)),
            TaskBody::Clone(r) => req.clone_req = Some(Box::new(r)),
        }
        req
    }

    /// The signature and the body of a received request: the member its type needs
    /// (other members it may carry are ignored).
    pub fn from_request(req: TAgentTaskRequest) -> Result<(i64, TaskBody), TaskBodyError> {
        let signature = req.signature;
        let member = Self::member_name(req.task_type)
            .ok_or(TaskBodyError::UnknownType { signature, task_type: req.task_type })?;
        let missing = || TaskBodyError::MissingMember { signature, member };
        let body = match req.task_type {
            TTaskType::CREATE => TaskBody::Create(*req.create_tablet_req.ok_or_else(missing)?),
            TTaskType::DROP => TaskBody::Drop(*req.drop_tablet_req.ok_or_else(missing)?),
            TTaskType::MAKE_SNAPSHOT => TaskBody::MakeSnapshot(*req.snapshot_req.ok_or_else(missing)?),
            TTaskType::RELEASE_SNAPSHOT => TaskBody::ReleaseSnapshot(*req.release_snapshot_req.ok_or_else(missing)?),
            TTaskType::UPLOAD => TaskBody::Upload(*req.upload_req.ok_or_else(missing)?),
            TTaskType::DOWNLOAD => TaskBody::Download(*req.download_req.ok_or_else(missing)?),
            TTaskType::MOVE => TaskBody::Move(*req.move_dir_req.ok_or_else(missing)?),
            TTaskType::PUBLISH_VERSION => TaskBody::PublishVersion(*req.publish_version_req.ok_or_else(missing)?),
            TTaskType::PUSH_COOLDOWN_CONF => TaskBody::PushCooldownConf(*req.push_cooldown_conf.ok_or_else(missing)?),
            TTaskType::PUSH_STORAGE_POLICY => {
                TaskBody::PushStoragePolicy(*req.push_storage_policy_req.ok_or_else(missing)?)
            }
            TTaskType::REALTIME_PUSH => TaskBody::RealtimePush(*req.push_req.ok_or_else(missing)?),
            TTaskType::CLONE => TaskBody::Clone(*req.clone_req.ok_or_else(missing)?),
            task_type => return Err(TaskBodyError::UnknownType { signature, task_type }),
        };
        Ok((signature, body))
    }
}

/// Upstream's name of a task type, as logs, metrics and error texts show it.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent_service::TPushCooldownConfReq;

    fn drop_body(tablet_id: i64) -> TaskBody {
        TaskBody::Drop(TDropTabletReq::new(tablet_id, 0, None, None))
    }

    #[test]
    fn a_request_round_trips_with_upstreams_header_values() {
        let body = drop_body(7);
        let req = body.clone().into_request(42);
        assert_eq!(req.protocol_version, TAgentServiceVersion::V1);
        assert_eq!(req.task_type, TTaskType::DROP);
        assert_eq!(req.priority, None);
        assert!(req.recv_time.is_some_and(|t| t > 0));
        assert!(req.create_tablet_req.is_none());
        assert_eq!(TaskBody::from_request(req), Ok((42, body)));
    }

    #[test]
    fn every_variant_sits_in_the_member_its_type_names() {
        let bodies = [drop_body(1), TaskBody::PushCooldownConf(TPushCooldownConfReq::new(vec![]))];
        for body in bodies {
            let t = body.task_type();
            assert!(TaskBody::member_name(t).is_some(), "{}", task_type_name(t));
            let (_, back) = TaskBody::from_request(body.clone().into_request(1)).unwrap();
            assert_eq!(back, body);
        }
    }

    #[test]
    fn a_missing_member_is_refused_with_upstreams_text() {
        let mut req = drop_body(1).into_request(9);
        req.task_type = TTaskType::MAKE_SNAPSHOT;
        let e = TaskBody::from_request(req).unwrap_err();
        assert_eq!(e.to_string(), "task(signature=9) has wrong request member = snapshot_req");
    }

    #[test]
    fn an_unknown_type_is_refused_with_upstreams_text() {
        let mut req = drop_body(1).into_request(3);
        req.task_type = TTaskType::ALTER;
        let e = TaskBody::from_request(req).unwrap_err();
        assert_eq!(e.to_string(), "task(signature=3, type=ALTER) has wrong task type");
        assert_eq!(TaskBody::member_name(TTaskType::ALTER), None);
        assert_eq!(TaskBody::member_name(TTaskType::CLONE), Some("clone_req"));
    }
}
