use std::collections::BTreeMap;

use super::*;
use crate::catalog::types::KeysType;
use crate::catalog::OlapTable;

fn spec() -> CreateTableSpec {
    let col = |n: &str, t: &str| ColumnSpec {
        name: n.into(),
        type_text: t.into(),
        nullable: None,
        aggregation: None,
        default_value: None,
        comment: String::new(),
        auto_increment: None,
    };
    CreateTableSpec {
        db: "db".into(),
        name: "t".into(),
        if_not_exists: false,
        columns: vec![col("k1", "int"), col("v", "varchar(10)")],
        keys: Some((KeysType::Duplicate, vec!["k1".into()])),
        partition: PartitionSpec::Range {
            columns: vec!["k1".into()],
            partitions: vec![
                ("p1".into(), RangeValues::LessThan(Some(vec!["10".into()]))),
                ("p2".into(), RangeValues::LessThan(Some(vec!["20".into()]))),
                ("p3".into(), RangeValues::LessThan(None)),
            ],
        },
        distribution: Some(DistributionSpec::Hash { columns: vec!["k1".into()], buckets: Some(4) }),
        properties: [("replication_num".to_string(), "3".to_string())].into(),
        comment: String::new(),
        auto_increment_ceiling: None,
        hidden: None,
    }
}

fn ids() -> impl FnMut() -> Result<i64, CatalogError> {
    let mut n = 100;
    move || {
        n += 1;
        Ok(n)
    }
}

#[test]
fn replicas_spread_over_distinct_backends() {
    let t = build_table(&spec(), 1, &[11, 12, 13, 14], ids(), 0).unwrap();
    assert_eq!(t.partitions.len(), 3);
    let mut per_be = BTreeMap::new();
    for (_, tablet) in t.tablets() {
        let mut bes: Vec<i64> = tablet.replicas.iter().map(|r| r.backend_id).collect();
        bes.sort();
        bes.dedup();
        assert_eq!(bes.len(), 3, "three distinct backends per tablet");
        for b in bes {
            *per_be.entry(b).or_insert(0) += 1;
        }
    }
    // 12 tablets x 3 replicas over 4 backends: round-robin gives 9 each.
    assert_eq!(per_be.values().copied().collect::<Vec<_>>(), vec![9, 9, 9, 9]);
    let p1 = t.partition("p1").unwrap();
    assert_eq!(p1.range.as_ref().unwrap().0, vec!["-2147483648".to_string()]);
    assert_eq!(t.partition("p3").unwrap().range.as_ref().unwrap().1, vec!["2147483647".to_string()]);
    assert_eq!(t.describe_partition(p1), "[types: [INT]; keys: [-2147483648]; ..types: [INT]; keys: [10]; )");
}

#[test]
fn too_few_backends_is_refused_with_upstream_text() {
    let e = build_table(&spec(), 1, &[11, 12], ids(), 0).unwrap_err();
    assert!(e.to_string().starts_with("Failed to find enough backend"), "{e}");
    assert!(e.to_string().contains("replication num: 3"), "{e}");
}

#[test]
fn list_partitions_render_like_upstream() {
    let mut s = spec();
    s.partition = PartitionSpec::List {
        columns: vec!["k1".into()],
        partitions: vec![
            ("p1".into(), vec![vec!["1".into()], vec!["2".into()]]),
            ("p2".into(), vec![vec!["3".into()]]),
        ],
    };
    let t = build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap();
    let ddl = t.create_table_ddl();
    assert!(ddl.contains("PARTITION BY LIST(`k1`)"), "{ddl}");
    assert!(ddl.contains("PARTITION p1 VALUES IN (\"1\", \"2\")"), "{ddl}");
    assert_eq!(t.describe_partition(&t.partitions[1]), "[types: [INT]; keys: [3]; ]");
    s.partition = PartitionSpec::List {
        columns: vec!["k1".into()],
        partitions: vec![("p1".into(), vec![vec!["1".into()]]), ("p2".into(), vec![vec!["1".into()]])],
    };
    assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap_err().to_string().contains("duplicated"));
}

