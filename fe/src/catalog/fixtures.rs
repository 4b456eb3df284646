//! Tables for unit tests, built the way CREATE TABLE builds them.

use crate::catalog::spec::build_table;
use crate::catalog::types::KeysType;
use crate::catalog::{
    ColumnSpec, CreateTableSpec, DistributionSpec, OlapTable, PartitionSpec, RangeValues,
};

/// A nullable-by-default column as a statement would declare it.
pub fn column(name: &str, type_text: &str) -> ColumnSpec {
    ColumnSpec {
        name: name.into(),
        type_text: type_text.into(),
        nullable: None,
        aggregation: None,
        default_value: None,
        comment: String::new(),
        auto_increment: None,
    }
}

/// `db.t`: INT key `k`, VARCHAR `v`, RANGE partitions on `k` named and bounded by
/// `uppers` (`LESS THAN` each), hash-distributed on `k` in `buckets` buckets, one replica.
pub fn range_spec(uppers: &[(&str, &str)], buckets: u32) -> CreateTableSpec {
    CreateTableSpec {
        db: "db".into(),
        name: "t".into(),
        if_not_exists: false,
        columns: vec![column("k", "int"), column("v", "varchar(10)")],
        keys: Some((KeysType::Duplicate, vec!["k".into()])),
        partition: PartitionSpec::Range {
            columns: vec!["k".into()],
            partitions: uppers
                .iter()
                .map(|(name, hi)| (name.to_string(), RangeValues::LessThan(Some(vec![hi.to_string()]))))
                .collect(),
        },
        distribution: Some(DistributionSpec::Hash { columns: vec!["k".into()], buckets: Some(buckets) }),
        properties: [("replication_num".to_string(), "1".to_string())].into(),
        comment: String::new(),
        auto_increment_ceiling: None,
        hidden: None,
    }
}

/// `spec` built for database `db_id` with its one replica per tablet on backend 7, ids
/// drawn from `next`.
pub fn build(spec: &CreateTableSpec, db_id: i64, next: &mut i64) -> OlapTable {
    build_table(
        spec,
        db_id,
        &[7],
        || {
            *next += 1;
            Ok(*next)
        },
        0,
    )
    .unwrap()
}

/// [`range_spec`] with p1 (< 10) and p2 (< 20), 2 buckets, ids from 1000 up.
pub fn two_partition_table() -> OlapTable {
    build(&range_spec(&[("p1", "10"), ("p2", "20")], 2), 1, &mut 1000)
}
