// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"
include "Status.thrift"
include "AgentService.thrift"

struct TDisk {
  1: required string root_path
  2: required Types.TSize disk_total_capacity
  3: required Types.TSize data_used_capacity
  4: required bool used
  5: optional Types.TSize disk_available_capacity
  6: optional i64 path_hash
  7: optional Types.TStorageMedium storage_medium
  8: optional Types.TSize remote_used_capacity
  9: optional Types.TSize trash_used_capacity
}

struct TFinishTaskRequest {
  1: required Types.TBackend backend
  2: required Types.TTaskType task_type
  3: required i64 signature
  4: required Status.TStatus task_status
  5: optional i64 report_version
  6: optional list<TTabletInfo> finish_tablet_infos
  7: optional i64 tablet_checksum
  8: optional i64 request_version
  9: optional i64 request_version_hash
  10: optional string snapshot_path
  11: optional list<Types.TTabletId> error_tablet_ids
  12: optional list<string> snapshot_files
  13: optional map<Types.TTabletId,list<string>> tablet_files
  14: optional list<Types.TTabletId> downloaded_tablet_ids
  15: optional i64 copy_size
  16: optional i64 copy_time_ms
  17: optional map<Types.TTabletId,Types.TVersion> succ_tablets
  18: optional map<i64,i64> table_id_to_delta_num_rows
  19: optional map<i64,map<i64,i64>> table_id_to_tablet_id_to_delta_num_rows
  20: optional list<AgentService.TCalcDeleteBitmapPartitionInfo> resp_partitions
}

struct TMasterResult {
  1: required Status.TStatus status
}

struct TReportRequest {
  1: required Types.TBackend backend
  2: optional i64 report_version
  3: optional map<Types.TTaskType,set<i64>> tasks
  4: optional map<Types.TTabletId,TTablet> tablets
  5: optional map<string,TDisk> disks
  6: optional bool force_recovery
  7: optional list<TTablet> tablet_list
  8: optional i64 tablet_max_compaction_score
  9: optional list<AgentService.TStoragePolicy> storage_policy
  10: optional list<AgentService.TStorageResource> resource
  11: i32 num_cores
  12: i32 pipeline_executor_size
  13: optional map<Types.TPartitionId,Types.TVersion> partitions_version
}

struct TTablet {
  1: required list<TTabletInfo> tablet_infos
}

struct TTabletInfo {
  1: required Types.TTabletId tablet_id
  2: required Types.TSchemaHash schema_hash
  3: required Types.TVersion version
  4: required Types.TVersionHash version_hash
  5: required Types.TCount row_count
  6: required Types.TSize data_size
  7: optional Types.TStorageMedium storage_medium
  8: optional list<Types.TTransactionId> transaction_ids
  9: optional i64 total_version_count
  10: optional i64 path_hash
  11: optional bool version_miss
  12: optional bool used
  13: optional Types.TPartitionId partition_id
  14: optional bool is_in_memory
  15: optional Types.TReplicaId replica_id
  16: optional Types.TSize remote_data_size
  19: optional i64 cooldown_term
  20: optional Types.TUniqueId cooldown_meta_id
  21: optional i64 visible_version_count
  1000: optional bool is_persistent
}