#[test]
fn bad_schemas_are_refused() {
    let mut s = spec();
    s.keys = Some((KeysType::Duplicate, vec!["v".into()]));
    assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap_err().to_string().contains("ordered prefix"));
    let mut s = spec();
    s.partition = PartitionSpec::Range {
        columns: vec!["k1".into()],
        partitions: vec![
            ("p1".into(), RangeValues::Fixed(vec!["0".into()], vec!["10".into()])),
            ("p2".into(), RangeValues::Fixed(vec!["5".into()], vec!["20".into()])),
        ],
    };
    assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).unwrap_err().to_string().contains("intersected"));
    let mut s = spec();
    s.distribution = None;
    assert!(build_table(&s, 1, &[1, 2, 3], ids(), 0).is_err());
}

/// `spec()` without its MAXVALUE partition: p1 [min, 10), p2 [10, 20).
fn two_ranges() -> OlapTable {
    let mut s = spec();
    if let PartitionSpec::Range { partitions, .. } = &mut s.partition {
        partitions.pop();
    }
    build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap()
}

fn new_range(name: &str, lo: &str, hi: &str) -> NewPartitionSpec {
    NewPartitionSpec {
        name: name.into(),
        bounds: PartitionBounds::Range(vec![lo.into()], vec![hi.into()]),
        buckets: 2,
        replication_num: 2,
    }
}

fn fresh_ids() -> impl FnMut() -> Result<i64, CatalogError> {
    let mut n = 5000;
    move || {
        n += 1;
        Ok(n)
    }
}

#[test]
fn an_added_partition_gets_new_ids_and_the_tables_index() {
    let t = two_ranges();
    let p = build_partition(&t, &new_range("p3", "20", "30"), &[11, 12, 13], fresh_ids(), 7).unwrap();
    assert_eq!(p.name, "p3");
    assert_eq!(p.range, Some((vec!["20".to_string()], vec!["30".to_string()])));
    assert_eq!((p.buckets, p.replication_num, p.visible_version), (2, 2, 1));
    assert_eq!((p.index.id, p.index.schema_hash), (t.base_index_id, t.schema_hash));
    assert_eq!(p.index.tablets.len(), 2);
    let mut made = vec![p.id];
    for tablet in &p.index.tablets {
        made.push(tablet.id);
        let mut bes: Vec<i64> = tablet.replicas.iter().map(|r| r.backend_id).collect();
        bes.dedup();
        assert_eq!(bes.len(), 2, "two distinct backends per tablet: {bes:?}");
        made.extend(tablet.replicas.iter().map(|r| r.id));
    }
    assert!(made.iter().all(|id| *id > 5000), "ids come from next_id: {made:?}");
    let old: Vec<i64> = t.all_tablets().map(|(_, x)| x.id).collect();
    assert!(p.index.tablets.iter().all(|x| !old.contains(&x.id)));
    // An empty lower key starts at the column's smallest value; MAXVALUE is its largest.
    let mut s = spec();
    s.partition = PartitionSpec::Range {
        columns: vec!["k1".into()],
        partitions: vec![("p2".into(), RangeValues::Fixed(vec!["10".into()], vec!["20".into()]))],
    };
    let t2 = build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap();
    let spec_p1 =
        NewPartitionSpec { bounds: PartitionBounds::Range(vec![], vec!["10".into()]), ..new_range("p1", "", "") };
    let p1 = build_partition(&t2, &spec_p1, &[11, 12], fresh_ids(), 0).unwrap();
    assert_eq!(p1.range.unwrap().0, vec![i32::MIN.to_string()]);
    let p9 = build_partition(&t2, &new_range("p9", "20", "MAXVALUE"), &[11, 12], fresh_ids(), 0).unwrap();
    assert_eq!(p9.range.unwrap().1, vec![i32::MAX.to_string()]);
}

