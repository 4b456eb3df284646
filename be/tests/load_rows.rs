//! Loads on the BE without a cluster: CSV to typed rows (with filtering), Parquet segment
//! round trips for every column type, and stable distribution hashing.

use doris_be::load::csv::{self, LoadColumn};
use doris_be::load::hash;
use doris_be::load::plan::{LoadPlan, PlanColumn, PlanPartition, PlanTablet, Router};
use doris_be::load::segment;
use doris_be::load::types::{format_datetime, parse_datetime, parse_decimal, Cell, ColKind};

fn col(name: &str, ty: &str, nullable: bool) -> LoadColumn {
    LoadColumn { name: name.into(), kind: ColKind::parse(ty).unwrap(), nullable, default_value: None }
}

fn all_types() -> Vec<LoadColumn> {
    vec![
        col("k", "int", false),
        col("b", "boolean", true),
        col("ti", "tinyint", true),
        col("si", "smallint", true),
        col("bi", "bigint", true),
        col("li", "largeint", true),
        col("fl", "float", true),
        col("db", "double", true),
        col("d9", "decimal(9,3)", true),
        col("d38", "decimal(38,10)", true),
        col("dt", "date", true),
        col("ts", "datetime", true),
        col("ts6", "datetime(6)", true),
        col("ch", "char(4)", true),
        col("vc", "varchar(8)", true),
        col("st", "string", true),
    ]
}

#[test]
fn csv_rows_parse_to_typed_cells() {
    let table = all_types();
    let body = "1,true,-128,32767,-9000000000,170141183460469231731687303715884105727,1.5,-2.25,123456.789,-12345678901234567890.0123456789,2024-02-29,2024-02-29 23:59:58,2024-02-29 23:59:58.123456,abcd,hello,any text\n\
                2,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N\n";
    let p = csv::parse(body.as_bytes(), &table, &[], ",", "\n").unwrap();
    assert_eq!((p.total, p.filtered, p.rows.len()), (2, 0, 2), "{:?}", p.errors);
    let r = &p.rows[0];
    assert_eq!(r[0], Cell::Int(1));
    assert_eq!(r[1], Cell::Bool(true));
    assert_eq!(r[2], Cell::Int(-128));
    assert_eq!(r[3], Cell::Int(32767));
    assert_eq!(r[4], Cell::Int(-9_000_000_000));
    assert_eq!(r[5], Cell::Large(i128::MAX));
    assert_eq!(r[6], Cell::Float(1.5));
    assert_eq!(r[7], Cell::Float(-2.25));
    assert_eq!(r[8], Cell::Decimal(123_456_789));
    assert_eq!(r[9], Cell::Decimal(-123_456_789_012_345_678_900_123_456_789));
    assert_eq!(r[10].clone(), Cell::Date(19782)); // 2024-02-29
    assert_eq!(format_datetime(match r[11] { Cell::DateTime(m) => m, _ => panic!() }, 0), "2024-02-29 23:59:58");
    assert_eq!(format_datetime(match r[12] { Cell::DateTime(m) => m, _ => panic!() }, 6), "2024-02-29 23:59:58.123456");
    assert_eq!(r[13], Cell::Str("abcd".into()));
    assert_eq!(r[15], Cell::Str("any text".into()));
    assert!(p.rows[1][1..].iter().all(|c| *c == Cell::Null));
}

#[test]
fn bad_rows_are_filtered_with_a_reason() {
    let table = vec![col("k", "int", false), col("v", "varchar(3)", true), col("d", "date", true)];
    let body = "1,abc,2024-01-01\n\
                x,abc,2024-01-01\n\
                3,toolong,2024-01-01\n\
                4,abc,2024-13-01\n\
                \\N,abc,2024-01-01\n\
                6,abc\n\
                2147483648,a,2024-01-01\n\
                7,,2024-01-31\n";
    let p = csv::parse(body.as_bytes(), &table, &[], ",", "\n").unwrap();
    assert_eq!(p.total, 8);
    assert_eq!(p.filtered, 6, "{:#?}", p.errors);
    assert_eq!(p.rows.len(), 2);
    assert_eq!(p.rows[0][0], Cell::Int(1));
    assert_eq!(p.rows[1], vec![Cell::Int(7), Cell::Str(String::new()), Cell::Date(19753)]);
    assert!(p.errors[0].contains("'x' is not a valid INT"), "{}", p.errors[0]);
    assert!(p.errors[1].contains("longer than the column's 3"), "{}", p.errors[1]);
    assert!(p.errors[3].contains("NOT NULL"), "{}", p.errors[3]);
    assert!(p.errors[4].contains("actual column number 2"), "{}", p.errors[4]);
}

