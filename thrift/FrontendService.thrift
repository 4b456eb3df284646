// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"
include "Status.thrift"
include "MasterService.thrift"

enum TBinlogType {
  UPSERT = 0,
  ADD_PARTITION = 1,
  CREATE_TABLE = 2,
  DROP_PARTITION = 3,
  DROP_TABLE = 4,
  ALTER_JOB = 5,
  MODIFY_TABLE_ADD_OR_DROP_COLUMNS = 6,
  DUMMY = 7,
  ALTER_DATABASE_PROPERTY = 8,
  MODIFY_TABLE_PROPERTY = 9,
  BARRIER = 10,
  MODIFY_PARTITIONS = 11,
  REPLACE_PARTITIONS = 12,
  TRUNCATE_TABLE = 13,
  RENAME_TABLE = 14,
  RENAME_COLUMN = 15,
  MODIFY_COMMENT = 16,
  MODIFY_VIEW_DEF = 17,
  REPLACE_TABLE = 18,
  MODIFY_TABLE_ADD_OR_DROP_INVERTED_INDICES = 19,
  INDEX_CHANGE_JOB = 20,
  MIN_UNKNOWN = 21,
  UNKNOWN_6 = 22,
  UNKNOWN_7 = 23,
  UNKNOWN_8 = 24,
  UNKNOWN_9 = 25,
  UNKNOWN_10 = 26,
  UNKNOWN_11 = 27,
  UNKNOWN_12 = 28,
  UNKNOWN_13 = 29,
  UNKNOWN_14 = 30,
  UNKNOWN_15 = 31,
  UNKNOWN_16 = 32,
  UNKNOWN_17 = 33,
  UNKNOWN_18 = 34,
  UNKNOWN_19 = 35,
  UNKNOWN_20 = 36,
  UNKNOWN_21 = 37,
  UNKNOWN_22 = 38,
  UNKNOWN_23 = 39,
  UNKNOWN_24 = 40,
  UNKNOWN_25 = 41,
  UNKNOWN_26 = 42,
  UNKNOWN_27 = 43,
  UNKNOWN_28 = 44,
  UNKNOWN_29 = 45,
  UNKNOWN_30 = 46,
  UNKNOWN_31 = 47,
  UNKNOWN_32 = 48,
  UNKNOWN_33 = 49,
  UNKNOWN_34 = 50,
  UNKNOWN_35 = 51,
  UNKNOWN_36 = 52,
  UNKNOWN_37 = 53,
  UNKNOWN_38 = 54,
  UNKNOWN_39 = 55,
  UNKNOWN_40 = 56,
  UNKNOWN_41 = 57,
  UNKNOWN_42 = 58,
  UNKNOWN_43 = 59,
  UNKNOWN_44 = 60,
  UNKNOWN_45 = 61,
  UNKNOWN_46 = 62,
  UNKNOWN_47 = 63,
  UNKNOWN_48 = 64,
  UNKNOWN_49 = 65,
  UNKNOWN_50 = 66,
  UNKNOWN_51 = 67,
  UNKNOWN_52 = 68,
  UNKNOWN_53 = 69,
  UNKNOWN_54 = 70,
  UNKNOWN_55 = 71,
  UNKNOWN_56 = 72,
  UNKNOWN_57 = 73,
  UNKNOWN_58 = 74,
  UNKNOWN_59 = 75,
  UNKNOWN_60 = 76,
  UNKNOWN_61 = 77,
  UNKNOWN_62 = 78,
  UNKNOWN_63 = 79,
  UNKNOWN_64 = 80,
  UNKNOWN_65 = 81,
  UNKNOWN_66 = 82,
  UNKNOWN_67 = 83,
  UNKNOWN_68 = 84,
  UNKNOWN_69 = 85,
  UNKNOWN_70 = 86,
  UNKNOWN_71 = 87,
  UNKNOWN_72 = 88,
  UNKNOWN_73 = 89,
  UNKNOWN_74 = 90,
  UNKNOWN_75 = 91,
  UNKNOWN_76 = 92,
  UNKNOWN_77 = 93,
  UNKNOWN_78 = 94,
  UNKNOWN_79 = 95,
  UNKNOWN_80 = 96,
  UNKNOWN_81 = 97,
  UNKNOWN_82 = 98,
  UNKNOWN_83 = 99,
  UNKNOWN_84 = 100,
  UNKNOWN_85 = 101,
  UNKNOWN_86 = 102,
  UNKNOWN_87 = 103,
  UNKNOWN_88 = 104,
  UNKNOWN_89 = 105,
  UNKNOWN_90 = 106,
  UNKNOWN_91 = 107,
  UNKNOWN_92 = 108,
  UNKNOWN_93 = 109,
  UNKNOWN_94 = 110,
  UNKNOWN_95 = 111,
  UNKNOWN_96 = 112,
  UNKNOWN_97 = 113,
  UNKNOWN_98 = 114,
  UNKNOWN_99 = 115,
  UNKNOWN_100 = 116,
}

