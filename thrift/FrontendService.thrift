// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"
include "Status.thrift"
include "MasterService.thrift"

enum TSnapshotType {
  REMOTE = 0,
  LOCAL = 1,
}

struct TConfirmUnusedRemoteFilesRequest {
  1: optional list<TTabletCooldownInfo> confirm_list
}

struct TConfirmUnusedRemoteFilesResult {
  1: optional list<Types.TTabletId> confirmed_tablets
}

struct TGetBackendMetaRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string user_ip
  5: optional string token
  6: optional i64 backend_id
}

struct TGetBackendMetaResult {
  1: required Status.TStatus status
  2: optional list<Types.TBackend> backends
  3: optional Types.TNetworkAddress master_address
}

struct TGetMasterTokenRequest {
  1: optional string cluster
  2: optional string user
  3: optional string password
}

struct TGetMasterTokenResult {
  1: optional Status.TStatus status
  2: optional string token
  3: optional Types.TNetworkAddress master_address
}

struct TGetMetaDB {
  1: optional i64 id
  2: optional string name
  3: optional bool only_table_names
  4: optional list<TGetMetaTable> tables
}

struct TGetMetaDBMeta {
  1: optional i64 id
  2: optional string name
  3: optional list<TGetMetaTableMeta> tables
  4: optional list<i64> dropped_partitions
  5: optional list<i64> dropped_tables
  6: optional list<i64> dropped_indexes
}

struct TGetMetaIndexMeta {
  1: optional i64 id
  2: optional string name
  3: optional list<TGetMetaTabletMeta> tablets
}

struct TGetMetaPartitionMeta {
  1: optional i64 id
  2: optional string name
  3: optional string key
  4: optional string range
  5: optional i64 visible_version
  6: optional bool is_temp
  7: optional list<TGetMetaIndexMeta> indexes
}

struct TGetMetaReplicaMeta {
  1: optional i64 id
  2: optional i64 backend_id
  3: optional i64 version
}

struct TGetMetaRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string user_ip
  5: optional string token
  6: optional TGetMetaDB db
}

struct TGetMetaResult {
  1: required Status.TStatus status
  2: optional TGetMetaDBMeta db_meta
  3: optional Types.TNetworkAddress master_address
}

struct TGetMetaTable {
  1: optional i64 id
  2: optional string name
  3: optional bool in_trash
}

struct TGetMetaTableMeta {
  1: optional i64 id
  2: optional string name
  3: optional bool in_trash
  4: optional list<TGetMetaPartitionMeta> partitions
}

struct TGetMetaTabletMeta {
  1: optional i64 id
  2: optional list<TGetMetaReplicaMeta> replicas
}

struct TGetSnapshotRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  6: optional string token
  7: optional string label_name
  8: optional string snapshot_name
  9: optional TSnapshotType snapshot_type
  10: optional bool enable_compress
}

struct TGetSnapshotResult {
  1: optional Status.TStatus status
  2: optional binary meta
  3: optional binary job_info
  4: optional Types.TNetworkAddress master_address
  5: optional bool compressed
  6: optional i64 expiredAt
  7: optional i64 commit_seq
}

struct TLoadTxnBeginRequest {
  1: optional string cluster
  2: required string user
  3: required string passwd
  4: required string db
  5: required string tbl
  6: optional string user_ip
  7: required string label
  8: optional i64 timestamp
  9: optional i64 auth_code
  10: optional i64 timeout
  11: optional Types.TUniqueId request_id
  12: optional string token
  13: optional string auth_code_uuid
  14: optional i64 table_id
  15: optional i64 backend_id
}

struct TLoadTxnBeginResult {
  1: required Status.TStatus status
  2: optional i64 txnId
  3: optional string job_status
  4: optional i64 db_id
}

struct TLoadTxnCommitRequest {
  1: optional string cluster
  2: required string user
  3: required string passwd
  4: required string db
  5: required string tbl
  6: optional string user_ip
  7: required i64 txnId
  8: required bool sync
  9: optional list<Types.TTabletCommitInfo> commitInfos
  10: optional i64 auth_code
  12: optional i64 thrift_rpc_timeout_ms
  13: optional string token
  14: optional i64 db_id
  15: optional list<string> tbls
  16: optional i64 table_id
  17: optional string auth_code_uuid
  19: optional i64 receiveBytes
  20: optional i64 backendId
}

struct TLoadTxnCommitResult {
  1: required Status.TStatus status
}

struct TLoadTxnRollbackRequest {
  1: optional string cluster
  2: required string user
  3: required string passwd
  4: required string db
  5: required string tbl
  6: optional string user_ip
  7: required i64 txnId
  8: optional string reason
  9: optional i64 auth_code
  11: optional string token
  12: optional i64 db_id
  13: optional list<string> tbls
  14: optional string auth_code_uuid
  15: optional string label
}

struct TLoadTxnRollbackResult {
  1: required Status.TStatus status
}

struct TRestoreSnapshotRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  6: optional string token
  7: optional string label_name
  8: optional string repo_name
  9: optional list<TTableRef> table_refs
  10: optional map<string,string> properties
  11: optional binary meta
  12: optional binary job_info
  13: optional bool clean_tables
  14: optional bool clean_partitions
  15: optional bool atomic_restore
  16: optional bool compressed
}

struct TRestoreSnapshotResult {
  1: optional Status.TStatus status
  2: optional Types.TNetworkAddress master_address
}

struct TSnapshotLoaderReportRequest {
  1: required i64 job_id
  2: required i64 task_id
  3: required Types.TTaskType task_type
  4: optional i32 finished_num
  5: optional i32 total_num
}

struct TTableRef {
  1: optional string table
  3: optional string alias_name
}

struct TTabletCooldownInfo {
  1: optional Types.TTabletId tablet_id
  2: optional Types.TReplicaId cooldown_replica_id
  3: optional Types.TUniqueId cooldown_meta_id
}

service FrontendService {
  TGetSnapshotResult getSnapshot(1: TGetSnapshotRequest request)
  TRestoreSnapshotResult restoreSnapshot(1: TRestoreSnapshotRequest request)
  TGetMasterTokenResult getMasterToken(1: TGetMasterTokenRequest request)
  TGetBackendMetaResult getBackendMeta(1: TGetBackendMetaRequest request)
  TGetMetaResult getMeta(1: TGetMetaRequest request)
  MasterService.TMasterResult finishTask(1: MasterService.TFinishTaskRequest request)
  MasterService.TMasterResult report(1: MasterService.TReportRequest request)
  Status.TStatus snapshotLoaderReport(1: TSnapshotLoaderReportRequest request)
  TLoadTxnBeginResult loadTxnBegin(1: TLoadTxnBeginRequest request)
  TLoadTxnCommitResult loadTxnCommit(1: TLoadTxnCommitRequest request)
  TLoadTxnRollbackResult loadTxnRollback(1: TLoadTxnRollbackRequest request)
  TConfirmUnusedRemoteFilesResult confirmUnusedRemoteFiles(1: TConfirmUnusedRemoteFilesRequest request)
}
