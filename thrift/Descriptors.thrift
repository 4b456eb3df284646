// doris-rs wire IDL, written by tools/idl_from_contract.py from the Doris wire contract.
// Edit DECLARE there and re-run; then regenerate gen/ with gen/regen.sh.

namespace cpp doris
namespace java org.apache.doris.thrift

include "Types.thrift"

struct TColumn {
  1: required string column_name
  2: required Types.TColumnType column_type
  3: optional Types.TAggregationType aggregation_type
  4: optional bool is_key
  5: optional bool is_allow_null
  6: optional string default_value
  7: optional bool is_bloom_filter_column
  9: optional bool visible = true
  // ARRAY: one child `item`; MAP: `key`, `value`; STRUCT: its fields (name, type,
  // nullability), each nesting further as upstream's Column.toThrift writes them.
  10: optional list<TColumn> children_column
  11: optional i32 col_unique_id = -1
  18: optional bool is_auto_increment = false
}
