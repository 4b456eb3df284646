//! The `job_info` document: what a backup contains, written to the repository as
//! `__info_<timestamp>` and handed to the CCR syncer by `getSnapshot`.
//!
//! The JSON shape is the Java FE's (`BackupJobInfo` serialized by Gson):
//!
//! ```json
//! {"name":"snap1","database":"db1","id":10001,"backup_time":1700000000000,"content":"ALL",
//!  "backup_objects":{"tbl":{"id":10010,"partitions":{"p1":{"id":10011,"version":3,
//!     "indexes":{"tbl":{"id":10012,"schema_hash":123456,
//!        "tablets":{"10013":["10013.hdr","0200..._0.dat"]},"tablets_order":[10013]}}}}}},
//!  "backup_tables_error_ignore":[],
//!  "new_backup_objects":{"views":[],"odbc_tables":[],"odbc_resources":[]},
//!  "backup_result":"succeed","meta_version":129,"major_version":2,"minor_version":1,
//!  "patch_version":0,"tablet_be_map":{"10013":10002},
//!  "tablet_snapshot_path_map":{"10013":"/be/storage/snapshot/20240101000000.1.86400"},
//!  "table_commit_seq_map":{"10010":42},
//!  "extra_info":{"be_network_map":{"10002":{"ip":"10.0.0.2","port":8040}},"token":"..."}}
//! ```
//!
//! Ids used as map keys are JSON strings, every other id or number is a JSON number.
//! `table_commit_seq_map` and `extra_info` are left out when unset (Gson drops nulls);
//! the CCR syncer adds `extra_info` before `restoreSnapshot`. Reading is tolerant:
//! unknown keys are ignored, missing keys take their defaults, numbers may be strings or
//! integral floats (see `lenient`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lenient;

mod build;
pub use build::{tablet_content_path, JobInfoInput, TabletSnapshot};
use crate::error::{FeError, Result};

/// What a backup holds: data and metadata, or metadata only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BackupContent {
    #[default]
    #[serde(rename = "ALL")]
    All,
    #[serde(rename = "METADATA_ONLY")]
    MetadataOnly,
}

impl BackupContent {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupContent::All => "ALL",
            BackupContent::MetadataOnly => "METADATA_ONLY",
        }
    }

    /// Upstream's spelling, case-insensitive (`all`, `metadata_only`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ALL" => Some(BackupContent::All),
            "METADATA_ONLY" => Some(BackupContent::MetadataOnly),
            _ => None,
        }
    }
}

/// The `backup_result` value of a successful backup.
pub const BACKUP_RESULT_SUCCEED: &str = "succeed";

/// The FE meta version written into `meta_version` (the Java FE's `FeConstants.meta_version`
/// of the 2.1 line); readers use it to decode `meta`, which doris-rs versions itself.
pub const META_VERSION: i32 = 129;
pub const MAJOR_VERSION: i32 = 2;
pub const MINOR_VERSION: i32 = 1;
pub const PATCH_VERSION: i32 = 0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupJobInfo {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub database: String,
    /// The database id.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub id: i64,
    /// Milliseconds since the epoch.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub backup_time: i64,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub content: BackupContent,
    /// OLAP tables by name.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub backup_objects: BTreeMap<String, BackupOlapTableInfo>,
    /// Tables skipped because of errors (newer Java FEs); empty here.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub backup_tables_error_ignore: Vec<String>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub new_backup_objects: NewBackupObjects,
    /// `"succeed"` for a usable backup.
    #[serde(default = "default_backup_result", deserialize_with = "lenient::null_default")]
    pub backup_result: String,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub meta_version: i32,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub major_version: i32,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub minor_version: i32,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub patch_version: i32,
    /// Tablet id -> the backend holding its snapshot (local snapshots).
    #[serde(default, deserialize_with = "lenient::id_num_map")]
    pub tablet_be_map: BTreeMap<i64, i64>,
    /// Tablet id -> the snapshot directory on that backend.
    #[serde(default, deserialize_with = "lenient::id_map")]
    pub tablet_snapshot_path_map: BTreeMap<i64, String>,
    /// Table id -> binlog commit seq at snapshot time (CCR).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_id_num_map")]
    pub table_commit_seq_map: Option<BTreeMap<i64, i64>>,
    /// Added by the CCR syncer: how to reach the source backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<ExtraInfo>,
}

