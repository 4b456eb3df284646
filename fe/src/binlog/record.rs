//! One binlog entry and the UPSERT record a load's publish writes into it, in the JSON shape
//! upstream writes and the CCR syncer reads.

use std::collections::BTreeMap;

use doris_thrift::frontend_service::{TBinlog, TBinlogType};
use serde::{Deserialize, Serialize};

/// Upstream's `TBinlogType` numbers: the syncer dispatches on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinlogKind {
    Upsert = 0,
    AddPartition = 1,
    CreateTable = 2,
    DropPartition = 3,
    DropTable = 4,
    ModifyColumns = 6,
    Dummy = 7,
    Barrier = 10,
    TruncateTable = 13,
    RenameTable = 14,
}

impl BinlogKind {
    /// Entries only the database's log carries: a table's log (table sync) has neither
    /// its own creation nor its drop, as upstream.
    pub fn database_only(self) -> bool {
        matches!(self, BinlogKind::CreateTable | BinlogKind::DropTable)
    }

    pub fn to_thrift(self) -> TBinlogType {
        TBinlogType(self as i32)
    }
}

/// One entry of a database's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binlog {
    pub commit_seq: i64,
    pub timestamp_ms: i64,
    pub kind: BinlogKind,
    pub db_id: i64,
    pub table_ids: Vec<i64>,
    /// The record (JSON) the syncer replays.
    pub data: String,
    /// The table a DUMMY stands for (-1: the database).
    pub belong: i64,
}

impl Binlog {
    /// Whether the log of table `table_id` (`None`: the database's) carries this entry.
    pub fn in_log_of(&self, table_id: Option<i64>) -> bool {
        match table_id {
            None => true,
            Some(t) => self.table_ids.contains(&t) && !self.kind.database_only(),
        }
    }

    /// Upstream's DUMMY: the entry that heads a log and marks how far it was collected; a
    /// reader behind it gets it with BINLOG_TOO_OLD_COMMIT_SEQ and starts a full sync.
    pub fn dummy(db_id: i64, belong: i64, commit_seq: i64) -> Binlog {
        Binlog { commit_seq, timestamp_ms: -1, kind: BinlogKind::Dummy, db_id, table_ids: vec![], data: String::new(), belong }
    }

    /// An entry recording a change of `table_ids` (DDL), its record as JSON.
    pub fn of_change(kind: BinlogKind, commit_seq: i64, db_id: i64, table_ids: Vec<i64>, data: String, now_ms: i64) -> Binlog {
        Binlog { commit_seq, timestamp_ms: now_ms, kind, db_id, table_ids, data, belong: -1 }
    }

    pub fn to_thrift(&self) -> TBinlog {
        TBinlog {
            commit_seq: Some(self.commit_seq),
            timestamp: Some(self.timestamp_ms),
            type_: Some(self.kind.to_thrift()),
            db_id: Some(self.db_id),
            table_ids: (!self.table_ids.is_empty()).then(|| self.table_ids.clone()),
            data: (!self.data.is_empty()).then(|| self.data.clone()),
            belong: (self.kind == BinlogKind::Dummy).then_some(self.belong),
            table_ref: None,
            remove_enable_cache: None,
        }
    }
}

/// A published load, as upstream's UpsertRecord serializes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertRecord {
    pub commit_seq: i64,
    pub txn_id: i64,
    pub time_stamp: i64,
    pub label: String,
    pub db_id: i64,
    /// Table id -> what the load made visible in it. Ids as JSON object keys are strings.
    pub table_records: BTreeMap<i64, TableRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableRecord {
    pub partition_records: Vec<PartitionRecord>,
    pub index_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionRecord {
    pub partition_id: i64,
    /// The partition's range as getMeta and SHOW PARTITIONS print it: the syncer pairs
    /// partitions of the two clusters by this string.
    pub range: String,
    pub version: i64,
    pub is_temp_partition: bool,
}

impl UpsertRecord {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an upsert record serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys and value types the syncer's record reader expects.
    #[test]
    fn upsert_record_has_upstreams_json_shape() {
        let r = UpsertRecord {
            commit_seq: 12,
            txn_id: 34,
            time_stamp: 1_700_000_000_000,
            label: "l1".into(),
            db_id: 5,
            table_records: BTreeMap::from([(
                6,
                TableRecord {
                    partition_records: vec![PartitionRecord {
                        partition_id: 7,
                        range: "[types: [INT]; keys: [0]; ..types: [INT]; keys: [10]; )".into(),
                        version: 3,
                        is_temp_partition: false,
                    }],
                    index_ids: vec![8],
                },
            )]),
        };
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["commitSeq"], 12);
        assert_eq!(v["txnId"], 34);
        assert_eq!(v["timeStamp"], 1_700_000_000_000i64);
        assert_eq!(v["label"], "l1");
        assert_eq!(v["dbId"], 5);
        let p = &v["tableRecords"]["6"]["partitionRecords"][0];
        assert_eq!((p["partitionId"].clone(), p["version"].clone(), p["isTempPartition"].clone()), (7.into(), 3.into(), false.into()));
        assert_eq!(v["tableRecords"]["6"]["indexIds"], serde_json::json!([8]));
        let back: UpsertRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn thrift_form_of_an_entry_and_a_dummy() {
        let b = Binlog {
            commit_seq: 9,
            timestamp_ms: 100,
            kind: BinlogKind::Upsert,
            db_id: 1,
            table_ids: vec![2],
            data: "{}".into(),
            belong: -1,
        };
        let t = b.to_thrift();
        assert_eq!((t.commit_seq, t.type_, t.table_ids.clone(), t.belong), (Some(9), Some(TBinlogType::UPSERT), Some(vec![2]), None));
        let d = Binlog::dummy(1, 2, 4).to_thrift();
        assert_eq!((d.commit_seq, d.type_, d.belong, d.timestamp), (Some(4), Some(TBinlogType::DUMMY), Some(2), Some(-1)));
        assert_eq!(BinlogKind::TruncateTable.to_thrift(), TBinlogType::TRUNCATE_TABLE);
        // A table's log has its loads and partition changes, not its creation or drop.
        assert!(b.in_log_of(Some(2)) && b.in_log_of(None) && !b.in_log_of(Some(3)));
        let created = Binlog { kind: BinlogKind::CreateTable, ..b.clone() };
        assert!(!created.in_log_of(Some(2)) && created.in_log_of(None));
    }
}
