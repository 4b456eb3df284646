// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "AgentService.thrift"

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
}