fn default_backup_result() -> String {
    BACKUP_RESULT_SUCCEED.to_string()
}

impl Default for BackupJobInfo {
    fn default() -> Self {
        BackupJobInfo {
            name: String::new(),
            database: String::new(),
            id: 0,
            backup_time: 0,
            content: BackupContent::All,
            backup_objects: BTreeMap::new(),
            backup_tables_error_ignore: Vec::new(),
            new_backup_objects: NewBackupObjects::default(),
            backup_result: default_backup_result(),
            meta_version: META_VERSION,
            major_version: MAJOR_VERSION,
            minor_version: MINOR_VERSION,
            patch_version: PATCH_VERSION,
            tablet_be_map: BTreeMap::new(),
            tablet_snapshot_path_map: BTreeMap::new(),
            table_commit_seq_map: None,
            extra_info: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupOlapTableInfo {
    #[serde(default, deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub partitions: BTreeMap<String, BackupPartitionInfo>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupPartitionInfo {
    #[serde(default, deserialize_with = "lenient::i64")]
    pub id: i64,
    /// Visible version at backup time.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub version: i64,
    /// Materialized indexes by name (the base index has the table's name).
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub indexes: BTreeMap<String, BackupIndexInfo>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupIndexInfo {
    #[serde(default, deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub schema_hash: i32,
    /// Tablet id -> its snapshot files (`<name>.<md5>` for repository backups; plain names
    /// for local snapshots; empty for metadata-only backups).
    #[serde(default, deserialize_with = "lenient::id_map")]
    pub tablets: BTreeMap<i64, Vec<String>>,
    /// Tablet ids in bucket order.
    #[serde(default, deserialize_with = "lenient::num_list")]
    pub tablets_order: Vec<i64>,
}

impl BackupIndexInfo {
    /// Tablet ids in bucket order: `tablets_order`, or for old backups that did not save
    /// it, the tablet ids ascending (what upstream does too).
    pub fn sorted_tablet_ids(&self) -> Vec<i64> {
        if self.tablets_order.is_empty() {
            self.tablets.keys().copied().collect()
        } else {
            self.tablets_order.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewBackupObjects {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub views: Vec<BackupViewInfo>,
    /// Kept as written; doris-rs does not back up ODBC tables.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub odbc_tables: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub odbc_resources: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupViewInfo {
    #[serde(default, deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExtraInfo {
    /// Backend id -> its address; `port` is the backend's HTTP port.
    #[serde(default, deserialize_with = "lenient::id_map")]
    pub be_network_map: BTreeMap<i64, NetworkAddr>,
    /// The source cluster's token, for the BE download API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NetworkAddr {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub ip: String,
    #[serde(default, deserialize_with = "lenient::i32")]
    pub port: i32,
}

/// Ids naming one tablet of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TabletIds {
    pub db_id: i64,
    pub table_id: i64,
    pub partition_id: i64,
    pub index_id: i64,
    pub tablet_id: i64,
}

/// One tablet of a backup with where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct TabletEntry<'a> {
    pub table: &'a str,
    pub partition: &'a str,
    pub index: &'a str,
    pub ids: TabletIds,
    pub schema_hash: i32,
    pub files: &'a [String],
}

/// The brief form shown by `SHOW SNAPSHOT ... WHERE SNAPSHOT = .. AND TIMESTAMP = ..`.
#[derive(Debug, Serialize)]
struct BriefJobInfo<'a> {
    name: &'a str,
    database: &'a str,
    backup_time: i64,
    content: BackupContent,
    olap_table_list: Vec<BriefOlapTable<'a>>,
    view_list: &'a [BackupViewInfo],
    odbc_table_list: &'a [serde_json::Value],
    odbc_resource_list: &'a [serde_json::Value],
}

#[derive(Debug, Serialize)]
struct BriefOlapTable<'a> {
    name: &'a str,
    partition_names: Vec<&'a str>,
}

impl BackupJobInfo {
    /// Parse a `job_info` document (bytes from a repository, `getSnapshot` or `restoreSnapshot`).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| FeError::InvalidArgument(format!("job_info is not a valid backup job info document: {e}")))
    }

    /// The document as the Java FE writes it (compact JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a job info always serializes")
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a job info always serializes")
    }

    /// Whether the backup that wrote this document succeeded.
    pub fn is_success(&self) -> bool {
        self.backup_result == BACKUP_RESULT_SUCCEED
    }

    /// The meta version to decode `meta` with; upstream's rule: a missing (0) value means
    /// the current version.
    pub fn effective_meta_version(&self) -> i32 {
        if self.meta_version == 0 { META_VERSION } else { self.meta_version }
    }

    /// The name of a backed-up OLAP table by id.
    pub fn table_name_by_id(&self, table_id: i64) -> Option<&str> {
        self.backup_objects.iter().find(|(_, t)| t.id == table_id).map(|(n, _)| n.as_str())
    }

    /// Table id -> name, for every OLAP table and view (what the syncer builds from it).
    pub fn table_name_mapping(&self) -> BTreeMap<i64, String> {
        let mut m: BTreeMap<i64, String> = self.backup_objects.iter().map(|(n, t)| (t.id, n.clone())).collect();
        for v in &self.new_backup_objects.views {
            m.insert(v.id, v.name.clone());
        }
        m
    }

    /// The schema hash of an index, looked up by ids.
    pub fn schema_hash(&self, table_id: i64, partition_id: i64, index_id: i64) -> Option<i32> {
        let t = self.backup_objects.values().find(|t| t.id == table_id)?;
        let p = t.partitions.values().find(|p| p.id == partition_id)?;
        p.indexes.values().find(|i| i.id == index_id).map(|i| i.schema_hash)
    }

    /// The address of a source backend from `extra_info`.
    pub fn be_addr(&self, be_id: i64) -> Option<&NetworkAddr> {
        self.extra_info.as_ref()?.be_network_map.get(&be_id)
    }

    /// The source cluster token from `extra_info`.
    pub fn token(&self) -> Option<&str> {
        self.extra_info.as_ref()?.token.as_deref()
    }

    /// Every tablet, table by table, partition by partition, index by index, tablets in
    /// bucket order.
    pub fn tablets(&self) -> Vec<TabletEntry<'_>> {
        let mut out = Vec::new();
        for (tname, t) in &self.backup_objects {
            for (pname, p) in &t.partitions {
                for (iname, i) in &p.indexes {
                    for tablet_id in i.sorted_tablet_ids() {
                        let files = i.tablets.get(&tablet_id).map(Vec::as_slice).unwrap_or(&[]);
                        out.push(TabletEntry {
                            table: tname,
                            partition: pname,
                            index: iname,
                            ids: TabletIds {
                                db_id: self.id,
                                table_id: t.id,
                                partition_id: p.id,
                                index_id: i.id,
                                tablet_id,
                            },
                            schema_hash: i.schema_hash,
                            files,
                        });
                    }
                }
            }
        }
        out
    }

