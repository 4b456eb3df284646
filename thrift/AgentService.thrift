// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"
include "Status.thrift"
include "Descriptors.thrift"
include "PlanNodes.thrift"

enum TAgentServiceVersion {
  V1 = 0,
}

enum TCompressionType {
  UNKNOWN_COMPRESSION = 0,
  DEFAULT_COMPRESSION = 1,
  NO_COMPRESSION = 2,
  SNAPPY = 3,
  LZ4 = 4,
  LZ4F = 5,
  ZLIB = 6,
  ZSTD = 7,
  LZ4HC = 8,
}

enum TObjStorageType {
  UNKNOWN = 0,
  AWS = 1,
  AZURE = 2,
  BOS = 3,
  COS = 4,
  OBS = 5,
  OSS = 6,
  GCP = 7,
}

enum TStorageFormat {
  DEFAULT = 0,
  V1 = 1,
  V2 = 2,
}

enum TTabletType {
  TABLET_TYPE_DISK = 0,
  TABLET_TYPE_MEMORY = 1,
}

struct TAgentResult {
  1: required Status.TStatus status
  2: optional string snapshot_path
  3: optional bool allow_incremental_clone
  4: optional i32 snapshot_version = 1
}

struct TAgentTaskRequest {
  1: required TAgentServiceVersion protocol_version
  2: required Types.TTaskType task_type
  3: required i64 signature
  4: optional Types.TPriority priority
  5: optional TCreateTabletReq create_tablet_req
  6: optional TDropTabletReq drop_tablet_req
  8: optional TCloneReq clone_req
  9: optional TPushReq push_req
  11: optional Types.TResourceInfo resource_info
  14: optional TUploadReq upload_req
  15: optional TDownloadReq download_req
  16: optional TSnapshotRequest snapshot_req
  17: optional TReleaseSnapshotRequest release_snapshot_req
  19: optional TPublishVersionRequest publish_version_req
  22: optional TMoveDirReq move_dir_req
  25: optional i64 recv_time
  30: optional TPushCooldownConfReq push_cooldown_conf
  31: optional TPushStoragePolicyReq push_storage_policy_req
}

struct TBinlogConfig {
  1: optional bool enable
  2: optional i64 ttl_seconds
  3: optional i64 max_bytes
  4: optional i64 max_history_nums
}

struct TCalcDeleteBitmapPartitionInfo {
  1: required Types.TPartitionId partition_id
  2: required Types.TVersion version
  3: required list<Types.TTabletId> tablet_ids
}

struct TCloneReq {
  1: required Types.TTabletId tablet_id
  2: required Types.TSchemaHash schema_hash
  3: required list<Types.TBackend> src_backends
  4: optional Types.TStorageMedium storage_medium
  5: optional Types.TVersion version
  6: optional Types.TVersionHash committed_version_hash
  7: optional i32 task_version
  8: optional i64 src_path_hash
  9: optional i64 dest_path_hash
  10: optional i32 timeout_s
  11: optional Types.TReplicaId replica_id = 0
  12: optional i64 partition_id
  13: optional i64 table_id = -1
}

// A DELETE's condition (upstream declares it in PaloInternalService.thrift).
struct TCondition {
  1: required string column_name
  2: required string condition_op
  3: required list<string> condition_values
}

struct TCooldownConf {
  1: required Types.TTabletId tablet_id
  2: optional Types.TReplicaId cooldown_replica_id
  3: optional i64 cooldown_term
}

struct TCreateTabletReq {
  1: required Types.TTabletId tablet_id
  2: required TTabletSchema tablet_schema
  3: optional Types.TVersion version
  5: optional Types.TStorageMedium storage_medium
  6: optional bool in_restore_mode
  9: optional i64 table_id
  10: optional i64 partition_id
  13: optional TStorageFormat storage_format
  14: optional TTabletType tablet_type
  16: optional TCompressionType compression_type = TCompressionType.LZ4F
  17: optional Types.TReplicaId replica_id = 0
  19: optional bool enable_unique_key_merge_on_write = false
  20: optional i64 storage_policy_id
  21: optional TBinlogConfig binlog_config
  22: optional string compaction_policy = "size_based"
}

struct TDownloadReq {
  1: required i64 job_id
  2: required map<string,string> src_dest_map
  3: required Types.TNetworkAddress broker_addr
  4: optional map<string,string> broker_prop
  5: optional Types.TStorageBackendType storage_backend = Types.TStorageBackendType.BROKER
  6: optional string location
  7: optional list<TRemoteTabletSnapshot> remote_tablet_snapshots
}