#[test]
fn columns_header_reorders_and_fills_missing_columns() {
    let mut table = vec![col("a", "int", false), col("b", "varchar(10)", true), col("c", "int", false)];
    table[2].default_value = Some("42".into());
    let p = csv::parse(b"x|1\ny|2\n", &table, &["b".into(), "a".into()], "|", "\n").unwrap();
    assert_eq!(p.filtered, 0);
    assert_eq!(p.rows[1], vec![Cell::Int(2), Cell::Str("y".into()), Cell::Int(42)]);
    let e = csv::parse(b"1,2,x\n", &table, &["nope".into(), "a".into(), "b".into()], ",", "\n").unwrap_err();
    assert!(e.contains("Unknown column 'nope'"), "{e}");
    let e = csv::parse(b"1\n", &table, &["b".into()], ",", "\n").unwrap_err();
    assert!(e.contains("column: a"), "{e}");
    assert_eq!(csv::unescape_separator("\\x01"), "\u{1}");
    assert_eq!(csv::unescape_separator("\\t"), "\t");
}

#[test]
fn decimals_and_datetimes_keep_their_scale() {
    assert_eq!(parse_decimal("1.005", 10, 2), Some(101)); // half away from zero
    assert_eq!(parse_decimal("-0.5", 3, 0), Some(-1));
    assert_eq!(parse_decimal("12345678.9", 9, 2), None); // 8 integer digits > 7
    assert_eq!(parse_decimal("1e5", 9, 2), None);
    let m = parse_datetime("2024-05-06 07:08:09.987654", 3).unwrap();
    assert_eq!(format_datetime(m, 3), "2024-05-06 07:08:09.987");
    assert_eq!(format_datetime(parse_datetime("1969-12-31 23:59:59", 0).unwrap(), 0), "1969-12-31 23:59:59");
}

#[test]
fn segments_round_trip_every_type() {
    let table = all_types();
    let body = "1,true,-128,32767,-9000000000,-170141183460469231731687303715884105728,1.5,-2.25,-123456.789,12345678901234567890.0123456789,0001-01-01,1970-01-01 00:00:00,9999-12-31 23:59:59.999999,ab,,\u{4e2d}\u{6587}\n\
                2,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N\n\
                3,false,0,0,0,0,0,0,0,0,2024-02-29,2024-02-29 12:00:00,2024-02-29 12:00:00.5,abcd,12345678,x\n";
    let p = csv::parse(body.as_bytes(), &table, &[], ",", "\n").unwrap();
    assert_eq!(p.filtered, 0, "{:?}", p.errors);
    let bytes = segment::write(&table, &p.rows).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    let seg = segment::read(bytes.into()).unwrap();
    let names: Vec<&str> = seg.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, table.iter().map(|c| c.name.as_str()).collect::<Vec<_>>());
    assert_eq!(seg.columns[9].1, ColKind::Decimal { precision: 38, scale: 10 });
    assert_eq!(seg.columns[5].1, ColKind::LargeInt);
    assert_eq!(seg.rows, p.rows);
    // The JSON a scan sends keeps decimals exact.
    let j = seg.rows[0][9].to_json(&seg.columns[9].1);
    assert_eq!(j, serde_json::json!("12345678901234567890.0123456789"));
    assert_eq!(seg.rows[0][8].to_json(&seg.columns[8].1), serde_json::json!("-123456.789"));
}

#[test]
fn an_empty_segment_reads_back_empty() {
    let table = vec![col("k", "int", false)];
    let seg = segment::read(segment::write(&table, &[]).unwrap().into()).unwrap();
    assert!(seg.rows.is_empty());
}

#[test]
fn hashing_is_stable() {
    let kinds = [(0usize, ColKind::Int), (1usize, ColKind::Str { max_len: None })];
    let row = vec![Cell::Int(12345), Cell::Str("doris".into())];
    // Pinned: a change here moves rows of existing tables to other tablets.
    assert_eq!(hash::row_hash(&row, &kinds[..1]), crc32fast::hash(&12345i32.to_le_bytes()));
    let mut h = crc32fast::Hasher::new_with_initial(crc32fast::hash(&12345i32.to_le_bytes()));
    h.update(b"doris");
    assert_eq!(hash::row_hash(&row, &kinds), h.finalize());
    assert_eq!(hash::row_hash(&[Cell::Null], &[(0, ColKind::Int)]), 0);
    // Same row, same bucket; rows spread over all buckets.
    let mut seen = [0usize; 8];
    for i in 0..10_000i64 {
        let r = vec![Cell::Int(i)];
        let b = hash::bucket_of(&r, &[(0, ColKind::Int)], 8, 0);
        assert_eq!(b, hash::bucket_of(&r, &[(0, ColKind::Int)], 8, 99));
        seen[b] += 1;
    }
    assert!(seen.iter().all(|n| *n > 1000), "{seen:?}");
}