#[test]
fn an_added_partition_must_not_meet_any_other() {
    let mut t = two_ranges();
    let err = |t: &OlapTable, spec: NewPartitionSpec| {
        build_partition(t, &spec, &[11, 12, 13], fresh_ids(), 0).unwrap_err().to_string()
    };
    assert_eq!(
        err(&t, new_range("p3", "15", "30")),
        "Partition p3 in table t has conflict partition item with existing items (partition p2)"
    );
    assert!(err(&t, new_range("p2", "20", "30")).contains("Duplicate partition name p2"));
    assert!(err(&t, new_range("p3", "30", "20")).contains("lower values must smaller"));
    assert!(err(&t, new_range("p3", "x", "30")).contains("Invalid value `x`"));
    // Touching bounds do not intersect: [20, 30) after [10, 20).
    let p3 = build_partition(&t, &new_range("p3", "20", "30"), &[11, 12, 13], fresh_ids(), 0).unwrap();
    // A restoring partition counts like a visible one.
    t.restoring_partitions.push(p3);
    assert!(err(&t, new_range("p4", "25", "40")).ends_with("(partition p3)"));
    assert!(err(&t, new_range("P3", "30", "40")).contains("Duplicate partition name"));
    // Not enough backends for the replicas: upstream's text.
    let two = NewPartitionSpec { replication_num: 4, ..new_range("p4", "30", "40") };
    assert!(err(&t, two).starts_with("Failed to find enough backend"));
}

#[test]
fn an_added_list_partition_must_not_share_a_value() {
    let mut s = spec();
    s.partition = PartitionSpec::List {
        columns: vec!["k1".into()],
        partitions: vec![("p1".into(), vec![vec!["1".into()], vec!["2".into()]])],
    };
    let t = build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap();
    let list = |name: &str, vals: &[&str]| NewPartitionSpec {
        name: name.into(),
        bounds: PartitionBounds::List(vals.iter().map(|v| vec![v.to_string()]).collect()),
        buckets: 1,
        replication_num: 1,
    };
    let e = build_partition(&t, &list("p2", &["3", "02"]), &[11], fresh_ids(), 0).unwrap_err();
    assert!(e.to_string().ends_with("(partition p1)"), "{e}");
    let p = build_partition(&t, &list("p2", &["3", "4"]), &[11], fresh_ids(), 0).unwrap();
    assert_eq!(p.list_values, vec![vec!["3".to_string()], vec!["4".to_string()]]);
    assert!(p.range.is_none());
    // A range does not fit a LIST table, nor anything an unpartitioned one.
    assert!(build_partition(&t, &new_range("p3", "5", "6"), &[11, 12], fresh_ids(), 0).is_err());
    let mut u = spec();
    u.partition = PartitionSpec::None;
    let u = build_table(&u, 1, &[11, 12, 13], ids(), 0).unwrap();
    assert!(build_partition(&u, &list("p2", &["3"]), &[11], fresh_ids(), 0).is_err());
}

#[test]
fn a_published_partition_takes_its_place_in_range_order() {
    let mut t = two_ranges();
    let p3 = build_partition(&t, &new_range("p3", "20", "30"), &[11, 12, 13], fresh_ids(), 0).unwrap();
    let p0 = build_partition(&t, &new_range("p0", "-20", "-10"), &[11, 12, 13], fresh_ids(), 0).unwrap_err();
    assert!(p0.to_string().contains("(partition p1)"), "p1 starts at the minimum: {p0}");
    let mut s = spec();
    s.partition = PartitionSpec::Range {
        columns: vec!["k1".into()],
        partitions: vec![("p2".into(), RangeValues::Fixed(vec!["10".into()], vec!["20".into()]))],
    };
    let mut gap = build_table(&s, 1, &[11, 12, 13], ids(), 0).unwrap();
    let p1 = build_partition(&gap, &new_range("p1", "0", "10"), &[11, 12, 13], fresh_ids(), 0).unwrap();
    let (p1_id, p3_id) = (p1.id, p3.id);
    gap.restoring_partitions.push(p1);
    let visible = |t: &OlapTable| t.partitions.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(visible(&gap), ["p2"]);
    assert_eq!(gap.tablets().count(), 4, "a restoring partition's tablets are not the table's visible ones");
    assert_eq!(gap.all_tablets().count(), 6);
    assert!(gap.publish_restoring_partition(p1_id));
    assert!(!gap.publish_restoring_partition(p1_id), "published once");
    assert_eq!(visible(&gap), ["p1", "p2"]);
    assert!(gap.restoring_partitions.is_empty());
    t.restoring_partitions.push(p3);
    assert!(t.publish_restoring_partition(p3_id));
    assert_eq!(visible(&t), ["p1", "p2", "p3"]);
    assert!(t.create_table_ddl().contains("PARTITION p3 VALUES [(\"20\"), (\"30\"))"));
}

