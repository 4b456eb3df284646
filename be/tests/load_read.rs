//! Reading a tablet as its table model reads, on a real engine with real segment files:
//! UNIQUE keys replaced by newer versions (and by sequence value), AGGREGATE keys folded by
//! each column's aggregation, DELETE rowsets removing matching rows of older versions only,
//! the hidden delete sign, filters applied to merged values, and COUNT(*) after merging.

mod storage_common;

use doris_be::load::csv::LoadColumn;
use doris_be::load::filter::RowFilter;
use doris_be::load::read::{Projection, Source};
use doris_be::load::segment;
use doris_be::load::types::{Cell, ColKind};
use doris_be::storage::{DeleteCondition, RowsetMeta, StorageEngine};
use doris_thrift::agent_service::TTabletSchema;
use doris_thrift::descriptors::TColumn;
use doris_thrift::types::{TAggregationType, TColumnType, TKeysType, TPrimitiveType};
use storage_common::*;

fn column(name: &str, t: TPrimitiveType, key: bool, agg: TAggregationType) -> TColumn {
    let len = (t == TPrimitiveType::VARCHAR).then_some(32);
    TColumn::new(name.to_string(), TColumnType::new(t, len, None, None, None, None), (!key).then_some(agg), key, true, None, None, None, None, None, None)
}

/// A tablet of `keys` with key `k` INT and values `v` INT (`agg`) and `s` VARCHAR (REPLACE),
/// plus `extra` columns.
fn tablet(engine: &StorageEngine, id: i64, keys: TKeysType, agg: TAggregationType, extra: Vec<TColumn>) {
    let mut cols = vec![
        column("k", TPrimitiveType::INT, true, TAggregationType::NONE),
        column("v", TPrimitiveType::INT, false, agg),
        column("s", TPrimitiveType::VARCHAR, false, TAggregationType::REPLACE),
    ];
    cols.extend(extra);
    let mut req = create_req(id, 11, None);
    req.tablet_schema = Box::new(TTabletSchema { keys_type: keys, columns: cols, ..schema(11) });
    engine.create_tablet(&req).unwrap();
}

fn load_col(name: &str, ty: &str) -> LoadColumn {
    LoadColumn { name: name.into(), kind: ColKind::parse(ty).unwrap(), nullable: true, default_value: None }
}

fn kvs() -> Vec<LoadColumn> {
    vec![load_col("k", "int"), load_col("v", "int"), load_col("s", "varchar(32)")]
}

fn add(engine: &StorageEngine, tablet: i64, version: i64, columns: &[LoadColumn], rows: Vec<Vec<Cell>>, delete: Option<Vec<DeleteCondition>>) {
    let id = engine.next_rowset_id();
    let num_segments = if rows.is_empty() { 0 } else { 1 };
    let mut size = 0;
    if num_segments == 1 {
        let bytes = segment::write(columns, &rows).unwrap();
        size = bytes.len() as i64;
        std::fs::write(engine.tablet_dir(tablet).unwrap().join(format!("{id}_0.dat")), bytes).unwrap();
    }
    let rs = RowsetMeta {
        rowset_id: id,
        start_version: version,
        end_version: version,
        num_segments,
        num_rows: rows.len() as i64,
        data_size: size,
        txn_id: None,
        remote: false,
        creation_time_s: 0,
        delete_predicate: delete,
    };
    engine.add_rowset(tablet, rs).unwrap();
}

fn row(k: i64, v: Option<i64>, s: &str) -> Vec<Cell> {
    vec![Cell::Int(k), v.map(Cell::Int).unwrap_or(Cell::Null), Cell::Str(s.into())]
}

fn cond(column: &str, op: &str, values: &[&str]) -> DeleteCondition {
    DeleteCondition { column: column.into(), op: op.into(), values: values.iter().map(|v| v.to_string()).collect() }
}

