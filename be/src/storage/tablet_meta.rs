//! The tablet meta we keep per tablet: ids, schema, rowsets, cooldown state.
//! Stored in the root's redb (`meta_store`) and, inside snapshots, as `<tablet_id>.hdr`
//! (`hdr`). Serialized with serde; field names are part of the `.hdr` format.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMeta {
    pub name: String,
    /// Upstream `TPrimitiveType` name, e.g. "INT", "VARCHAR", "DECIMAL64", "DATETIMEV2".
    pub type_name: String,
    pub is_key: bool,
    /// Upstream aggregation name ("NONE", "SUM", "REPLACE", ...).
    pub aggregation: String,
    pub nullable: bool,
    pub default_value: Option<String>,
    pub unique_id: i32,
    pub len: Option<i32>,
    pub precision: Option<i32>,
    pub scale: Option<i32>,
    /// A complex column's element/key/value/field columns (upstream's `children_column`:
    /// ARRAY `item`, MAP `key` and `value`, STRUCT its fields); empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ColumnMeta>,
    /// False for upstream's hidden columns (`__DORIS_DELETE_SIGN__`, ...), as the FE sent it.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub visible: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn no_index() -> i32 {
    -1
}

fn is_no_index(i: &i32) -> bool {
    *i < 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabletSchema {
    /// "DUP_KEYS", "UNIQUE_KEYS", "AGG_KEYS" (upstream TKeysType names).
    pub keys_type: String,
    pub short_key_column_count: i16,
    pub columns: Vec<ColumnMeta>,
    /// Where the hidden delete sign, sequence and version columns are in `columns`
    /// (upstream's TabletSchemaPB indexes); -1 without one.
    #[serde(default = "no_index", skip_serializing_if = "is_no_index")]
    pub delete_sign_idx: i32,
    #[serde(default = "no_index", skip_serializing_if = "is_no_index")]
    pub sequence_col_idx: i32,
    #[serde(default = "no_index", skip_serializing_if = "is_no_index")]
    pub version_col_idx: i32,
    /// A merge-on-write UNIQUE table's tablet (TCreateTabletReq.enable_unique_key_merge_on_write).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_unique_key_merge_on_write: bool,
}

impl TabletSchema {
    /// A schema of these columns, without hidden column indexes.
    pub fn plain(keys_type: &str, short_key_column_count: i16, columns: Vec<ColumnMeta>) -> TabletSchema {
        TabletSchema {
            keys_type: keys_type.into(),
            short_key_column_count,
            columns,
            delete_sign_idx: -1,
            sequence_col_idx: -1,
            version_col_idx: -1,
            enable_unique_key_merge_on_write: false,
        }
    }
}

/// One rowset: versions [start, end], its segment files and their totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowsetMeta {
    /// Unique across the cluster; data files are `<rowset_id>_<segment>.dat`.
    pub rowset_id: String,
    pub start_version: i64,
    pub end_version: i64,
    pub num_segments: u32,
    pub num_rows: i64,
    pub data_size: i64,
    /// Transaction that wrote it, when it came from a load.
    pub txn_id: Option<i64>,
    /// Remote (cooled-down) rowsets live in the storage policy's object store.
    pub remote: bool,
    /// When the rowset was written (seconds since the epoch; 0: before we kept it, read as
    /// the tablet's creation): a storage policy's `cooldown_ttl` counts from here.
    #[serde(default)]
    pub creation_time_s: i64,
    /// A DELETE's rowset (no segments): the rows of older versions matching every
    /// condition are gone from this version on, as upstream's delete predicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_predicate: Option<Vec<DeleteCondition>>,
}

/// One condition of a delete predicate, as upstream's `TCondition` spells it: `op` is
/// `=`, `!=`, `<`, `<=`, `>`, `>=`, `*=` (IN), `!*=` (NOT IN) or `IS` (value `NULL` or
/// `NOT NULL`); values are text the column's type parses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteCondition {
    pub column: String,
    pub op: String,
    pub values: Vec<String>,
}

impl RowsetMeta {
    /// Local file names of this rowset's segments.
    pub fn segment_files(&self) -> Vec<String> {
        (0..self.num_segments).map(|s| format!("{}_{}.dat", self.rowset_id, s)).collect()
    }
}

/// A load's rowset written but not yet visible (waits for PUBLISH_VERSION).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRowset {
    pub txn_id: i64,
    pub partition_id: i64,
    pub rowset: RowsetMeta,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CooldownState {
    pub cooldown_replica_id: i64,
    pub cooldown_term: i64,
    /// (hi, lo) of the TUniqueId the cooldown replica wrote with the remote meta.
    pub cooldown_meta_id: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabletMeta {
    pub tablet_id: i64,
    pub schema_hash: i32,
    pub replica_id: i64,
    pub table_id: i64,
    pub partition_id: i64,
    /// Shard directory under `<root>/data/`.
    pub shard_id: u32,
    pub schema: TabletSchema,
    /// "HDD" or "SSD".
    pub storage_medium: String,
    pub storage_policy_id: i64,
    pub creation_time_ms: i64,
    pub in_restore_mode: bool,
    pub rowsets: Vec<RowsetMeta>,
    pub pending: Vec<PendingRowset>,
    pub cooldown: CooldownState,
}

impl TabletMeta {
    /// An empty DUP_KEYS tablet's meta, for tests.
    #[cfg(test)]
    pub(crate) fn for_test(tablet_id: i64, replica_id: i64) -> TabletMeta {
        TabletMeta {
            tablet_id,
            schema_hash: 2,
            replica_id,
            table_id: 4,
            partition_id: 5,
            shard_id: 1,
            schema: TabletSchema::plain("DUP_KEYS", 0, vec![]),
            storage_medium: "HDD".into(),
            storage_policy_id: 0,
            creation_time_ms: 0,
            in_restore_mode: false,
            rowsets: vec![],
            pending: vec![],
            cooldown: CooldownState::default(),
        }
    }

    /// Highest version held (the end of the newest rowset), 1 for a new tablet's [0,1].
    pub fn max_version(&self) -> i64 {
        self.rowsets.iter().map(|r| r.end_version).max().unwrap_or(0)
    }

    pub fn num_rows(&self) -> i64 {
        self.rowsets.iter().map(|r| r.num_rows).sum()
    }

    pub fn data_size(&self) -> i64 {
        self.rowsets.iter().filter(|r| !r.remote).map(|r| r.data_size).sum()
    }

    pub fn remote_data_size(&self) -> i64 {
        self.rowsets.iter().filter(|r| r.remote).map(|r| r.data_size).sum()
    }
}
