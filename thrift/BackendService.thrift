// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"
include "Status.thrift"
include "AgentService.thrift"

enum TIngestBinlogStatus {
  ANALYSIS_ERROR = 0,
  UNKNOWN = 1,
  NOT_FOUND = 2,
  OK = 3,
  FAILED = 4,
  DOING = 5,
}

struct TIngestBinlogRequest {
  1: optional i64 txn_id
  2: optional i64 remote_tablet_id
  3: optional i64 binlog_version
  4: optional string remote_host
  5: optional string remote_port
  6: optional i64 partition_id
  7: optional i64 local_tablet_id
  8: optional Types.TUniqueId load_id
}

struct TIngestBinlogResult {
  1: optional Status.TStatus status
  2: optional bool is_async
}

struct TQueryIngestBinlogRequest {
  1: optional i64 txn_id
  2: optional i64 partition_id
  3: optional i64 tablet_id
  4: optional Types.TUniqueId load_id
}

struct TQueryIngestBinlogResult {
  1: optional TIngestBinlogStatus status
  2: optional string err_msg
}

struct TTabletStat {
  1: required i64 tablet_id
  2: optional i64 data_size
  3: optional i64 row_count
  4: optional i64 total_version_count
  5: optional i64 remote_data_size
  6: optional i64 visible_version_count
  7: optional i64 visible_version
}

struct TTabletStatResult {
  1: required map<i64,TTabletStat> tablets_stats
  2: optional list<TTabletStat> tablet_stat_list
}

service BackendService {
  AgentService.TAgentResult submit_tasks(1: list<AgentService.TAgentTaskRequest> tasks)
  AgentService.TAgentResult make_snapshot(1: AgentService.TSnapshotRequest snapshot_request)
  AgentService.TAgentResult release_snapshot(1: string snapshot_path)
  TTabletStatResult get_tablet_stat()
  TIngestBinlogResult ingest_binlog(1: TIngestBinlogRequest ingest_binlog_request)
  TQueryIngestBinlogResult query_ingest_binlog(1: TQueryIngestBinlogRequest query_ingest_binlog_request)
}
