// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift


typedef i32 TClusterId

typedef i64 TCount

typedef i64 TEpoch

typedef i64 TPartitionId

typedef i32 TPort

typedef i64 TReplicaId

typedef i32 TSchemaHash

typedef i64 TSize

typedef i64 TTabletId

typedef i64 TTransactionId

typedef i64 TVersion

typedef i64 TVersionHash

enum TAggregationType {
  SUM = 0,
  MAX = 1,
  MIN = 2,
  REPLACE = 3,
  HLL_UNION = 4,
  NONE = 5,
  BITMAP_UNION = 6,
  REPLACE_IF_NOT_NULL = 7,
  QUANTILE_UNION = 8,
}

enum TKeysType {
  PRIMARY_KEYS = 0,
  DUP_KEYS = 1,
  UNIQUE_KEYS = 2,
  AGG_KEYS = 3,
}

enum TLoadType {
  MANUL_LOAD = 0,
  ROUTINE_LOAD = 1,
  MINI_LOAD = 2,
}

enum TPrimitiveType {
  INVALID_TYPE = 0,
  NULL_TYPE = 1,
  BOOLEAN = 2,
  TINYINT = 3,
  SMALLINT = 4,
  INT = 5,
  BIGINT = 6,
  FLOAT = 7,
  DOUBLE = 8,
  DATE = 9,
  DATETIME = 10,
  BINARY = 11,
  DECIMAL_DEPRACTED = 12,
  CHAR = 13,
  LARGEINT = 14,
  VARCHAR = 15,
  HLL = 16,
  DECIMALV2 = 17,
  BITMAP = 19,
  ARRAY = 20,
  MAP = 21,
  STRUCT = 22,
  STRING = 23,
  ALL = 24,
  QUANTILE_STATE = 25,
  DATEV2 = 26,
  DATETIMEV2 = 27,
  TIMEV2 = 28,
  DECIMAL32 = 29,
  DECIMAL64 = 30,
  DECIMAL128I = 31,
  JSONB = 32,
  UNSUPPORTED = 33,
  VARIANT = 34,
  LAMBDA_FUNCTION = 35,
  AGG_STATE = 36,
  DECIMAL256 = 37,
  IPV4 = 38,
  IPV6 = 39,
  UINT32 = 40,
  UINT64 = 41,
  FIXED_LENGTH_OBJECT = 42,
}

enum TPriority {
  NORMAL = 0,
  HIGH = 1,
}

enum TPushType {
  LOAD = 0,
  DELETE = 1,
  LOAD_DELETE = 2,
  LOAD_V2 = 3,
}

enum TStorageBackendType {
  BROKER = 0,
  S3 = 1,
  HDFS = 2,
  JFS = 3,
  LOCAL = 4,
  OFS = 5,
  AZURE = 6,
}

enum TStorageMedium {
  HDD = 0,
  SSD = 1,
  S3 = 2,
  REMOTE_CACHE = 3,
}

enum TStorageType {
  ROW = 0,
  COLUMN = 1,
}

enum TTaskType {
  CREATE = 0,
  DROP = 1,
  PUSH = 2,
  CLONE = 3,
  STORAGE_MEDIUM_MIGRATE = 4,
  ROLLUP = 5,
  SCHEMA_CHANGE = 6,
  CANCEL_DELETE = 7,
  MAKE_SNAPSHOT = 8,
  RELEASE_SNAPSHOT = 9,
  CHECK_CONSISTENCY = 10,
  UPLOAD = 11,
  DOWNLOAD = 12,
  CLEAR_REMOTE_FILE = 13,
  MOVE = 14,
  REALTIME_PUSH = 15,
  PUBLISH_VERSION = 16,
  CLEAR_ALTER_TASK = 17,
  CLEAR_TRANSACTION_TASK = 18,
  RECOVER_TABLET = 19,
  STREAM_LOAD = 20,
  UPDATE_TABLET_META_INFO = 21,
  ALTER = 22,
  INSTALL_PLUGIN = 23,
  UNINSTALL_PLUGIN = 24,
  COMPACTION = 25,
  STORAGE_MEDIUM_MIGRATE_V2 = 26,
  NOTIFY_UPDATE_STORAGE_POLICY = 27,
  PUSH_COOLDOWN_CONF = 28,
  PUSH_STORAGE_POLICY = 29,
  ALTER_INVERTED_INDEX = 30,
  GC_BINLOG = 31,
  CLEAN_TRASH = 32,
  UPDATE_VISIBLE_VERSION = 33,
  CLEAN_UDF_CACHE = 34,
  PUSH_INDEX_POLICY = 35,
  CALCULATE_DELETE_BITMAP = 1000,
}

struct TBackend {
  1: required string host
  2: required TPort be_port
  3: required TPort http_port
  4: optional TPort brpc_port
  5: optional bool is_alive
  6: optional i64 id
}

struct TColumnType {
  1: required TPrimitiveType type
  2: optional i32 len
  3: optional i32 index_len
  4: optional i32 precision
  5: optional i32 scale
  6: optional i32 variant_max_subcolumns_count = 0
}

struct TNetworkAddress {
  1: required string hostname
  2: required i32 port
}

struct TResourceInfo {
  1: required string user
  2: required string group
}

struct TTabletCommitInfo {
  1: required i64 tabletId
  2: required i64 backendId
  3: optional list<string> invalid_dict_cols
}

struct TUniqueId {
  1: required i64 hi
  2: required i64 lo
}