/// Upstream refuses a partition column only when it is an aggregated value column: a
/// DUPLICATE table partitions by a value column, UNIQUE and AGGREGATE tables do not.
#[test]
fn partition_columns_as_upstream_accepts_them() {
    let by_value = |keys: KeysType| {
        let mut s = spec();
        s.keys = Some((keys, vec!["k1".into()]));
        s.columns[1].type_text = "int".into();
        if keys == KeysType::Aggregate {
            s.columns[1].aggregation = Some("SUM".into());
        }
        s.partition = PartitionSpec::Range {
            columns: vec!["v".into()],
            partitions: vec![("p1".into(), RangeValues::LessThan(Some(vec!["10".into()])))],
        };
        build_table(&s, 1, &[1, 2, 3], ids(), 0)
    };
    let t = by_value(KeysType::Duplicate).unwrap();
    assert_eq!(t.partition_columns, ["v"]);
    for keys in [KeysType::Unique, KeysType::Aggregate] {
        let e = by_value(keys).unwrap_err().to_string();
        assert!(e.contains("The partition column could not be aggregated column: v"), "{keys:?}: {e}");
    }
}

#[test]
fn auto_increment_columns_follow_upstream_rules() {
    let with = |cols: Vec<ColumnSpec>| {
        let mut s = spec();
        s.columns.extend(cols);
        build_table(&s, 1, &[11, 12, 13], ids(), 0)
    };
    let auto = |name: &str, t: &str, nullable: bool, start: i64| ColumnSpec {
        name: name.into(),
        type_text: t.into(),
        nullable: Some(nullable),
        aggregation: None,
        default_value: None,
        comment: String::new(),
        auto_increment: Some(start),
    };
    let t = with(vec![auto("id", "bigint", false, 7)]).unwrap();
    assert_eq!(t.column("id").unwrap().auto_increment, Some(7));
    assert!(t.create_table_ddl().contains("`id` bigint NOT NULL AUTO_INCREMENT(7)\n"), "{}", t.create_table_ddl());
    let refused = |cols: Vec<ColumnSpec>| match with(cols) {
        Err(CatalogError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refused(vec![auto("id", "int", false, 1)]), "the auto increment must be BIGINT type.");
    assert_eq!(refused(vec![auto("id", "bigint", true, 1)]), "the auto increment column should be NOT NULL.");
    assert_eq!(refused(vec![auto("id", "bigint", false, -1)]), "AUTO_INCREMENT start value can not be negative.");
    assert_eq!(
        refused(vec![ColumnSpec { default_value: Some("0".into()), ..auto("id", "bigint", false, 1) }]),
        "the auto increment column can't have default value."
    );
    assert_eq!(
        refused(vec![auto("a", "bigint", false, 1), auto("b", "bigint", false, 1)]),
        "there can be at most one auto increment column in OlapTable."
    );
}

fn unique_spec(props: &[(&str, &str)]) -> CreateTableSpec {
    let mut s = spec();
    s.columns.push(ColumnSpec { name: "ts".into(), type_text: "bigint".into(), ..s.columns[0].clone() });
    s.keys = Some((KeysType::Unique, vec!["k1".into()]));
    s.properties.extend(props.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    s
}

#[test]
fn a_unique_table_gets_hidden_columns_after_the_visible_ones() {
    let t = build_table(&unique_spec(&[("function_column.sequence_col", "TS")]), 1, &[11, 12, 13], ids(), 0).unwrap();
    let visible: Vec<(&str, i32)> = t.columns.iter().map(|c| (c.name.as_str(), c.unique_id)).collect();
    assert_eq!(visible, [("k1", 0), ("v", 1), ("ts", 2)]);
    let hidden: Vec<(&str, i32)> = t.hidden_columns.iter().map(|c| (c.name.as_str(), c.unique_id)).collect();
    assert_eq!(hidden, [("__DORIS_DELETE_SIGN__", 3), ("__DORIS_VERSION_COL__", 4), ("__DORIS_SEQUENCE_COL__", 5)]);
    assert_eq!(t.sequence_map_col(), Some("ts"));
    assert!(t.merge_on_write() && t.has_delete_sign());
    let s = t.tablet_schema();
    assert_eq!(s.columns.len(), 6);
    assert_eq!((s.delete_sign_idx, s.version_col_idx, s.sequence_col_idx), (Some(3), Some(4), Some(5)));
    assert_eq!(s.columns[5].column_type.type_, doris_thrift::types::TPrimitiveType::BIGINT);
    assert_eq!(s.columns[3].visible, Some(false));
    // Shown by SHOW CREATE TABLE as upstream prints them; the hidden columns never.
    let ddl = t.create_table_ddl();
    assert!(ddl.contains("\"enable_unique_key_merge_on_write\" = \"true\""), "{ddl}");
    assert!(ddl.contains("\"function_column.sequence_col\" = \"ts\""), "{ddl}");
    assert!(!ddl.contains("__DORIS_"), "{ddl}");
    // Durable: the stored table reads back with them.
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<OlapTable>(&json).unwrap(), t);

    // fe.conf may leave the delete sign and version column out; merge-on-read on request.
    let mut off = unique_spec(&[("enable_unique_key_merge_on_write", "false"), ("function_column.sequence_type", "int")]);
    off.hidden = Some(HiddenDefaults { batch_delete: false, version_column: false });
    let t = build_table(&off, 1, &[11, 12, 13], ids(), 0).unwrap();
    assert_eq!(t.hidden_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["__DORIS_SEQUENCE_COL__"]);
    assert!(!t.merge_on_write() && t.sequence_map_col().is_none());
    let s = t.tablet_schema();
    assert_eq!((s.delete_sign_idx, s.version_col_idx, s.sequence_col_idx), (Some(-1), Some(-1), Some(3)));
    // Merge-on-read keeps REPLACE for value columns; merge-on-write sends NONE.
    assert_eq!(s.columns[1].aggregation_type, Some(doris_thrift::types::TAggregationType::REPLACE));

    // A DUPLICATE table has none.
    let t = build_table(&spec(), 1, &[11, 12, 13], ids(), 0).unwrap();
    assert!(t.hidden_columns.is_empty());
    assert!(!t.create_table_ddl().contains("merge_on_write"));
}

#[test]
fn a_table_stored_before_hidden_columns_reads_without_them() {
    let t = build_table(&unique_spec(&[]), 1, &[11, 12, 13], ids(), 0).unwrap();
    let mut v = serde_json::to_value(&t).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("hidden_columns");
    o["properties"].as_object_mut().unwrap().remove("enable_unique_key_merge_on_write");
    let old: OlapTable = serde_json::from_value(v).unwrap();
    assert!(old.hidden_columns.is_empty() && !old.has_delete_sign() && !old.merge_on_write());
    assert_eq!(old.tablet_schema().columns.len(), 3);
    // Upstream prints a UNIQUE table's setting always; such a table is merge-on-read.
    assert!(old.create_table_ddl().contains("\"enable_unique_key_merge_on_write\" = \"false\""));
}
