//! The records of DDL binlogs, in the JSON shapes upstream writes and the CCR syncer reads:
//! ADD_PARTITION (with the `sql` the syncer replays after `ALTER TABLE <t>`),
//! DROP_PARTITION (`sql` likewise), TRUNCATE_TABLE (`rawSql` after `TRUNCATE TABLE <t>`),
//! CREATE_TABLE (the full `sql`) and DROP_TABLE.

use serde::Serialize;

use crate::catalog::table::{Distribution, PartitionKind};
use crate::catalog::{OlapTable, Partition};

/// Distribution as upstream's partition JSON carries it; the syncer rebuilds
/// `DISTRIBUTED BY ...` from it when the record's sql has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistributionRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub bucket_num: u32,
    pub distribution_columns: Vec<NamedColumn>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedColumn {
    pub name: String,
}

impl DistributionRecord {
    pub fn of(d: &Distribution, buckets: u32) -> Self {
        match d {
            Distribution::Hash { columns, .. } => DistributionRecord {
                kind: "HASH",
                bucket_num: buckets,
                distribution_columns: columns.iter().map(|c| NamedColumn { name: c.clone() }).collect(),
            },
            Distribution::Random { .. } => DistributionRecord { kind: "RANDOM", bucket_num: buckets, distribution_columns: vec![] },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionRef {
    pub id: i64,
    pub name: String,
    pub visible_version: i64,
    pub distribution_info: DistributionRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddPartitionRecord {
    pub commit_seq: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub partition: PartitionRef,
    pub is_temp_partition: bool,
    pub sql: String,
}

impl AddPartitionRecord {
    pub fn new(commit_seq: i64, table: &OlapTable, p: &Partition) -> Self {
        AddPartitionRecord {
            commit_seq,
            db_id: table.db_id,
            table_id: table.id,
            partition: PartitionRef {
                id: p.id,
                name: p.name.clone(),
                visible_version: p.visible_version,
                distribution_info: DistributionRecord::of(&table.distribution, p.buckets),
            },
            is_temp_partition: false,
            sql: add_partition_sql(table, p),
        }
    }
}

/// `ADD PARTITION `p` VALUES [("lo"), ("hi")) ("version_info" = "N");` (or `VALUES IN`),
/// as upstream writes it: the bounds as stored, the version the new partition starts at.
pub fn add_partition_sql(table: &OlapTable, p: &Partition) -> String {
    let tuple = |keys: &[String]| format!("({})", keys.iter().map(|k| format!("\"{}\"", k.replace('"', "\\\""))).collect::<Vec<_>>().join(", "));
    let values = match (&table.partition_kind, &p.range) {
        (PartitionKind::Range, Some((lo, hi))) => format!("VALUES [{}, {})", tuple(lo), tuple(hi)),
        (PartitionKind::List, _) => format!("VALUES IN ({})", p.list_values.iter().map(|v| tuple(v)).collect::<Vec<_>>().join(", ")),
        _ => return format!("ADD PARTITION `{}` ", p.name),
    };
    format!("ADD PARTITION `{}` {values} (\"version_info\" = \"{}\");", p.name, p.visible_version)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DropPartitionRecord {
    pub commit_seq: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub partition_id: i64,
    pub partition_name: String,
    pub is_temp_partition: bool,
    pub force_drop: bool,
    pub sql: String,
}

impl DropPartitionRecord {
    pub fn new(commit_seq: i64, table: &OlapTable, p: &Partition, force: bool) -> Self {
        let sql = format!("DROP PARTITION `{}`{}", p.name, if force { " FORCE" } else { "" });
        DropPartitionRecord {
            commit_seq,
            db_id: table.db_id,
            table_id: table.id,
            partition_id: p.id,
            partition_name: p.name.clone(),
            is_temp_partition: false,
            force_drop: force,
            sql,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TruncateTableRecord {
    pub commit_seq: i64,
    pub db_id: i64,
    pub db: String,
    pub tbl_id: i64,
    pub table: String,
    pub is_entire_table: bool,
    /// What followed the table name: `PARTITIONS (p1, p2)`, or empty for the whole table.
    pub raw_sql: String,
}

impl TruncateTableRecord {
    pub fn new(commit_seq: i64, db: &str, table: &OlapTable, partitions: &[String]) -> Self {
        let raw_sql = if partitions.is_empty() {
            String::new()
        } else {
            format!("PARTITIONS ({})", partitions.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))
        };
        TruncateTableRecord {
            commit_seq,
            db_id: table.db_id,
            db: db.to_string(),
            tbl_id: table.id,
            table: table.name.clone(),
            is_entire_table: partitions.is_empty(),
            raw_sql,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTableRecord {
    pub commit_seq: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub sql: String,
    pub db_name: String,
    pub table_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DropTableRecord {
    pub commit_seq: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub table_name: String,
    pub is_view: bool,
    pub raw_sql: String,
}

/// RENAME_TABLE's record: upstream's table-info keys (`db`, `tb`, `oT`, `nT`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenameTableRecord {
    #[serde(rename = "db")]
    pub db_id: i64,
    #[serde(rename = "tb")]
    pub table_id: i64,
    #[serde(rename = "oT")]
    pub old_table_name: String,
    #[serde(rename = "nT")]
    pub new_table_name: String,
}

/// MODIFY_TABLE_ADD_OR_DROP_COLUMNS's record: what the syncer reads of upstream's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifyColumnsRecord {
    pub db_id: i64,
    pub table_id: i64,
    /// `ALTER TABLE `db`.`t` ADD COLUMN ...` / `DROP COLUMN ...`.
    pub raw_sql: String,
}

/// A record as the JSON a binlog entry carries.
pub fn to_json(r: &impl Serialize) -> String {
    serde_json::to_string(r).expect("a binlog record serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::two_partition_table;
    use crate::catalog::spec::{build_partition, NewPartitionSpec, PartitionBounds};

    /// The records' keys and the sql the syncer replays after `ALTER TABLE <t>`; the
    /// replayed sql parses back to the same partition.
    #[test]
    fn partition_records_in_upstreams_shape() {
        let t = two_partition_table();
        let spec = NewPartitionSpec { name: "p3".into(), bounds: PartitionBounds::LessThan(vec!["30".into()]), buckets: 3, replication_num: 1 };
        let mut next = 5000;
        let mut p = build_partition(&t, &spec, &[7], || { next += 1; Ok(next) }, 0).unwrap();
        p.visible_version = 4;
        assert_eq!(p.range, Some((vec!["20".to_string()], vec!["30".to_string()])), "LESS THAN starts at the last upper below it");
        let r = AddPartitionRecord::new(77, &t, &p);
        assert_eq!(r.sql, "ADD PARTITION `p3` VALUES [(\"20\"), (\"30\")) (\"version_info\" = \"4\");");
        let v: serde_json::Value = serde_json::from_str(&to_json(&r)).unwrap();
        assert_eq!((v["dbId"].as_i64(), v["tableId"].as_i64(), v["isTempPartition"].as_bool()), (Some(1), Some(t.id), Some(false)));
        let di = &v["partition"]["distributionInfo"];
        assert_eq!((di["type"].as_str(), di["bucketNum"].as_i64()), (Some("HASH"), Some(3)));
        assert_eq!(di["distributionColumns"][0]["name"], "k");
        // What the syncer sends: "ALTER TABLE <t> " + sql minus ';' + " DISTRIBUTED BY HASH(`k`) BUCKETS 3".
        let replayed = format!("ALTER TABLE `t` {} DISTRIBUTED BY HASH(`k`) BUCKETS 3", r.sql.trim_end_matches(';'));
        assert!(matches!(crate::sql::parse(&replayed).unwrap(), crate::sql::Statement::AddPartition(_)), "{replayed}");

        let d = DropPartitionRecord::new(78, &t, &t.partitions[0], false);
        assert_eq!(d.sql, "DROP PARTITION `p1`");
        let v: serde_json::Value = serde_json::from_str(&to_json(&d)).unwrap();
        assert_eq!((v["tableId"].as_i64(), v["isTempPartition"].as_bool()), (Some(t.id), Some(false)));
        assert!(matches!(crate::sql::parse(&format!("ALTER TABLE `t` {}", d.sql)).unwrap(), crate::sql::Statement::DropPartition { .. }));

        let tr = TruncateTableRecord::new(79, "db", &t, &["p2".to_string()]);
        let v: serde_json::Value = serde_json::from_str(&to_json(&tr)).unwrap();
        assert_eq!((v["tblId"].as_i64(), v["table"].as_str(), v["db"].as_str()), (Some(t.id), Some("t"), Some("db")));
        assert_eq!((v["rawSql"].as_str(), v["isEntireTable"].as_bool()), (Some("PARTITIONS (`p2`)"), Some(false)));
        assert!(matches!(crate::sql::parse(&format!("TRUNCATE TABLE `t` {}", tr.raw_sql)).unwrap(), crate::sql::Statement::TruncateTable { partitions, .. } if partitions == ["p2"]));
        assert_eq!(TruncateTableRecord::new(80, "db", &t, &[]).raw_sql, "");
    }

    /// A CREATE_TABLE record's sql (SHOW CREATE TABLE's text) is what the syncer runs on
    /// the target: it must parse back to a CREATE TABLE.
    #[test]
    fn create_table_sql_replays() {
        let t = two_partition_table();
        match crate::sql::parse(&t.create_table_ddl()).unwrap() {
            crate::sql::Statement::CreateTable(ct) => assert_eq!(ct.name.table, "t"),
            other => panic!("{other:?}"),
        }
    }
}