struct TDropTabletReq {
  1: required Types.TTabletId tablet_id
  2: optional Types.TSchemaHash schema_hash
  3: optional Types.TReplicaId replica_id = 0
  4: optional bool is_drop_table_or_partition = false
}

struct TMoveDirReq {
  1: required Types.TTabletId tablet_id
  2: required Types.TSchemaHash schema_hash
  3: required string src
  4: required i64 job_id
  5: required bool overwrite
}

struct TPartitionVersionInfo {
  1: required Types.TPartitionId partition_id
  2: required Types.TVersion version
  3: required Types.TVersionHash version_hash
}

struct TPublishVersionRequest {
  1: required Types.TTransactionId transaction_id
  2: required list<TPartitionVersionInfo> partition_version_infos
  3: optional bool strict_mode = false
  4: optional set<Types.TTabletId> base_tablet_ids
}

struct TPushCooldownConfReq {
  1: required list<TCooldownConf> cooldown_confs
}

// REALTIME_PUSH with push_type DELETE: a DELETE's predicate written as a rowset of the
// transaction (the only push doris-rs sends or serves).
struct TPushReq {
  1: required Types.TTabletId tablet_id
  2: required Types.TSchemaHash schema_hash
  3: required Types.TVersion version
  4: required Types.TVersionHash version_hash
  5: required i64 timeout
  6: required Types.TPushType push_type
  9: optional list<TCondition> delete_conditions
  10: optional bool need_decompress
  11: optional Types.TTransactionId transaction_id
  12: optional Types.TPartitionId partition_id
  13: optional bool is_schema_changing
  16: optional list<Descriptors.TColumn> columns_desc
}

struct TPushStoragePolicyReq {
  1: optional list<TStoragePolicy> storage_policy
  2: optional list<TStorageResource> resource
  3: optional list<i64> dropped_storage_policy
}

struct TReleaseSnapshotRequest {
  1: required string snapshot_path
}

struct TRemoteTabletSnapshot {
  1: optional i64 local_tablet_id
  2: optional string local_snapshot_path
  3: optional i64 remote_tablet_id
  4: optional i64 remote_be_id
  5: optional Types.TNetworkAddress remote_be_addr
  6: optional string remote_snapshot_path
  7: optional string remote_token
}

struct TS3StorageParam {
  1: optional string endpoint
  2: optional string region
  3: optional string ak
  4: optional string sk
  5: optional i32 max_conn = 50
  6: optional i32 request_timeout_ms = 3000
  7: optional i32 conn_timeout_ms = 1000
  8: optional string root_path
  9: optional string bucket
  10: optional bool use_path_style = false
  11: optional string token
  12: optional TObjStorageType provider
}

struct TSnapshotRequest {
  1: required Types.TTabletId tablet_id
  2: required Types.TSchemaHash schema_hash
  3: optional Types.TVersion version
  4: optional Types.TVersionHash version_hash
  5: optional i64 timeout
  6: optional list<Types.TVersion> missing_version
  7: optional bool list_files
  8: optional bool allow_incremental_clone
  9: optional i32 preferred_snapshot_version = 4
  10: optional bool is_copy_tablet_task
  11: optional Types.TVersion start_version
  12: optional Types.TVersion end_version
  13: optional bool is_copy_binlog
  14: optional Types.TTabletId ref_tablet_id
}

struct TStoragePolicy {
  1: optional i64 id
  2: optional string name
  3: optional i64 version
  4: optional i64 cooldown_datetime
  5: optional i64 cooldown_ttl
  6: optional i64 resource_id
}

struct TStorageResource {
  1: optional i64 id
  2: optional string name
  3: optional i64 version
  4: optional TS3StorageParam s3_storage_param
  5: optional PlanNodes.THdfsParams hdfs_storage_param
}

struct TTabletSchema {
  1: required i16 short_key_column_count
  2: required Types.TSchemaHash schema_hash
  3: required Types.TKeysType keys_type
  4: required Types.TStorageType storage_type
  5: required list<Descriptors.TColumn> columns
  6: optional double bloom_filter_fpp
  8: optional bool is_in_memory
  9: optional i32 delete_sign_idx = -1
  10: optional i32 sequence_col_idx = -1
  13: optional bool disable_auto_compaction
  14: optional i32 version_col_idx = -1
  16: optional bool store_row_column = false
}

struct TUploadReq {
  1: required i64 job_id
  2: required map<string,string> src_dest_map
  3: required Types.TNetworkAddress broker_addr
  4: optional map<string,string> broker_prop
  5: optional Types.TStorageBackendType storage_backend = Types.TStorageBackendType.BROKER
  6: optional string location
}