#[test]
fn rows_route_to_range_and_list_partitions() {
    let tablets = |id: i64| vec![PlanTablet { id, replicas: vec![], load_required_replica_num: 0 }, PlanTablet { id: id + 1, replicas: vec![], load_required_replica_num: 0 }];
    let cols = vec![
        PlanColumn { name: "d".into(), type_: "date".into(), nullable: false, default_value: None, auto_increment: false, unique_id: 0, hidden: false },
        PlanColumn { name: "k".into(), type_: "int".into(), nullable: false, default_value: None, auto_increment: false, unique_id: 1, hidden: false },
    ];
    let plan = LoadPlan {
        txn_id: 1,
        db_id: 1,
        table_id: 1,
        columns: cols.clone(),
        keys_type: "DUP_KEYS".into(),
        sequence_map_col: None,
        merge_on_write: false,
        partition_kind: "RANGE".into(),
        partition_columns: vec!["d".into()],
        distribution_columns: vec!["k".into()],
        partitions: vec![
            PlanPartition { id: 10, name: "p1".into(), range: Some((vec!["0000-01-01".into()], vec!["2024-01-01".into()])), list_values: vec![], tablets: tablets(100) },
            PlanPartition { id: 11, name: "p2".into(), range: Some((vec!["2024-01-01".into()], vec!["2025-01-01".into()])), list_values: vec![], tablets: tablets(200) },
        ],
    };
    let r = Router::new(&plan).unwrap();
    let row = |d: &str, k: i64| vec![Cell::Date(doris_be::load::types::parse_date(d).unwrap()), Cell::Int(k)];
    assert_eq!(r.partition_of(&row("2023-12-31", 1)), Some(0));
    assert_eq!(r.partition_of(&row("2024-01-01", 1)), Some(1));
    assert_eq!(r.partition_of(&row("2025-01-01", 1)), None);
    let list = LoadPlan {
        partition_kind: "LIST".into(),
        partition_columns: vec!["k".into()],
        partitions: vec![
            PlanPartition { id: 10, name: "a".into(), range: None, list_values: vec![vec!["1".into()], vec!["2".into()]], tablets: tablets(100) },
            PlanPartition { id: 11, name: "b".into(), range: None, list_values: vec![vec!["3".into()]], tablets: tablets(200) },
        ],
        ..plan
    };
    let r = Router::new(&list).unwrap();
    assert_eq!(r.partition_of(&row("2024-01-01", 2)), Some(0));
    assert_eq!(r.partition_of(&row("2024-01-01", 3)), Some(1));
    assert_eq!(r.partition_of(&row("2024-01-01", 4)), None);
}

#[test]
fn auto_increment_values_fill_the_rows_without_one_in_order() {
    let plan = LoadPlan {
        txn_id: 1,
        db_id: 1,
        table_id: 1,
        columns: vec![
            PlanColumn { name: "k".into(), type_: "int".into(), nullable: false, default_value: None, auto_increment: false, unique_id: 0, hidden: false },
            PlanColumn { name: "id".into(), type_: "bigint".into(), nullable: false, default_value: None, auto_increment: true, unique_id: 7, hidden: false },
        ],
        keys_type: "DUP_KEYS".into(),
        sequence_map_col: None,
        merge_on_write: false,
        partition_kind: "UNPARTITIONED".into(),
        partition_columns: vec![],
        distribution_columns: vec!["k".into()],
        partitions: vec![PlanPartition { id: 10, name: "t".into(), range: None, list_values: vec![], tablets: vec![PlanTablet { id: 100, replicas: vec![], load_required_replica_num: 0 }] }],
    };
    let mut r = Router::new(&plan).unwrap();
    // The parsers see the column nullable: a load that leaves it out gives NULL.
    assert_eq!(r.auto_increment, Some((1, 7)));
    assert!(r.columns[1].nullable);
    let mut rows = vec![
        vec![Cell::Int(1), Cell::Null],
        vec![Cell::Int(2), Cell::Int(42)],
        vec![Cell::Int(3), Cell::Null],
    ];
    assert_eq!(r.auto_increment_wanted(&rows), 2);
    r.fill_auto_increment(&mut rows, 500);
    assert_eq!(rows.iter().map(|x| x[1].clone()).collect::<Vec<_>>(), vec![Cell::Int(500), Cell::Int(42), Cell::Int(501)]);
    // Written NOT NULL, as the tablet's schema says.
    assert!(!r.columns[1].nullable);
}
