//! The `meta` bytes of a backup: the metadata needed to recreate the backed-up tables.
//!
//! Framing is upstream's (`Text.writeString` of the Java FE): a 4-byte big-endian length
//! followed by that many bytes of UTF-8 JSON. The JSON inside is doris-rs' own, documented
//! here, because the Java FE's is a Gson dump of its catalog classes:
//!
//! ```json
//! {"doris_rs_meta_version": 1,
//!  "tables": [{
//!    "name": "orders", "id": 10010, "keys_type": "DUP_KEYS", "comment": "",
//!    "columns": [{"name": "k", "data_type": "int", "nullable": false, "is_key": true,
//!                 "aggregation": null, "default_value": null, "comment": ""}],
//!    "partition": {"kind": "RANGE", "columns": ["k"],
//!                  "partitions": [{"name": "p1", "id": 10011, "visible_version": 3,
//!                                  "item": {"Range": {"lower": [{"Value": "0"}],
//!                                                     "upper": ["MaxValue"]}}}]},
//!    "distribution": {"kind": "HASH", "columns": ["k"], "buckets": 3},
//!    "properties": {"replication_num": 3, "storage_medium": "HDD", "storage_policy": null,
//!                   "other": {}},
//!    "indexes": [{"id": 10012, "name": "orders", "schema_hash": 1387653911}]
//!  }]}
//! ```
//!
//! - `keys_type`: `DUP_KEYS`, `UNIQUE_KEYS` or `AGG_KEYS` (upstream's `KeysType` names).
//! - `data_type`: the SQL spelling `SHOW CREATE TABLE` uses (`varchar(32)`, `decimalv3(10,2)`).
//! - `aggregation`: `SUM`, `MAX`, `MIN`, `REPLACE`, `REPLACE_IF_NOT_NULL` or null.
//! - `partition.kind`: `UNPARTITIONED` (one partition named after the table, `item` null),
//!   `RANGE` (`item.Range` with `lower`/`upper` bound values, one per partition column,
//!   `"MaxValue"` for MAXVALUE; an empty `lower` is the minimum) or `LIST`
//!   (`item.List`: one list of values per `IN` tuple).
//! - `distribution.kind`: `HASH` (with `columns`) or `RANDOM`.
//! - `indexes`: the base index first (named after the table).
//! - `columns[].auto_increment` (the start of an `AUTO_INCREMENT(start)` column) and
//!   `auto_increment_ceiling` (no value handed out reaches it) are absent without one.
//! - `hidden_columns`: the names of a UNIQUE table's hidden columns, absent without.
//!
//! Readers refuse a `doris_rs_meta_version` newer than [`META_FORMAT_VERSION`] and a
//! document without it (a Java FE's meta), each with a message saying so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{FeError, Result};