    /// Keep only the named tables (RESTORE ... ON); names not in the backup are ignored.
    pub fn retain_tables(&mut self, names: &[&str]) {
        self.backup_objects.retain(|n, _| names.contains(&n.as_str()));
        self.new_backup_objects.views.retain(|v| names.contains(&v.name.as_str()));
    }

    /// The pretty JSON of table and partition names shown as SHOW SNAPSHOT `Details`.
    pub fn brief(&self) -> String {
        let brief = BriefJobInfo {
            name: &self.name,
            database: &self.database,
            backup_time: self.backup_time,
            content: self.content,
            olap_table_list: self
                .backup_objects
                .iter()
                .map(|(n, t)| BriefOlapTable { name: n, partition_names: t.partitions.keys().map(String::as_str).collect() })
                .collect(),
            view_list: &self.new_backup_objects.views,
            odbc_table_list: &self.new_backup_objects.odbc_tables,
            odbc_resource_list: &self.new_backup_objects.odbc_resources,
        };
        serde_json::to_string_pretty(&brief).expect("a brief job info always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document shaped like a Java FE writes for a local (CCR) snapshot: map keys are
    /// strings, ids are numbers, no extra_info yet.
    fn upstream_sample() -> serde_json::Value {
        json!({
            "name": "ccrs_20240101",
            "database": "src_db",
            "id": 10001,
            "backup_time": 1704067200123_i64,
            "content": "ALL",
            "backup_objects": {
                "orders": {
                    "id": 10010,
                    "partitions": {
                        "p2024": {
                            "id": 10011,
                            "version": 7,
                            "indexes": {
                                "orders": {
                                    "id": 10012,
                                    "schema_hash": 1387653911,
                                    "tablets": {
                                        "10014": ["10014.hdr", "020000000000000a0f_0.dat"],
                                        "10013": ["10013.hdr"]
                                    },
                                    "tablets_order": [10014, 10013]
                                }
                            }
                        }
                    }
                }
            },
            "backup_tables_error_ignore": [],
            "new_backup_objects": {"views": [{"id": 10020, "name": "v_orders"}], "odbc_tables": [], "odbc_resources": []},
            "backup_result": "succeed",
            "meta_version": 129,
            "major_version": 2,
            "minor_version": 1,
            "patch_version": 7,
            "tablet_be_map": {"10013": 10002, "10014": 10003},
            "tablet_snapshot_path_map": {
                "10013": "/data/be/storage/snapshot/20240101000000.5.86400",
                "10014": "/data/be2/storage/snapshot/20240101000000.6.86400"
            },
            "table_commit_seq_map": {"10010": 42}
        })
    }

    #[test]
    fn reads_upstream_shape() {
        let bytes = serde_json::to_vec(&upstream_sample()).unwrap();
        let info = BackupJobInfo::from_json(&bytes).unwrap();
        assert_eq!(info.name, "ccrs_20240101");
        assert_eq!(info.id, 10001);
        assert_eq!(info.backup_time, 1704067200123);
        assert!(info.is_success());
        let idx = &info.backup_objects["orders"].partitions["p2024"].indexes["orders"];
        assert_eq!(idx.schema_hash, 1387653911);
        assert_eq!(idx.sorted_tablet_ids(), vec![10014, 10013]);
        assert_eq!(idx.tablets[&10014], vec!["10014.hdr".to_string(), "020000000000000a0f_0.dat".to_string()]);
        assert_eq!(info.tablet_be_map[&10014], 10003);
        assert_eq!(info.table_commit_seq_map.as_ref().unwrap()[&10010], 42);
        assert_eq!(info.schema_hash(10010, 10011, 10012), Some(1387653911));
        assert_eq!(info.table_name_by_id(10010), Some("orders"));
        assert_eq!(info.table_name_mapping()[&10020], "v_orders");
        let tablets = info.tablets();
        assert_eq!(tablets.len(), 2);
        assert_eq!(tablets[0].ids.tablet_id, 10014);
        assert_eq!(tablet_content_path(&tablets[0].ids), "__db_10001/__tbl_10010/__part_10011/__idx_10012/__10014");
    }

    #[test]
    fn writes_upstream_key_types_and_round_trips() {
        let info = BackupJobInfo::from_json(&serde_json::to_vec(&upstream_sample()).unwrap()).unwrap();
        let out: serde_json::Value = serde_json::from_str(&info.to_json()).unwrap();
        // Exactly the upstream document back (key order aside): ids as numbers, map keys as strings.
        assert_eq!(out, upstream_sample());
        assert!(out["tablet_be_map"]["10013"].is_i64());
        assert!(out["backup_objects"]["orders"]["partitions"]["p2024"]["indexes"]["orders"]["tablets_order"][0].is_i64());
        assert!(out.get("extra_info").is_none(), "unset extra_info must be left out like Gson does");
        let again = BackupJobInfo::from_json(info.to_json().as_bytes()).unwrap();
        assert_eq!(again, info);
    }

    #[test]
    fn syncer_injected_extra_info_and_go_reencoding() {
        // What the syncer sends back: the document through map[string]interface{} (floats,
        // sorted keys) plus extra_info, and keys this FE does not know.
        let mut v = upstream_sample();
        v["backup_time"] = json!(1.704067200123e12);
        v["id"] = json!(10001.0);
        v["some_future_key"] = json!({"x": [1, 2]});
        v["is_force_replication_allocation"] = json!(false);
        v["extra_info"] = json!({
            "be_network_map": {"10002": {"ip": "10.0.0.2", "port": 8040}, "10003": {"ip": "10.0.0.3", "port": 8040.0}},
            "token": "7f3a-token"
        });
        let info = BackupJobInfo::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(info.backup_time, 1704067200123);
        assert_eq!(info.id, 10001);
        assert_eq!(info.be_addr(10003), Some(&NetworkAddr { ip: "10.0.0.3".into(), port: 8040 }));
        assert_eq!(info.token(), Some("7f3a-token"));
        let out: serde_json::Value = serde_json::from_str(&info.to_json()).unwrap();
        assert_eq!(out["extra_info"]["be_network_map"]["10002"]["port"], json!(8040));
        assert!(out.get("some_future_key").is_none());
    }

    #[test]
    fn missing_and_null_keys_default() {
        let info = BackupJobInfo::from_json(
            br#"{"name":"s","database":"d","id":"5","backup_objects":null,"tablet_be_map":null,"extra_info":{"be_network_map":{}}}"#,
        )
        .unwrap();
        assert_eq!(info.id, 5);
        assert!(info.backup_objects.is_empty());
        assert_eq!(info.content, BackupContent::All);
        assert!(info.is_success(), "a missing backup_result reads as the default 'succeed'");
        assert_eq!(info.meta_version, 0);
        assert_eq!(info.effective_meta_version(), META_VERSION);
        assert_eq!(info.table_commit_seq_map, None);
        assert_eq!(info.token(), None);
        let old = br#"{"name":"s","database":"d","id":1,"backup_result":"failed","backup_objects":{"t":{"id":2,"partitions":{"p":{"id":3,"version":1,"version_hash":99,"indexes":{"t":{"id":4,"schema_hash":5,"tablets":{"9":[],"7":[]}}}}}}}}"#;
        let info = BackupJobInfo::from_json(old).unwrap();
        assert!(!info.is_success());
        assert_eq!(info.backup_objects["t"].partitions["p"].indexes["t"].sorted_tablet_ids(), vec![7, 9]);
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        let e = BackupJobInfo::from_json(b"{\"id\": \"abc\"}").unwrap_err();
        assert!(e.to_string().contains("'abc' is not a number"), "{e}");
        let e = BackupJobInfo::from_json(b"not json").unwrap_err();
        assert!(e.to_string().contains("job_info is not a valid backup job info document"), "{e}");
        assert!(BackupJobInfo::from_json(br#"{"tablet_be_map":{"x":1}}"#).is_err());
    }

    #[test]
    fn brief_and_retain() {
        let mut info = BackupJobInfo::from_json(&serde_json::to_vec(&upstream_sample()).unwrap()).unwrap();
        let brief: serde_json::Value = serde_json::from_str(&info.brief()).unwrap();
        assert_eq!(brief["olap_table_list"][0], json!({"name": "orders", "partition_names": ["p2024"]}));
        assert_eq!(brief["view_list"][0]["name"], "v_orders");
        assert_eq!(brief["database"], "src_db");
        info.retain_tables(&["v_orders"]);
        assert!(info.backup_objects.is_empty());
        assert_eq!(info.new_backup_objects.views.len(), 1);
    }

    #[test]
    fn content_names() {
        assert_eq!(BackupContent::parse("metadata_only"), Some(BackupContent::MetadataOnly));
        assert_eq!(BackupContent::parse("All"), Some(BackupContent::All));
        assert_eq!(BackupContent::parse("x"), None);
        assert_eq!(serde_json::to_string(&BackupContent::MetadataOnly).unwrap(), "\"METADATA_ONLY\"");
    }
}
