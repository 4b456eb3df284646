//! Tables for unit tests, built the way CREATE TABLE builds them.

use crate::catalog::spec::build_table;
use crate::catalog::types::KeysType;
use crate::catalog::{
    ColumnSpec, CreateTableSpec, DistributionSpec, OlapTable, PartitionSpec, RangeValues,
};

/// `db.t`: INT key `k`, RANGE partitions p1 (< 10) and p2 (< 20), 2 buckets, one replica
/// on backend 7 each; ids from 1000 up.
pub fn two_partition_table() -> OlapTable {
    let col = |n: &str, t: &str| ColumnSpec {
        name: n.into(),
        type_text: t.into(),
        nullable: None,
        aggregation: None,
        default_value: None,
        comment: String::new(),
    };
    let spec = CreateTableSpec {
        db: "db".into(),
        name: "t".into(),
        if_not_exists: false,
        columns: vec![col("k", "int"), col("v", "varchar(10)")],
        keys: Some((KeysType::Duplicate, vec!["k".into()])),
        partition: PartitionSpec::Range {
            columns: vec!["k".into()],
            partitions: vec![
                ("p1".into(), RangeValues::LessThan(Some(vec!["10".into()]))),
                ("p2".into(), RangeValues::LessThan(Some(vec!["20".into()]))),
            ],
        },
        distribution: Some(DistributionSpec::Hash { columns: vec!["k".into()], buckets: Some(2) }),
        properties: [("replication_num".to_string(), "1".to_string())].into(),
        comment: String::new(),
    };
    let mut next = 1000;
    build_table(
        &spec,
        1,
        &[7],
        || {
            next += 1;
            Ok(next)
        },
        0,
    )
    .unwrap()
}