/// The version of the JSON format above.
pub const META_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupMeta {
    #[serde(rename = "doris_rs_meta_version")]
    pub version: u32,
    #[serde(default)]
    pub tables: Vec<TableMeta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    pub id: i64,
    pub keys_type: String,
    #[serde(default)]
    pub comment: String,
    pub columns: Vec<ColumnMeta>,
    pub partition: PartitionMeta,
    pub distribution: DistributionMeta,
    #[serde(default)]
    pub properties: TableProperties,
    #[serde(default)]
    pub indexes: Vec<IndexMeta>,
    /// Every AUTO_INCREMENT value the table handed out is below this; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment_ceiling: Option<i64>,
    /// The names of the table's hidden columns (`__DORIS_DELETE_SIGN__`, ...), so a restore
    /// makes the same ones; absent for a table without (or a meta written before them).
    /// The sequence column follows from the `function_column.*` properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMeta {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub is_key: bool,
    #[serde(default)]
    pub aggregation: Option<String>,
    /// The default as written (`CURRENT_TIMESTAMP` for that function); null for none.
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub comment: String,
    /// `AUTO_INCREMENT(start)`: the start; absent for other columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionMeta {
    /// `UNPARTITIONED`, `RANGE` or `LIST`.
    pub kind: String,
    #[serde(default)]
    pub columns: Vec<String>,
    pub partitions: Vec<PartitionEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionEntry {
    pub name: String,
    pub id: i64,
    pub visible_version: i64,
    /// Null for an unpartitioned table's single partition.
    #[serde(default)]
    pub item: Option<PartitionItem>,
    /// Per-partition replication, when it differs from the table's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_num: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartitionItem {
    Range { lower: Vec<BoundValue>, upper: Vec<BoundValue> },
    List(Vec<Vec<String>>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoundValue {
    Value(String),
    MaxValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionMeta {
    /// `HASH` or `RANDOM`.
    pub kind: String,
    #[serde(default)]
    pub columns: Vec<String>,
    pub buckets: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableProperties {
    pub replication_num: u16,
    #[serde(default)]
    pub storage_medium: Option<String>,
    #[serde(default)]
    pub storage_policy: Option<String>,
    /// Any other table property, kept verbatim.
    #[serde(default)]
    pub other: BTreeMap<String, String>,
}

impl Default for TableProperties {
    fn default() -> Self {
        TableProperties { replication_num: 3, storage_medium: None, storage_policy: None, other: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub id: i64,
    pub name: String,
    pub schema_hash: i32,
}

impl BackupMeta {
    pub fn new(tables: Vec<TableMeta>) -> Self {
        BackupMeta { version: META_FORMAT_VERSION, tables }
    }

    pub fn table(&self, name: &str) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn table_by_id(&self, id: i64) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.id == id)
    }

    /// The framed bytes: 4-byte big-endian length, then the JSON.
    pub fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).expect("backup meta always serializes");
        let len = u32::try_from(json.len()).expect("backup meta under 4 GiB");
        let mut out = Vec::with_capacity(4 + json.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&json);
        out
    }

    /// Read framed bytes written by [`BackupMeta::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 4 {
            return Err(FeError::InvalidArgument(format!(
                "backup meta is {} bytes, shorter than its 4-byte length header",
                bytes.len()
            )));
        }
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let body = &bytes[4..];
        if body.len() != len {
            return Err(FeError::InvalidArgument(format!(
                "backup meta header says {len} bytes but {} follow; the meta is truncated or not a backup meta",
                body.len()
            )));
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| FeError::InvalidArgument(format!("backup meta is not valid JSON: {e}")))?;
        match value.get("doris_rs_meta_version").and_then(|v| v.as_u64()) {
            None => {
                return Err(FeError::NotSupported(
                    "restoring a backup meta written by a Java Doris FE (its catalog format); back it up again with doris-rs".into(),
                ))
            }
            Some(v) if v > META_FORMAT_VERSION as u64 => {
                return Err(FeError::NotSupported(format!(
                    "backup meta format version {v}; this FE reads up to {META_FORMAT_VERSION}, upgrade it"
                )))
            }
            Some(_) => {}
        }
        serde_json::from_value(value).map_err(|e| FeError::InvalidArgument(format!("backup meta is malformed: {e}")))
    }
}

/// Upstream's refusal when a restore target exists with another schema. The CCR syncer
/// looks for "already exist but with different schema" in the job status.
pub fn schema_mismatch_error(table: &str) -> String {
    format!("Table {table} already exist but with different schema")
}

impl TableMeta {
    /// The base index (named after the table, else the first).
    pub fn base_index(&self) -> Option<&IndexMeta> {
        self.indexes.iter().find(|i| i.name == self.name).or(self.indexes.first())
    }

    /// A digest of everything that makes two tables hold the same data layout: keys type,
    /// columns (name, type, nullability, key, aggregation), partitioning (kind, columns and
    /// the bounds of the given partitions, all when `None`) and distribution. Names, ids,
    /// versions, comments, defaults and properties are left out, so a restored table and
    /// its source compare equal.
    pub fn signature(&self, partitions: Option<&[&str]>) -> String {
        use md5::{Digest, Md5};
        let mut canon = String::new();
        let mut push = |s: &str| {
            canon.push_str(&s.len().to_string());
            canon.push(':');
            canon.push_str(s);
            canon.push('|');
        };
        push(&self.keys_type.to_ascii_uppercase());
        for c in &self.columns {
            push(&c.name.to_ascii_lowercase());
            push(&c.data_type.to_ascii_lowercase());
            push(if c.nullable { "null" } else { "not null" });
            push(if c.is_key { "key" } else { "value" });
            push(c.aggregation.as_deref().unwrap_or("-"));
            // Only when set: signatures of tables without one stay what they were.
            if c.auto_increment.is_some() {
                push("auto_increment");
            }
        }
        push(&self.partition.kind.to_ascii_uppercase());
        for c in &self.partition.columns {
            push(&c.to_ascii_lowercase());
        }
        let mut parts: Vec<&PartitionEntry> = self
            .partition
            .partitions
            .iter()
            .filter(|p| partitions.is_none_or(|names| names.contains(&p.name.as_str())))
            .collect();
        parts.sort_by(|a, b| a.name.cmp(&b.name));
        for p in parts {
            push(&p.name);
            push(&serde_json::to_string(&p.item).expect("partition item serializes"));
        }
        push(&self.distribution.kind.to_ascii_uppercase());
        for c in &self.distribution.columns {
            push(&c.to_ascii_lowercase());
        }
        push(&self.distribution.buckets.to_string());
        hex::encode(Md5::digest(canon.as_bytes()))
    }

    /// Check that an existing local table can take this backed-up table's partitions:
    /// same signature over the partitions both have. `shown_name` is the name the restore
    /// uses (the alias when one was given).
    pub fn check_same_schema(&self, local: &TableMeta, shown_name: &str) -> Result<()> {
        let common: Vec<&str> = self
            .partition
            .partitions
            .iter()
            .map(|p| p.name.as_str())
            .filter(|n| local.partition.partitions.iter().any(|lp| lp.name == *n))
            .collect();
        if self.signature(Some(&common)) != local.signature(Some(&common)) {
            return Err(FeError::IllegalState(schema_mismatch_error(shown_name)));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_table() -> TableMeta {
        TableMeta {
            name: "orders".into(),
            id: 10010,
            keys_type: "DUP_KEYS".into(),
            comment: "orders table".into(),
            columns: vec![
                ColumnMeta {
                    name: "k".into(),
                    data_type: "int".into(),
                    nullable: false,
                    is_key: true,
                    aggregation: None,
                    default_value: None,
                    comment: String::new(),
                    auto_increment: None,
                },
                ColumnMeta {
                    name: "v".into(),
                    data_type: "varchar(32)".into(),
                    nullable: true,
                    is_key: false,
                    aggregation: None,
                    default_value: Some("x".into()),
                    comment: "value".into(),
                    auto_increment: None,
                },
            ],
            partition: PartitionMeta {
                kind: "RANGE".into(),
                columns: vec!["k".into()],
                partitions: vec![
                    PartitionEntry {
                        name: "p1".into(),
                        id: 10011,
                        visible_version: 3,
                        item: Some(PartitionItem::Range {
                            lower: vec![],
                            upper: vec![BoundValue::Value("100".into())],
                        }),
                        replication_num: None,
                    },
                    PartitionEntry {
                        name: "p2".into(),
                        id: 10021,
                        visible_version: 1,
                        item: Some(PartitionItem::Range {
                            lower: vec![BoundValue::Value("100".into())],
                            upper: vec![BoundValue::MaxValue],
                        }),
                        replication_num: Some(1),
                    },
                ],
            },
            distribution: DistributionMeta { kind: "HASH".into(), columns: vec!["k".into()], buckets: 3 },
            properties: TableProperties {
                replication_num: 3,
                storage_medium: Some("HDD".into()),
                storage_policy: None,
                other: BTreeMap::from([("binlog.enable".to_string(), "true".to_string())]),
            },
            indexes: vec![IndexMeta { id: 10012, name: "orders".into(), schema_hash: 1387653911 }],
            auto_increment_ceiling: None,
            hidden_columns: Vec::new(),
        }
    }

    #[test]
    fn framing_is_length_then_json() {
        let meta = BackupMeta::new(vec![sample_table()]);
        let bytes = meta.encode();
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(len, bytes.len() - 4);
        let json: serde_json::Value = serde_json::from_slice(&bytes[4..]).unwrap();
        assert_eq!(json["doris_rs_meta_version"], 1);
        assert_eq!(json["tables"][0]["keys_type"], "DUP_KEYS");
        assert_eq!(json["tables"][0]["partition"]["partitions"][1]["item"]["Range"]["upper"][0], "MaxValue");
        assert_eq!(BackupMeta::decode(&bytes).unwrap(), meta);
        assert_eq!(meta.table("orders").unwrap().base_index().unwrap().schema_hash, 1387653911);
        assert!(meta.table_by_id(10010).is_some());
    }

    #[test]
    fn decode_refuses_bad_input_with_reasons() {
        let meta = BackupMeta::new(vec![sample_table()]).encode();
        let e = BackupMeta::decode(&meta[..meta.len() - 1]).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        assert!(BackupMeta::decode(&[0, 0]).unwrap_err().to_string().contains("shorter than"));
        // A Java FE meta: framed Gson of its catalog.
        let java = br#"{"tblNameMap":{},"tblIdMap":{}}"#;
        let mut framed = (java.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(java);
        let e = BackupMeta::decode(&framed).unwrap_err();
        assert!(e.to_string().contains("Java Doris FE"), "{e}");
        let newer = br#"{"doris_rs_meta_version":99,"tables":[]}"#;
        let mut framed = (newer.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(newer);
        assert!(BackupMeta::decode(&framed).unwrap_err().to_string().contains("version 99"));
    }

    #[test]
    fn signature_ignores_names_ids_versions_and_properties() {
        let a = sample_table();
        let mut b = sample_table();
        b.name = "orders_restored".into();
        b.id = 20010;
        b.partition.partitions[0].id = 20011;
        b.partition.partitions[0].visible_version = 99;
        b.properties.replication_num = 1;
        b.columns[1].comment = "other".into();
        b.indexes[0].id = 20012;
        assert_eq!(a.signature(None), b.signature(None));
        a.check_same_schema(&b, "orders").unwrap();
    }

    #[test]
    fn signature_sees_schema_changes() {
        let a = sample_table();
        type Change = Box<dyn Fn(&mut TableMeta)>;
        let changes: Vec<Change> = vec![
            Box::new(|t| t.columns[1].data_type = "varchar(64)".into()),
            Box::new(|t| t.columns[1].nullable = false),
            Box::new(|t| t.columns.pop().map(|_| ()).unwrap()),
            Box::new(|t| t.keys_type = "UNIQUE_KEYS".into()),
            Box::new(|t| t.distribution.buckets = 4),
            Box::new(|t| t.partition.partitions[0].item = Some(PartitionItem::Range { lower: vec![], upper: vec![BoundValue::Value("50".into())] })),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut b = sample_table();
            change(&mut b);
            assert_ne!(a.signature(None), b.signature(None), "change {i}");
            let e = a.check_same_schema(&b, "alias_orders").unwrap_err();
            assert_eq!(e.to_string(), "Table alias_orders already exist but with different schema");
        }
    }

    #[test]
    fn signature_over_common_partitions_only() {
        let a = sample_table();
        let mut local = sample_table();
        local.partition.partitions.remove(1); // local lacks p2
        a.check_same_schema(&local, "orders").unwrap();
        local.partition.partitions.push(PartitionEntry {
            name: "p9".into(),
            id: 1,
            visible_version: 1,
            item: Some(PartitionItem::List(vec![vec!["1".into()]])),
            replication_num: None,
        });
        a.check_same_schema(&local, "orders").unwrap();
        assert_ne!(a.signature(Some(&["p1"])), a.signature(Some(&["p1", "p2"])));
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub fn sample_meta() -> super::BackupMeta {
        super::BackupMeta::new(vec![super::tests::sample_table()])
    }
}
