//! The Doris thrift services we serve and call, over the async transport.
//! Method names and argument ids are the wire contract's.

use crate::agent_service::{TAgentResult, TAgentTaskRequest, TSnapshotRequest};
use crate::backend_service::{TIngestBinlogRequest, TIngestBinlogResult, TQueryIngestBinlogRequest, TQueryIngestBinlogResult, TTabletStatResult};
use crate::frontend_service::*;
use crate::heartbeat_service::{THeartbeatResult, TMasterInfo};
use crate::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use crate::status::TStatus;

crate::wire_structs!(
    TAgentResult, TAgentTaskRequest, TSnapshotRequest, TTabletStatResult, THeartbeatResult, TMasterInfo,
    TFinishTaskRequest, TMasterResult, TReportRequest, TGetSnapshotRequest, TGetSnapshotResult,
    TRestoreSnapshotRequest, TRestoreSnapshotResult, TGetMasterTokenRequest, TGetMasterTokenResult,
    TGetBackendMetaRequest, TGetBackendMetaResult, TGetMetaRequest, TGetMetaResult,
    TSnapshotLoaderReportRequest, TLoadTxnBeginRequest, TLoadTxnBeginResult, TLoadTxnCommitRequest,
    TLoadTxnCommitResult, TLoadTxnRollbackRequest, TLoadTxnRollbackResult, TLoadTxn2PCRequest, TLoadTxn2PCResult,
    TConfirmUnusedRemoteFilesRequest, TConfirmUnusedRemoteFilesResult, TStatus, TIngestBinlogRequest,
    TIngestBinlogResult, TQueryIngestBinlogRequest, TQueryIngestBinlogResult, TGetBinlogRequest, TGetBinlogResult,
    TGetBinlogLagResult, TBeginTxnRequest, TBeginTxnResult, TCommitTxnRequest, TCommitTxnResult,
    TRollbackTxnRequest, TRollbackTxnResult, TAutoIncrementRangeRequest, TAutoIncrementRangeResult,
);

crate::service! {
    /// The BE's agent service on `be_port`.
    service BackendService, handler BackendServiceHandler, server BackendServiceServer, client BackendServiceClient {
        fn submit_tasks = "submit_tasks" (1: tasks: Vec<TAgentTaskRequest>) -> TAgentResult;
        fn make_snapshot = "make_snapshot" (1: snapshot_request: TSnapshotRequest) -> TAgentResult;
        fn release_snapshot = "release_snapshot" (1: snapshot_path: String) -> TAgentResult;
        fn get_tablet_stat = "get_tablet_stat" () -> TTabletStatResult;
        fn ingest_binlog = "ingest_binlog" (1: ingest_binlog_request: TIngestBinlogRequest) -> TIngestBinlogResult;
        fn query_ingest_binlog = "query_ingest_binlog" (1: query_ingest_binlog_request: TQueryIngestBinlogRequest) -> TQueryIngestBinlogResult;
    }
}

crate::service! {
    /// The BE's heartbeat service on `heartbeat_service_port`.
    service HeartbeatService, handler HeartbeatServiceHandler, server HeartbeatServiceServer, client HeartbeatServiceClient {
        fn heartbeat = "heartbeat" (1: master_info: TMasterInfo) -> THeartbeatResult;
    }
}

crate::service! {
    /// The FE's service on `rpc_port`: what BEs and CCR syncers call.
    service FrontendService, handler FrontendServiceHandler, server FrontendServiceServer, client FrontendServiceClient {
        fn get_snapshot = "getSnapshot" (1: request: TGetSnapshotRequest) -> TGetSnapshotResult;
        fn restore_snapshot = "restoreSnapshot" (1: request: TRestoreSnapshotRequest) -> TRestoreSnapshotResult;
        fn get_master_token = "getMasterToken" (1: request: TGetMasterTokenRequest) -> TGetMasterTokenResult;
        fn get_backend_meta = "getBackendMeta" (1: request: TGetBackendMetaRequest) -> TGetBackendMetaResult;
        fn get_meta = "getMeta" (1: request: TGetMetaRequest) -> TGetMetaResult;
        fn finish_task = "finishTask" (1: request: TFinishTaskRequest) -> TMasterResult;
        fn report = "report" (1: request: TReportRequest) -> TMasterResult;
        fn snapshot_loader_report = "snapshotLoaderReport" (1: request: TSnapshotLoaderReportRequest) -> TStatus;
        fn load_txn_begin = "loadTxnBegin" (1: request: TLoadTxnBeginRequest) -> TLoadTxnBeginResult;
        fn load_txn_commit = "loadTxnCommit" (1: request: TLoadTxnCommitRequest) -> TLoadTxnCommitResult;
        fn load_txn_pre_commit = "loadTxnPreCommit" (1: request: TLoadTxnCommitRequest) -> TLoadTxnCommitResult;
        fn load_txn_2pc = "loadTxn2PC" (1: request: TLoadTxn2PCRequest) -> TLoadTxn2PCResult;
        fn load_txn_rollback = "loadTxnRollback" (1: request: TLoadTxnRollbackRequest) -> TLoadTxnRollbackResult;
        fn confirm_unused_remote_files = "confirmUnusedRemoteFiles" (1: request: TConfirmUnusedRemoteFilesRequest) -> TConfirmUnusedRemoteFilesResult;
        fn get_binlog = "getBinlog" (1: request: TGetBinlogRequest) -> TGetBinlogResult;
        fn get_binlog_lag = "getBinlogLag" (1: request: TGetBinlogRequest) -> TGetBinlogLagResult;
        fn begin_txn = "beginTxn" (1: request: TBeginTxnRequest) -> TBeginTxnResult;
        fn commit_txn = "commitTxn" (1: request: TCommitTxnRequest) -> TCommitTxnResult;
        fn rollback_txn = "rollbackTxn" (1: request: TRollbackTxnRequest) -> TRollbackTxnResult;
        fn get_auto_increment_range = "getAutoIncrementRange" (1: request: TAutoIncrementRangeRequest) -> TAutoIncrementRangeResult;
    }
}