fn read(engine: &StorageEngine, tablet: i64, version: i64, schema: &str, filter: &str) -> Vec<Vec<Cell>> {
    let meta = engine.tablet_meta(tablet).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let source = Source { storage: engine, runtime: rt.handle(), meta: &meta, keep_deleted: false };
    let p = Projection::parse(schema).unwrap();
    let cols: Vec<(String, ColKind)> = p.columns.iter().map(|c| (c.name.clone(), c.kind)).collect();
    let f = if filter.is_empty() { RowFilter::default() } else { RowFilter::parse(filter, &cols).unwrap() };
    let mut rows = source.read(version, Some(p), &f).unwrap().1;
    rows.sort_by(|a, b| a[0].cmp_same(&b[0]));
    rows
}

fn count(engine: &StorageEngine, tablet: i64, version: i64) -> usize {
    let meta = engine.tablet_meta(tablet).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    Source { storage: engine, runtime: rt.handle(), meta: &meta, keep_deleted: false }.count(version).unwrap()
}

const KVS: &str = r#"[["k", "int", null], ["v", "int", null], ["s", "varchar(32)", null]]"#;

#[test]
fn unique_keys_keep_the_newest_row_and_deletes_reach_only_older_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    tablet(&e, 1, TKeysType::UNIQUE_KEYS, TAggregationType::REPLACE, vec![]);
    add(&e, 1, 2, &kvs(), vec![row(1, Some(10), "a"), row(2, Some(20), "b"), row(3, Some(30), "c")], None);
    add(&e, 1, 3, &kvs(), vec![row(2, Some(21), "b2"), row(2, Some(22), "b3"), row(4, Some(40), "d")], None);
    // DELETE ... WHERE v >= 22: the merged rows of versions up to 3 it matches (keys 2, 3, 4).
    add(&e, 1, 4, &kvs(), vec![], Some(vec![cond("v", ">=", &["22"])]));
    add(&e, 1, 5, &kvs(), vec![row(3, Some(31), "c2")], None);

    assert_eq!(read(&e, 1, 3, KVS, ""), vec![row(1, Some(10), "a"), row(2, Some(22), "b3"), row(3, Some(30), "c"), row(4, Some(40), "d")]);
    assert_eq!(read(&e, 1, 4, KVS, ""), vec![row(1, Some(10), "a")]);
    // Key 3 written after the delete is back.
    assert_eq!(read(&e, 1, 5, KVS, ""), vec![row(1, Some(10), "a"), row(3, Some(31), "c2")]);
    assert_eq!(count(&e, 1, 3), 4);
    assert_eq!(count(&e, 1, 5), 2);
    // A filter sees merged values: key 2's old value 21 does not match v = 21.
    assert_eq!(read(&e, 1, 3, KVS, r#"[["v", "=", ["21"]]]"#), Vec::<Vec<Cell>>::new());
    // A projection without the key still merges by it.
    let only_s = read(&e, 1, 3, r#"[["s", "varchar(32)", null]]"#, "");
    let mut s: Vec<String> = only_s.into_iter().map(|r| format!("{:?}", r[0])).collect();
    s.sort();
    assert_eq!(s, vec![r#"Str("a")"#, r#"Str("b3")"#, r#"Str("c")"#, r#"Str("d")"#]);
}

#[test]
fn aggregate_keys_fold_values_by_their_aggregation() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    for (id, agg) in [(1, TAggregationType::SUM), (2, TAggregationType::MAX), (3, TAggregationType::MIN), (4, TAggregationType::REPLACE_IF_NOT_NULL)] {
        tablet(&e, id, TKeysType::AGG_KEYS, agg, vec![]);
        add(&e, id, 2, &kvs(), vec![row(1, Some(5), "a"), row(1, None, "b"), row(2, None, "x")], None);
        add(&e, id, 3, &kvs(), vec![row(1, Some(7), "c"), row(1, Some(3), "d"), row(2, Some(4), "y")], None);
    }
    let v = |id: i64| read(&e, id, 3, KVS, "").into_iter().map(|r| (r[1].clone(), r[2].clone())).collect::<Vec<_>>();
    let s = |t: &str| Cell::Str(t.into());
    // NULLs are skipped by SUM/MAX/MIN/REPLACE_IF_NOT_NULL; `s` is REPLACE everywhere.
    assert_eq!(v(1), vec![(Cell::Int(15), s("d")), (Cell::Int(4), s("y"))]);
    assert_eq!(v(2), vec![(Cell::Int(7), s("d")), (Cell::Int(4), s("y"))]);
    assert_eq!(v(3), vec![(Cell::Int(3), s("d")), (Cell::Int(4), s("y"))]);
    assert_eq!(v(4), vec![(Cell::Int(3), s("d")), (Cell::Int(4), s("y"))]);
    assert_eq!(count(&e, 1, 3), 2);
    assert_eq!(count(&e, 1, 2), 2);
}

#[test]
fn duplicate_rows_stay_and_deletes_apply_in_version_order() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    tablet(&e, 1, TKeysType::DUP_KEYS, TAggregationType::NONE, vec![]);
    add(&e, 1, 2, &kvs(), vec![row(1, Some(1), "a"), row(1, Some(1), "a"), row(2, None, "b")], None);
    assert_eq!(count(&e, 1, 2), 3);
    add(&e, 1, 3, &kvs(), vec![], Some(vec![cond("k", "*=", &["1", "9"]), cond("s", "!=", &["zz"])]));
    add(&e, 1, 4, &kvs(), vec![row(1, Some(2), "again")], None);
    add(&e, 1, 5, &kvs(), vec![], Some(vec![cond("v", "IS", &["NULL"])]));
    assert_eq!(read(&e, 1, 2, KVS, "").len(), 3);
    assert_eq!(read(&e, 1, 3, KVS, ""), vec![row(2, None, "b")]);
    assert_eq!(read(&e, 1, 4, KVS, ""), vec![row(1, Some(2), "again"), row(2, None, "b")]);
    assert_eq!(read(&e, 1, 5, KVS, ""), vec![row(1, Some(2), "again")]);
    assert_eq!(count(&e, 1, 5), 1);
    // A delete on a column the projection leaves out still applies.
    assert_eq!(read(&e, 1, 5, r#"[["k", "int", null]]"#, ""), vec![vec![Cell::Int(1)]]);
}

#[test]
fn the_hidden_delete_sign_and_sequence_column_of_a_unique_table() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    let extra = vec![
        column("__DORIS_DELETE_SIGN__", TPrimitiveType::TINYINT, false, TAggregationType::REPLACE),
        column("__DORIS_SEQUENCE_COL__", TPrimitiveType::INT, false, TAggregationType::REPLACE),
    ];
    tablet(&e, 1, TKeysType::UNIQUE_KEYS, TAggregationType::REPLACE, extra);
    let mut cols = kvs();
    cols.push(load_col("__DORIS_DELETE_SIGN__", "tinyint"));
    cols.push(load_col("__DORIS_SEQUENCE_COL__", "int"));
    let r = |k: i64, v: i64, sign: i64, seq: i64| vec![Cell::Int(k), Cell::Int(v), Cell::Str("s".into()), Cell::Int(sign), Cell::Int(seq)];
    add(&e, 1, 2, &cols, vec![r(1, 10, 0, 5), r(2, 20, 0, 5), r(3, 30, 0, 5)], None);
    // Key 1: a smaller sequence value loses; key 2: deleted by its sign; key 3: replaced.
    add(&e, 1, 3, &cols, vec![r(1, 11, 0, 4), r(2, 21, 1, 6), r(3, 31, 0, 5)], None);
    let got: Vec<(Cell, Cell)> = read(&e, 1, 3, KVS, "").into_iter().map(|row| (row[0].clone(), row[1].clone())).collect();
    assert_eq!(got, vec![(Cell::Int(1), Cell::Int(10)), (Cell::Int(3), Cell::Int(31))]);
    assert_eq!(count(&e, 1, 3), 2);
}