enum TSnapshotType {
  REMOTE = 0,
  LOCAL = 1,
}

struct TAutoIncrementRangeRequest {
  1: optional i64 db_id
  2: optional i64 table_id
  3: optional i64 column_id
  4: optional i64 length
  5: optional i64 lower_bound
}

struct TAutoIncrementRangeResult {
  1: optional Status.TStatus status
  2: optional i64 start
  3: optional i64 length
  4: optional Types.TNetworkAddress master_address
}

struct TBeginTxnRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional list<i64> table_ids
  6: optional string user_ip
  7: optional string label
  8: optional i64 auth_code
  9: optional i64 timeout
  10: optional Types.TUniqueId request_id
  11: optional string token
  12: optional i64 backend_id
  13: optional i64 sub_txn_num = 0
}

struct TBeginTxnResult {
  1: optional Status.TStatus status
  2: optional i64 txn_id
  3: optional string job_status
  4: optional i64 db_id
  5: optional Types.TNetworkAddress master_address
  6: optional list<i64> sub_txn_ids
}

struct TBinlog {
  1: optional i64 commit_seq
  2: optional i64 timestamp
  3: optional TBinlogType type
  4: optional i64 db_id
  5: optional list<i64> table_ids
  6: optional string data
  7: optional i64 belong
  8: optional i64 table_ref
  9: optional bool remove_enable_cache
}

struct TCommitTxnRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string user_ip
  6: optional i64 txn_id
  7: optional list<Types.TTabletCommitInfo> commit_infos
  8: optional i64 auth_code
  9: optional TTxnCommitAttachment txn_commit_attachment
  10: optional i64 thrift_rpc_timeout_ms
  11: optional string token
  12: optional i64 db_id
  13: optional bool txn_insert
  14: optional list<TSubTxnInfo> sub_txn_infos
}

struct TCommitTxnResult {
  1: optional Status.TStatus status
  2: optional Types.TNetworkAddress master_address
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

struct TGetBinlogLagResult {
  1: optional Status.TStatus status
  2: optional i64 lag
  3: optional Types.TNetworkAddress master_address
}

struct TGetBinlogRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  6: optional i64 table_id
  7: optional string user_ip
  8: optional string token
  9: optional i64 prev_commit_seq
}

struct TGetBinlogResult {
  1: optional Status.TStatus status
  2: optional i64 next_commit_seq
  3: optional list<TBinlog> binlogs
  4: optional string fe_version
  5: optional i64 fe_meta_version
  6: optional Types.TNetworkAddress master_address
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

struct TLoadTxn2PCRequest {
  1: optional string cluster
  2: required string user
  3: required string passwd
  4: optional string db
  5: optional string user_ip
  6: optional i64 txnId
  7: optional string operation
  8: optional i64 auth_code
  9: optional string token
  10: optional i64 thrift_rpc_timeout_ms
  11: optional string label
  1000: optional string auth_code_uuid
}

struct TLoadTxn2PCResult {
  1: required Status.TStatus status
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

struct TRollbackTxnRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string user_ip
  6: optional i64 txn_id
  7: optional string reason
  9: optional i64 auth_code
  10: optional TTxnCommitAttachment txn_commit_attachment
  11: optional string token
  12: optional i64 db_id
}

struct TRollbackTxnResult {
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

struct TSubTxnInfo {
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

struct TTxnCommitAttachment {
  1: required Types.TLoadType loadType
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
  TLoadTxnCommitResult loadTxnPreCommit(1: TLoadTxnCommitRequest request)
  TLoadTxn2PCResult loadTxn2PC(1: TLoadTxn2PCRequest request)
  TLoadTxnRollbackResult loadTxnRollback(1: TLoadTxnRollbackRequest request)
  TConfirmUnusedRemoteFilesResult confirmUnusedRemoteFiles(1: TConfirmUnusedRemoteFilesRequest request)
  TGetBinlogResult getBinlog(1: TGetBinlogRequest request)
  TGetBinlogLagResult getBinlogLag(1: TGetBinlogRequest request)
  TBeginTxnResult beginTxn(1: TBeginTxnRequest request)
  TCommitTxnResult commitTxn(1: TCommitTxnRequest request)
  TRollbackTxnResult rollbackTxn(1: TRollbackTxnRequest request)
  TAutoIncrementRangeResult getAutoIncrementRange(1: TAutoIncrementRangeRequest request)
}
