// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift


enum TStatusCode {
  OK = 0,
  CANCELLED = 1,
  ANALYSIS_ERROR = 2,
  NOT_IMPLEMENTED_ERROR = 3,
  RUNTIME_ERROR = 4,
  MEM_LIMIT_EXCEEDED = 5,
  INTERNAL_ERROR = 6,
  THRIFT_RPC_ERROR = 7,
  TIMEOUT = 8,
  LIMIT_REACH = 9,
  MEM_ALLOC_FAILED = 11,
  BUFFER_ALLOCATION_FAILED = 12,
  MINIMUM_RESERVATION_UNAVAILABLE = 13,
  PUBLISH_TIMEOUT = 14,
  LABEL_ALREADY_EXISTS = 15,
  TOO_MANY_TASKS = 16,
  END_OF_FILE = 30,
  NOT_FOUND = 31,
  CORRUPTION = 32,
  INVALID_ARGUMENT = 33,
  IO_ERROR = 34,
  ALREADY_EXIST = 35,
  NETWORK_ERROR = 36,
  ILLEGAL_STATE = 37,
  NOT_AUTHORIZED = 38,
  ABORTED = 39,
  UNINITIALIZED = 42,
  INCOMPLETE = 44,
  OLAP_ERR_VERSION_ALREADY_MERGED = 45,
  DATA_QUALITY_ERROR = 46,
  INVALID_JSON_PATH = 47,
  BINLOG_DISABLE = 60,
  BINLOG_TOO_OLD_COMMIT_SEQ = 61,
  BINLOG_TOO_NEW_COMMIT_SEQ = 62,
  BINLOG_NOT_FOUND_DB = 63,
  BINLOG_NOT_FOUND_TABLE = 64,
  SNAPSHOT_NOT_EXIST = 70,
  HTTP_ERROR = 71,
  TABLET_MISSING = 72,
  NOT_MASTER = 73,
  DELETE_BITMAP_LOCK_ERROR = 100,
}

struct TStatus {
  1: required TStatusCode status_code
  2: optional list<string> error_msgs
}
