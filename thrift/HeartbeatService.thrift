// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"
include "Status.thrift"

struct TBackendInfo {
  1: required Types.TPort be_port
  2: required Types.TPort http_port
  3: optional Types.TPort be_rpc_port
  4: optional Types.TPort brpc_port
  5: optional string version
  6: optional i64 be_start_time
  7: optional string be_node_role
  8: optional bool is_shutdown
  9: optional Types.TPort arrow_flight_sql_port
  10: optional i64 be_mem
  1000: optional i64 fragment_executing_count
  1001: optional i64 fragment_last_active_time
}

struct TFrontendInfo {
  1: optional Types.TNetworkAddress coordinator_address
  2: optional i64 process_uuid
}

struct THeartbeatResult {
  1: required Status.TStatus status
  2: required TBackendInfo backend_info
}

struct TMasterInfo {
  1: required Types.TNetworkAddress network_address
  2: required Types.TClusterId cluster_id
  3: required Types.TEpoch epoch
  4: optional string token
  5: optional string backend_ip
  6: optional Types.TPort http_port
  7: optional i64 heartbeat_flags
  8: optional i64 backend_id
  9: optional list<TFrontendInfo> frontend_infos
  10: optional string meta_service_endpoint
  11: optional string cloud_unique_id
  12: optional i64 tablet_report_inactive_duration_ms
}

service HeartbeatService {
  THeartbeatResult heartbeat(1: TMasterInfo master_info)
}
