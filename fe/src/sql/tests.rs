//! Parser tests: every statement family, quoting, comments and error positions.

use super::*;
use crate::error::FeError;

fn ok(sql: &str) -> Statement {
    match parse(sql) {
        Ok(s) => s,
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn err(sql: &str) -> FeError {
    match parse(sql) {
        Ok(s) => panic!("{sql}: parsed as {s:?}"),
        Err(e) => e,
    }
}

fn parse_err_at(sql: &str) -> (u64, u64, String) {
    match err(sql) {
        FeError::Parse { line, column, message } => (line, column, message),
        other => panic!("{sql}: expected a parse error, got {other:?}"),
    }
}

fn tn(db: Option<&str>, t: &str) -> TableName {
    TableName { db: db.map(str::to_string), table: t.to_string() }
}

fn props(kv: &[(&str, &str)]) -> Properties {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn use_and_databases() {
    assert_eq!(ok("USE db1"), Statement::Use { db: "db1".into() });
    assert_eq!(ok("use `my db`;"), Statement::Use { db: "my db".into() });
    assert_eq!(ok("USE internal.db1"), Statement::Use { db: "db1".into() });
    assert!(matches!(err("USE hive.db1"), FeError::NotSupported(m) if m.contains("hive")));
    assert_eq!(
        ok("CREATE DATABASE IF NOT EXISTS d1"),
        Statement::CreateDatabase { name: "d1".into(), if_not_exists: true, properties: vec![] }
    );
    assert_eq!(
        ok("create schema d2 PROPERTIES ('replication_num' = '1')"),
        Statement::CreateDatabase { name: "d2".into(), if_not_exists: false, properties: props(&[("replication_num", "1")]) }
    );
    assert_eq!(
        ok("DROP DATABASE IF EXISTS d1 FORCE"),
        Statement::DropDatabase { name: "d1".into(), if_exists: true, force: true }
    );
    assert_eq!(ok("drop database d1"), Statement::DropDatabase { name: "d1".into(), if_exists: false, force: false });
    assert_eq!(ok("SHOW DATABASES"), Statement::ShowDatabases { like: None });
    assert_eq!(ok("show databases like 'd%'"), Statement::ShowDatabases { like: Some("d%".into()) });
    assert_eq!(ok("SHOW TABLES"), Statement::ShowTables { db: None, full: false, like: None });
    assert_eq!(
        ok("SHOW FULL TABLES FROM `d1` LIKE \"t%\""),
        Statement::ShowTables { db: Some("d1".into()), full: true, like: Some("t%".into()) }
    );
    assert_eq!(ok("SHOW TABLES IN d1"), Statement::ShowTables { db: Some("d1".into()), full: false, like: None });
}

#[test]
fn create_table_full() {
    let sql = r#"
        CREATE TABLE IF NOT EXISTS db1.`tbl` (
            k1 DATE NOT NULL COMMENT 'the date',
            k2 INT(11) NULL DEFAULT "10",
            k3 VARCHAR(32),
            v1 BIGINT SUM DEFAULT '0',
            v2 DECIMAL(10, 2) REPLACE_IF_NOT_NULL,
            v3 DATETIMEV2(3) MAX,
            v4 STRING REPLACE,
            v5 LARGEINT MIN NOT NULL,
            v6 decimalv3(38,10), v7 double, v8 float, v9 boolean, v10 char(5), v11 tinyint, v12 smallint,
            v13 datev2, v14 datetime, v15 INTEGER, v16 CHAR, v17 VARCHAR
        ) ENGINE=OLAP
        AGGREGATE KEY(k1, k2, k3)
        COMMENT 'my table'
        PARTITION BY RANGE(k1) (
            PARTITION p1 VALUES LESS THAN ("2024-01-01"),
            PARTITION p2 VALUES [("2024-01-01"), ("2024-02-01")),
            PARTITION p3 VALUES LESS THAN (MAXVALUE),
            PARTITION p4 VALUES LESS THAN MAXVALUE
        )
        DISTRIBUTED BY HASH(k1, k2) BUCKETS 8
        PROPERTIES ("replication_num" = "1", "storage_medium" = "HDD");
    "#;
    let Statement::CreateTable(ct) = ok(sql) else { panic!() };
    assert_eq!(ct.name, tn(Some("db1"), "tbl"));
    assert!(ct.if_not_exists);
    assert_eq!(ct.engine.as_deref(), Some("OLAP"));
    assert_eq!(ct.comment.as_deref(), Some("my table"));
    assert_eq!(ct.keys, Some(KeysDesc { keys_type: KeysType::Aggregate, columns: vec!["k1".into(), "k2".into(), "k3".into()] }));
    assert_eq!(ct.columns.len(), 20);
    let c = &ct.columns;
    assert_eq!((c[0].name.as_str(), c[0].data_type.clone(), c[0].nullable), ("k1", DataType::Date, false));
    assert_eq!(c[0].comment.as_deref(), Some("the date"));
    assert_eq!((c[1].data_type.clone(), c[1].nullable), (DataType::Int, true));
    assert_eq!(c[1].default, Some(DefaultValue::Value("10".into())));
    assert_eq!(c[2].data_type, DataType::Varchar(32));
    assert_eq!((c[3].data_type.clone(), c[3].aggregation), (DataType::BigInt, Some(AggregationType::Sum)));
    assert_eq!(c[4].data_type, DataType::Decimal { precision: 10, scale: 2 });
    assert_eq!(c[4].aggregation, Some(AggregationType::ReplaceIfNotNull));
    assert_eq!(c[5].data_type, DataType::DateTimeV2 { scale: 3 });
    assert_eq!(c[6].aggregation, Some(AggregationType::Replace));
    assert_eq!((c[7].data_type.clone(), c[7].aggregation, c[7].nullable), (DataType::LargeInt, Some(AggregationType::Min), false));
    assert_eq!(c[8].data_type, DataType::DecimalV3 { precision: 38, scale: 10 });
    let rest: Vec<DataType> = c[9..].iter().map(|c| c.data_type.clone()).collect();
    assert_eq!(
        rest,
        vec![
            DataType::Double,
            DataType::Float,
            DataType::Boolean,
            DataType::Char(5),
            DataType::TinyInt,
            DataType::SmallInt,
            DataType::DateV2,
            DataType::DateTime,
            DataType::Int,
            DataType::Char(1),
            DataType::Varchar(65533),
        ]
    );
    let Some(PartitionDesc::Range { columns, partitions }) = &ct.partition else { panic!() };
    assert_eq!(columns, &vec!["k1".to_string()]);
    assert_eq!(partitions.len(), 4);
    assert_eq!(partitions[0].bound, RangeBound::LessThan(vec![PartitionValue::Value("2024-01-01".into())]));
    assert_eq!(
        partitions[1].bound,
        RangeBound::Fixed {
            lower: vec![PartitionValue::Value("2024-01-01".into())],
            upper: vec![PartitionValue::Value("2024-02-01".into())]
        }
    );
    assert_eq!(partitions[2].bound, RangeBound::LessThan(vec![PartitionValue::MaxValue]));
    assert_eq!(partitions[3].bound, RangeBound::LessThan(vec![PartitionValue::MaxValue]));
    assert_eq!(ct.distribution, Distribution { kind: DistributionKind::Hash(vec!["k1".into(), "k2".into()]), buckets: Some(8) });
    assert_eq!(ct.properties, props(&[("replication_num", "1"), ("storage_medium", "HDD")]));
}

#[test]
fn create_table_minimal_and_list() {
    let Statement::CreateTable(ct) = ok("CREATE TABLE t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1") else { panic!() };
    assert_eq!(ct.name, tn(None, "t"));
    assert_eq!(ct.keys, None);
    assert_eq!(ct.partition, None);
    assert_eq!(ct.engine, None);

    let sql = "CREATE TABLE t (city VARCHAR(20), id INT) DUPLICATE KEY(city) \
               PARTITION BY LIST(city) (PARTITION p_bj VALUES IN ('beijing', \"bj\"), PARTITION p_sh VALUES IN ('shanghai')) \
               DISTRIBUTED BY RANDOM BUCKETS AUTO";
    let Statement::CreateTable(ct) = ok(sql) else { panic!() };
    assert_eq!(ct.keys.as_ref().map(|k| k.keys_type), Some(KeysType::Duplicate));
    let Some(PartitionDesc::List { columns, partitions }) = &ct.partition else { panic!() };
    assert_eq!(columns, &vec!["city".to_string()]);
    assert_eq!(partitions[0].name, "p_bj");
    assert_eq!(partitions[0].values, vec![vec!["beijing".to_string()], vec!["bj".to_string()]]);
    assert_eq!(partitions[1].values, vec![vec!["shanghai".to_string()]]);
    assert_eq!(ct.distribution, Distribution { kind: DistributionKind::Random, buckets: None });

    let Statement::CreateTable(ct) =
        ok("CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) PARTITION BY LIST(a, b) (PARTITION p VALUES IN ((1, 2), (3, -4))) DISTRIBUTED BY HASH(a)")
    else {
        panic!()
    };
    let Some(PartitionDesc::List { partitions, .. }) = &ct.partition else { panic!() };
    assert_eq!(partitions[0].values, vec![vec!["1".to_string(), "2".to_string()], vec!["3".to_string(), "-4".to_string()]]);
    assert_eq!(ct.distribution.buckets, None);

    // Empty partition list and multi-column ranges.
    let Statement::CreateTable(ct) =
        ok("CREATE TABLE t (a INT, b INT) PARTITION BY RANGE(a, b) () DISTRIBUTED BY HASH(a) BUCKETS 3")
    else {
        panic!()
    };
    assert_eq!(ct.partition, Some(PartitionDesc::Range { columns: vec!["a".into(), "b".into()], partitions: vec![] }));
}

#[test]
fn create_table_errors() {
    let (line, column, msg) = parse_err_at("CREATE TABLE t (k INT)");
    assert_eq!((line, column), (1, 23));
    assert!(msg.contains("DISTRIBUTED"), "{msg}");
    assert!(matches!(err("CREATE TABLE t (k BITMAP) DISTRIBUTED BY HASH(k)"), FeError::NotSupported(m) if m.contains("BITMAP")));
    assert!(matches!(err("CREATE TABLE t (k INT) ENGINE=mysql DISTRIBUTED BY HASH(k)"), FeError::NotSupported(_)));
    let (_, col, msg) = parse_err_at("CREATE TABLE t (k DECIMAL(40,2)) DISTRIBUTED BY HASH(k)");
    assert_eq!(col, 19);
    assert!(msg.contains("precision"), "{msg}");
    let (_, _, msg) = parse_err_at("CREATE TABLE t (k VARCHAR(0)) DISTRIBUTED BY HASH(k)");
    assert!(msg.contains("varchar length"), "{msg}");
    let (_, _, msg) = parse_err_at("CREATE TABLE t (k INT,) DISTRIBUTED BY HASH(k)");
    assert!(msg.contains("column name"), "{msg}");
    let (_, _, msg) = parse_err_at("CREATE TABLE t (k INT SUM MAX) DISTRIBUTED BY HASH(k)");
    assert!(msg.contains("aggregation"), "{msg}");
    let (_, _, msg) = parse_err_at("CREATE TABLE t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 0");
    assert!(msg.contains("bucket"), "{msg}");
    assert!(matches!(err("CREATE TABLE t LIKE t2"), FeError::NotSupported(_)));
}

#[test]
fn drop_and_show_table() {
    assert_eq!(
        ok("DROP TABLE IF EXISTS db.t FORCE"),
        Statement::DropTable { table: tn(Some("db"), "t"), if_exists: true, force: true }
    );
    assert_eq!(ok("drop table t"), Statement::DropTable { table: tn(None, "t"), if_exists: false, force: false });
    assert_eq!(ok("SHOW CREATE TABLE `d`.`t`"), Statement::ShowCreateTable { table: tn(Some("d"), "t") });
    assert_eq!(ok("SHOW PARTITIONS FROM t"), Statement::ShowPartitions { table: tn(None, "t") });
    assert_eq!(ok("SHOW TABLETS FROM d.t"), Statement::ShowTablets { table: tn(Some("d"), "t") });
    assert_eq!(ok("SHOW TABLET FROM d.t"), Statement::ShowTablets { table: tn(Some("d"), "t") });
}

#[test]
fn system_statements() {
    assert_eq!(
        ok(r#"ALTER SYSTEM ADD BACKEND "10.0.0.1:9050", '[::1]:9051'"#),
        Statement::AddBackends {
            hosts: vec![
                HostPort { host: "10.0.0.1".into(), port: 9050 },
                HostPort { host: "::1".into(), port: 9051 }
            ]
        }
    );
    assert_eq!(
        ok(r#"alter system drop backend "h:1""#),
        Statement::DropBackends { hosts: vec![HostPort { host: "h".into(), port: 1 }], force: false }
    );
    assert_eq!(
        ok(r#"ALTER SYSTEM DROPP BACKEND "h:1""#),
        Statement::DropBackends { hosts: vec![HostPort { host: "h".into(), port: 1 }], force: true }
    );
    let (_, col, msg) = parse_err_at(r#"ALTER SYSTEM ADD BACKEND "nohost""#);
    assert_eq!(col, 26);
    assert!(msg.contains("host:port"), "{msg}");
    assert!(parse(r#"ALTER SYSTEM ADD BACKEND "h:99999""#).is_err());
    assert!(matches!(err("ALTER SYSTEM DECOMMISSION BACKEND 'h:1'"), FeError::NotSupported(_)));
    assert!(matches!(err("ALTER TABLE t MODIFY COLUMN c BIGINT"), FeError::NotSupported(m) if m == "ALTER TABLE t"));
    assert_eq!(ok("SHOW BACKENDS"), Statement::ShowBackends);
    assert_eq!(ok("show frontends;"), Statement::ShowFrontends);
}

#[test]
fn repositories() {
    let sql = r#"CREATE READ ONLY REPOSITORY `s3_repo` WITH S3 ON LOCATION "s3://bucket/prefix"
                 PROPERTIES ("s3.endpoint" = "http://127.0.0.1:9000", "s3.access_key" = "ak", "s3.secret_key" = "sk")"#;
    assert_eq!(
        ok(sql),
        Statement::CreateRepository(CreateRepository {
            name: "s3_repo".into(),
            read_only: true,
            storage: RepositoryStorage::S3,
            location: "s3://bucket/prefix".into(),
            properties: props(&[("s3.endpoint", "http://127.0.0.1:9000"), ("s3.access_key", "ak"), ("s3.secret_key", "sk")]),
        })
    );
    assert_eq!(
        ok("CREATE REPOSITORY r WITH LOCAL ON LOCATION 'file:///tmp/repo'"),
        Statement::CreateRepository(CreateRepository {
            name: "r".into(),
            read_only: false,
            storage: RepositoryStorage::Local,
            location: "file:///tmp/repo".into(),
            properties: vec![],
        })
    );
    assert!(matches!(
        err(r#"CREATE REPOSITORY r WITH BROKER hdfs_broker ON LOCATION "hdfs://x/y""#),
        FeError::NotSupported(m) if m.contains("BROKER")
    ));
    assert!(matches!(err(r#"CREATE REPOSITORY r WITH HDFS ON LOCATION "hdfs://x/y""#), FeError::NotSupported(_)));
    let (_, _, msg) = parse_err_at(r#"CREATE REPOSITORY r WITH LOCAL ON LOCATION "relative/dir""#);
    assert!(msg.contains("file:///"), "{msg}");
    let (_, _, msg) = parse_err_at(r#"CREATE REPOSITORY r WITH S3 ON LOCATION "http://x""#);
    assert!(msg.contains("s3://"), "{msg}");
    assert_eq!(ok("DROP REPOSITORY `r`"), Statement::DropRepository { name: "r".into() });
    assert_eq!(ok("SHOW REPOSITORIES"), Statement::ShowRepositories);
    assert_eq!(ok("SHOW SNAPSHOT ON r"), Statement::ShowSnapshot { repo: "r".into(), snapshot: None, timestamp: None });
    assert_eq!(
        ok(r#"SHOW SNAPSHOT ON r WHERE SNAPSHOT = "snap1" AND TIMESTAMP = "2024-01-01-00-00-00""#),
        Statement::ShowSnapshot {
            repo: "r".into(),
            snapshot: Some("snap1".into()),
            timestamp: Some("2024-01-01-00-00-00".into())
        }
    );
    assert!(parse(r#"SHOW SNAPSHOT ON r WHERE TIMESTAMP = "t""#).is_err());
}

#[test]
fn backup_and_restore() {
    let sql = r#"BACKUP SNAPSHOT example_db.snapshot_label2 TO example_repo
                 ON (example_tbl PARTITION (p1, p2), `example_tbl2` AS t2)
                 PROPERTIES ("type" = "full", "timeout" = "3600")"#;
    assert_eq!(
        ok(sql),
        Statement::Backup(BackupStmt {
            db: Some("example_db".into()),
            label: "snapshot_label2".into(),
            repo: "example_repo".into(),
            tables: Some(TableRefs {
                exclude: false,
                tables: vec![
                    TableRef { table: "example_tbl".into(), partitions: vec!["p1".into(), "p2".into()], alias: None },
                    TableRef { table: "example_tbl2".into(), partitions: vec![], alias: Some("t2".into()) },
                ]
            }),
            properties: props(&[("type", "full"), ("timeout", "3600")]),
        })
    );
    assert_eq!(
        ok("BACKUP SNAPSHOT snap TO __keep_on_local__"),
        Statement::Backup(BackupStmt {
            db: None,
            label: "snap".into(),
            repo: "__keep_on_local__".into(),
            tables: None,
            properties: vec![],
        })
    );
    let Statement::Backup(b) = ok("BACKUP SNAPSHOT d.s TO r EXCLUDE (t1, t2)") else { panic!() };
    assert_eq!(b.tables.as_ref().map(|t| (t.exclude, t.tables.len())), Some((true, 2)));
    let (_, _, msg) = parse_err_at("BACKUP SNAPSHOT d.s TO r EXCLUDE (t1 AS x)");
    assert!(msg.contains("alias"), "{msg}");

    let sql = r#"RESTORE SNAPSHOT example_db1.`snapshot_1` FROM `example_repo`
                 ON ( `backup_tbl` PARTITION (`p1`, `p2`), `backup_tbl2` AS `new_tbl` )
                 PROPERTIES ("backup_timestamp"="2018-05-04-16-45-08", "replication_num" = "1", "reserve_replica" = "true")"#;
    let Statement::Restore(r) = ok(sql) else { panic!() };
    assert_eq!(r.db.as_deref(), Some("example_db1"));
    assert_eq!(r.label, "snapshot_1");
    assert_eq!(r.repo, "example_repo");
    let tables = r.tables.unwrap();
    assert_eq!(tables.tables[1].alias.as_deref(), Some("new_tbl"));
    assert_eq!(r.properties[0], ("backup_timestamp".to_string(), "2018-05-04-16-45-08".to_string()));

    let (_, _, msg) = parse_err_at("RESTORE SNAPSHOT d.s TO r");
    assert!(msg.contains("FROM"), "{msg}");
    let (_, _, msg) = parse_err_at("BACKUP SNAPSHOT d.s FROM r");
    assert!(msg.contains("TO"), "{msg}");
}

#[test]
fn show_and_cancel_jobs() {
    assert_eq!(ok("SHOW BACKUP"), Statement::ShowBackup { db: None, filter: None });
    assert_eq!(
        ok(r#"SHOW BACKUP FROM db1 WHERE SnapshotName = "snap""#),
        Statement::ShowBackup { db: Some("db1".into()), filter: Some(NameFilter::Eq("snap".into())) }
    );
    assert_eq!(
        ok("show backup from db1 where snapshotname like 'sn%'"),
        Statement::ShowBackup { db: Some("db1".into()), filter: Some(NameFilter::Like("sn%".into())) }
    );
    assert_eq!(
        ok(r#"SHOW RESTORE FROM `db1` WHERE Label = "snap""#),
        Statement::ShowRestore { db: Some("db1".into()), filter: Some(NameFilter::Eq("snap".into())) }
    );
    let (_, _, msg) = parse_err_at(r#"SHOW RESTORE FROM db1 WHERE SnapshotName = "x""#);
    assert!(msg.contains("Label"), "{msg}");
    assert_eq!(ok("CANCEL BACKUP FROM db1"), Statement::CancelBackup { db: Some("db1".into()), filter: None });
    assert_eq!(ok("CANCEL RESTORE FROM db1;"), Statement::CancelRestore { db: Some("db1".into()), filter: None });
    assert_eq!(ok("CANCEL BACKUP"), Statement::CancelBackup { db: None, filter: None });
    assert_eq!(
        ok("CANCEL BACKUP FROM db1 WHERE LABEL = 'snap1'"),
        Statement::CancelBackup { db: Some("db1".into()), filter: Some(NameFilter::Eq("snap1".into())) }
    );
    assert_eq!(
        ok("cancel restore where label like \"ccr_%\""),
        Statement::CancelRestore { db: None, filter: Some(NameFilter::Like("ccr_%".into())) }
    );
    assert!(err("CANCEL RESTORE WHERE Snapshot = 'x'").to_string().contains("only LABEL can be filtered on"));
    assert!(matches!(err("CANCEL LOAD FROM db1"), FeError::NotSupported(_)));
}

#[test]
fn queries_go_to_the_query_engine_as_written() {
    for q in [
        "SELECT COUNT(*) FROM db.t PARTITION (p1, p2)",
        "select k1, count(*) AS n from t where k2 > 1 group by k1 order by n desc limit 10",
        "  /* a comment */ SELECT @@version_comment LIMIT 1",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "VALUES (1, 'a')",
    ] {
        assert_eq!(ok(q), Statement::Query(q.to_string()), "{q}");
    }
}

#[test]
fn transaction_control_statements() {
    assert_eq!(ok("COMMIT"), Statement::Transaction(TxnControl::Commit));
    assert_eq!(ok("commit work;"), Statement::Transaction(TxnControl::Commit));
    assert_eq!(ok("ROLLBACK"), Statement::Transaction(TxnControl::Rollback));
    assert_eq!(ok("BEGIN"), Statement::Transaction(TxnControl::Begin));
    assert_eq!(ok("START TRANSACTION READ ONLY"), Statement::Transaction(TxnControl::Begin));
    assert!(matches!(err("COMMIT AND CHAIN"), FeError::Parse { .. }));
}

#[test]
fn driver_probes() {
    assert_eq!(ok("SHOW VARIABLES"), Statement::ShowVariables { scope: VariableScope::Session, filter: None });
    assert_eq!(
        ok("SHOW GLOBAL VARIABLES LIKE 'lower_case_%'"),
        Statement::ShowVariables { scope: VariableScope::Global, filter: Some(VariableFilter::Like("lower_case_%".into())) }
    );
    let Statement::ShowVariables { filter: Some(VariableFilter::Where(preds)), .. } = ok(
        "SHOW VARIABLES WHERE Variable_name ='language' OR Variable_name = 'net_write_timeout' OR Variable_name LIKE 'tx%'"
    ) else {
        panic!()
    };
    assert_eq!(preds.len(), 3);
    assert_eq!(preds[2].op, PredicateOp::Like("tx%".into()));

    assert_eq!(ok("SET NAMES utf8mb4"), Statement::SetNames { charset: "utf8mb4".into(), collation: None });
    assert_eq!(
        ok("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci'"),
        Statement::SetNames { charset: "utf8mb4".into(), collation: Some("utf8mb4_general_ci".into()) }
    );
    assert_eq!(
        ok("SET autocommit=1"),
        Statement::SetVariables(vec![SetVariable {
            scope: VariableScope::Session,
            name: "autocommit".into(),
            value: SetValue::Int(1)
        }])
    );
    assert_eq!(
        ok("SET GLOBAL wait_timeout = 100, SESSION sql_mode = 'ANSI', @@session.tx_isolation = READ-COMMITTED, @@global.x := ON"),
        Statement::SetVariables(vec![
            SetVariable { scope: VariableScope::Global, name: "wait_timeout".into(), value: SetValue::Int(100) },
            SetVariable { scope: VariableScope::Session, name: "sql_mode".into(), value: SetValue::Str("ANSI".into()) },
            SetVariable {
                scope: VariableScope::Session,
                name: "tx_isolation".into(),
                value: SetValue::Word("READ-COMMITTED".into())
            },
            SetVariable { scope: VariableScope::Global, name: "x".into(), value: SetValue::Word("ON".into()) },
        ])
    );
    assert!(matches!(err("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"), FeError::NotSupported(_)));
    // MariaDB Connector/J's first statement: an expression the server evaluates.
    assert_eq!(
        ok("set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')"),
        Statement::SetVariables(vec![
            SetVariable { scope: VariableScope::Session, name: "autocommit".into(), value: SetValue::Int(1) },
            SetVariable {
                scope: VariableScope::Session,
                name: "sql_mode".into(),
                value: SetValue::Expr("concat ( @@sql_mode , ',STRICT_TRANS_TABLES' )".into())
            },
        ])
    );
    assert_eq!(
        ok("SET @@session.wait_timeout = 10 * 60"),
        Statement::SetVariables(vec![SetVariable {
            scope: VariableScope::Session,
            name: "wait_timeout".into(),
            value: SetValue::Expr("10 * 60".into())
        }])
    );
}

#[test]
fn comments_quoting_and_terminators() {
    assert_eq!(ok("-- leading comment\nSHOW DATABASES -- trailing"), Statement::ShowDatabases { like: None });
    assert_eq!(ok("/* block */ SHOW /* mid */ DATABASES;"), Statement::ShowDatabases { like: None });
    assert_eq!(ok("# hash comment\nSHOW BACKENDS ;  "), Statement::ShowBackends);
    assert_eq!(ok("SHOW DATABASES LIKE 'it''s'"), Statement::ShowDatabases { like: Some("it's".into()) });
    assert_eq!(ok(r#"SHOW DATABASES LIKE "a\"b""#), Statement::ShowDatabases { like: Some("a\"b".into()) });
    assert_eq!(ok("USE `we``ird`"), Statement::Use { db: "we`ird".into() });
    // Keywords are case-insensitive; quoted names keep their case.
    assert_eq!(ok("sHoW tAbLeS fRoM `MyDb`"), Statement::ShowTables { db: Some("MyDb".into()), full: false, like: None });
    // Two statements are not one.
    let (_, col, msg) = parse_err_at("SHOW DATABASES; SHOW TABLES");
    assert_eq!(col, 15);
    assert!(msg.contains("end of statement"), "{msg}");
}

#[test]
fn errors_and_positions() {
    assert!(matches!(err(""), FeError::EmptyQuery));
    assert!(matches!(err("  -- only a comment"), FeError::EmptyQuery));
    assert!(matches!(err(";"), FeError::EmptyQuery));
    // Unknown statements say what they were.
    assert!(matches!(err("DROP VIEW v"), FeError::NotSupported(_)));
    assert!(matches!(err("GRANT USAGE_PRIV ON RESOURCE 'r' TO u"), FeError::NotSupported(_)));
    assert_eq!(err("FLUSH PRIVILEGES").to_string(), "not supported: FLUSH PRIVILEGES");

    // Positions are 1-based line and column of the offending token.
    let (line, column, msg) = parse_err_at("CREATE DATABASE");
    assert_eq!((line, column), (1, 16));
    assert!(msg.contains("database name") && msg.contains("end of input"), "{msg}");
    let (line, column, msg) = parse_err_at("SHOW TABLES\nFROM db1 LIKE");
    assert_eq!((line, column), (2, 14));
    assert!(msg.contains("pattern"), "{msg}");
    let (line, column, _) = parse_err_at("BACKUP SNAPSHOT d.s TO r ON (t1 PARTITION p1)");
    assert_eq!((line, column), (1, 43));
    let (line, column, msg) = parse_err_at("SHOW DATABASES LIKE 'unterminated");
    assert_eq!((line, column), (1, 21));
    assert!(msg.to_lowercase().contains("unterminated"), "{msg}");
    let e = err("DROP TABLE");
    assert_eq!(e.mysql_code(), 1064);
    assert!(e.to_string().starts_with("syntax error at line 1, column 11"), "{e}");
}

#[test]
fn like_patterns() {
    assert!(like_match("d%", "db1"));
    assert!(like_match("D%", "db1"));
    assert!(!like_match("d%", "xdb"));
    assert!(like_match("%isolation", "tx_isolation"));
    assert!(like_match("t_", "tx"));
    assert!(!like_match("t_", "txy"));
    assert!(like_match("a\\_b", "a_b"));
    assert!(!like_match("a\\_b", "axb"));
    assert!(like_match("%", ""));
    assert!(like_match("%a%b%", "xxaxxbxx"));
    assert!(!like_match("%a%b", "xxaxxbxxc"));
}

#[test]
fn display_of_types() {
    assert_eq!(DataType::Varchar(10).to_string(), "varchar(10)");
    assert_eq!(DataType::Decimal { precision: 10, scale: 2 }.to_string(), "decimal(10,2)");
    assert_eq!(DataType::DateTimeV2 { scale: 3 }.to_string(), "datetimev2(3)");
    assert_eq!(tn(Some("d"), "t").to_string(), "d.t");
    assert_eq!(ok("SHOW BACKENDS").kind(), "SHOW BACKENDS");
}

/// The read-only statements the CCR syncer sends during a full sync and its health checks,
/// spelled as it spells them (pkg/ccr/meta.go, pkg/ccr/base/spec.go).
#[test]
fn ccr_syncer_reads() {
    assert_eq!(ok("show proc '/dbs/'"), Statement::ShowProc { path: "/dbs/".into() });
    assert_eq!(ok("show proc '/dbs/10116/'"), Statement::ShowProc { path: "/dbs/10116/".into() });
    assert_eq!(
        ok(r#"SHOW PROC "/dbs/10116/10118/partitions/10117/10119";"#),
        Statement::ShowProc { path: "/dbs/10116/10118/partitions/10117/10119".into() }
    );
    assert_eq!(ok("show table 41034"), Statement::ShowTableId { id: 41034 });
    assert_eq!(ok("SHOW DATABASE 10002"), Statement::ShowDatabaseId { id: 10002 });
    assert_eq!(ok("SHOW PARTITION 10117"), Statement::ShowPartitionId { id: 10117 });
    assert_eq!(ok("SHOW CREATE DATABASE `ccr`"), Statement::ShowCreateDatabase { name: "ccr".into() });
    assert_eq!(ok("show create schema ccr"), Statement::ShowCreateDatabase { name: "ccr".into() });
    assert_eq!(
        ok(r#"ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%""#),
        Statement::ShowFrontendConfig { like: Some("%enable_feature_binlog%".into()) }
    );
    assert_eq!(
        ok("SHOW FRONTEND CONFIG LIKE 'enable_restore_snapshot_rpc_compression'"),
        Statement::ShowFrontendConfig { like: Some("enable_restore_snapshot_rpc_compression".into()) }
    );
    assert_eq!(ok("admin show frontend config"), Statement::ShowFrontendConfig { like: None });
    let q = "select Host, QueryPort, RpcPort, IsMaster from frontends();";
    assert_eq!(ok(q), Statement::Query(q.into()));
    // `SHOW TABLES `db`` (no FROM) is how the syncer lists a database's tables.
    assert_eq!(ok("SHOW TABLES `ccr`"), Statement::ShowTables { db: Some("ccr".into()), full: false, like: None });
    assert_eq!(
        ok("SHOW TABLES FROM `ccr` LIKE 'src_1'"),
        Statement::ShowTables { db: Some("ccr".into()), full: false, like: Some("src_1".into()) }
    );
}

#[test]
fn ccr_reads_refused_or_malformed() {
    assert!(matches!(err("SHOW PROC"), FeError::Parse { .. }));
    assert!(matches!(err("SHOW PROC /dbs/"), FeError::Parse { .. }));
    assert!(matches!(err("SHOW TABLE 99999999999999999999"), FeError::Parse { .. }));
    assert!(matches!(err("SHOW TABLE STATUS"), FeError::NotSupported(m) if m == "SHOW TABLE STATUS"));
    assert!(matches!(err("ADMIN SET FRONTEND CONFIG ('a' = 'b')"), FeError::NotSupported(m) if m == "ADMIN SET FRONTEND"));
    assert!(matches!(err("ADMIN SHOW REPLICA STATUS FROM t"), FeError::NotSupported(_)));
}

#[test]
fn resources_and_storage_policies() {
    assert_eq!(
        ok(r#"CREATE RESOURCE IF NOT EXISTS "remote_s3" PROPERTIES ("type" = "s3", "s3.endpoint" = "e")"#),
        Statement::CreateResource {
            name: "remote_s3".into(),
            if_not_exists: true,
            properties: vec![("type".into(), "s3".into()), ("s3.endpoint".into(), "e".into())],
        }
    );
    assert_eq!(ok("DROP RESOURCE 'r'"), Statement::DropResource { name: "r".into(), if_exists: false });
    assert_eq!(ok("SHOW RESOURCES"), Statement::ShowResources);
    assert_eq!(
        ok(r#"CREATE STORAGE POLICY p PROPERTIES ("storage_resource" = "r", "cooldown_ttl" = "1d")"#),
        Statement::CreateStoragePolicy {
            name: "p".into(),
            if_not_exists: false,
            properties: vec![("storage_resource".into(), "r".into()), ("cooldown_ttl".into(), "1d".into())],
        }
    );
    assert_eq!(ok("DROP STORAGE POLICY IF EXISTS p"), Statement::DropStoragePolicy { name: "p".into(), if_exists: true });
    assert_eq!(ok("SHOW STORAGE POLICY"), Statement::ShowStoragePolicy);
}

#[test]
fn workload_groups() {
    assert_eq!(
        ok(r#"ALTER WORKLOAD GROUP normal PROPERTIES ("max_concurrency" = "8", 'max_queue_size' = 20)"#),
        Statement::AlterWorkloadGroup {
            name: "normal".into(),
            properties: vec![("max_concurrency".into(), "8".into()), ("max_queue_size".into(), "20".into())],
        }
    );
    assert_eq!(ok("ALTER WORKLOAD GROUP 'normal' PROPERTIES ()").kind(), "ALTER WORKLOAD GROUP");
    assert_eq!(ok("SHOW WORKLOAD GROUPS"), Statement::ShowWorkloadGroups { like: None });
    assert_eq!(ok("SHOW WORKLOAD GROUPS LIKE 'n%'"), Statement::ShowWorkloadGroups { like: Some("n%".into()) });
}

#[test]
fn alter_table_and_database_set_properties() {
    assert_eq!(
        ok(r#"ALTER TABLE db1.t SET ("binlog.enable" = "true")"#),
        Statement::AlterTableSet {
            table: TableName { db: Some("db1".into()), table: "t".into() },
            properties: vec![("binlog.enable".into(), "true".into())],
        }
    );
    assert_eq!(
        ok(r#"alter database db1 set properties ("binlog.enable" = "true", "binlog.ttl_seconds" = "3600")"#),
        Statement::AlterDatabaseSet {
            name: "db1".into(),
            properties: vec![("binlog.enable".into(), "true".into()), ("binlog.ttl_seconds".into(), "3600".into())],
        }
    );
    // Other ALTER TABLE forms are refused as not supported, naming the statement.
    assert!(parse("ALTER TABLE t ORDER BY (k)").is_err());
}

#[test]
fn show_transaction() {
    assert_eq!(
        ok("SHOW TRANSACTION FROM ccr WHERE id = 10042"),
        Statement::ShowTransaction { db: Some("ccr".into()), filter: TxnFilter::Id(10042) }
    );
    assert_eq!(
        ok("show transaction where LABEL = 'ccr_job_17'"),
        Statement::ShowTransaction { db: None, filter: TxnFilter::Label("ccr_job_17".into()) }
    );
    assert!(matches!(err("SHOW TRANSACTION FROM ccr WHERE status = 'x'"), FeError::Parse { .. }));
    assert!(matches!(err("SHOW TRANSACTION FROM ccr"), FeError::Parse { .. }));
}

/// The partition DDL the CCR syncer replays, in the forms upstream's binlogs carry.
#[test]
fn partition_ddl() {
    let Statement::AddPartition(a) = ok(
        "ALTER TABLE `t` ADD PARTITION `p3` VALUES [(\"20\"), (\"30\")) (\"version_info\" = \"4\") DISTRIBUTED BY HASH(`k`) BUCKETS 3",
    ) else {
        panic!("not an add partition")
    };
    assert_eq!(a.table, tn(None, "t"));
    assert!(!a.temporary && !a.if_not_exists);
    let NewPartitionDef::Range(r) = &a.partition else { panic!("not a range partition") };
    assert_eq!(r.name, "p3");
    assert_eq!(
        r.bound,
        RangeBound::Fixed {
            lower: vec![PartitionValue::Value("20".into())],
            upper: vec![PartitionValue::Value("30".into())]
        }
    );
    assert_eq!(r.properties, vec![("version_info".to_string(), "4".to_string())]);
    assert_eq!(a.distribution.as_ref().unwrap().buckets, Some(3));
    let Statement::AddPartition(a) = ok("ALTER TABLE db.t ADD PARTITION IF NOT EXISTS p4 VALUES LESS THAN (\"40\")") else {
        panic!()
    };
    assert!(a.if_not_exists && a.distribution.is_none());
    let Statement::AddPartition(a) = ok("ALTER TABLE t ADD PARTITION p_bj VALUES IN (\"beijing\", \"shanghai\")") else { panic!() };
    assert!(matches!(&a.partition, NewPartitionDef::List(l) if l.values.len() == 2));
    assert!(ok("ALTER TABLE t ADD TEMPORARY PARTITION tp VALUES LESS THAN (\"5\")") != ok("SHOW DATABASES"));
    assert_eq!(
        ok("ALTER TABLE t DROP PARTITION `p1` FORCE"),
        Statement::DropPartition { table: tn(None, "t"), temporary: false, name: "p1".into(), if_exists: false, force: true }
    );
    assert_eq!(
        ok("alter table d.t drop partition if exists p1"),
        Statement::DropPartition { table: tn(Some("d"), "t"), temporary: false, name: "p1".into(), if_exists: true, force: false }
    );
    assert_eq!(ok("TRUNCATE TABLE t"), Statement::TruncateTable { table: tn(None, "t"), partitions: vec![] });
    assert_eq!(
        ok("TRUNCATE TABLE `d`.`t` PARTITIONS (`p1`, p2)"),
        Statement::TruncateTable { table: tn(Some("d"), "t"), partitions: vec!["p1".into(), "p2".into()] }
    );
    assert!(matches!(err("ALTER TABLE t MODIFY COLUMN c BIGINT"), FeError::NotSupported(_)));
    let Statement::AlterColumns { table, change: ColumnChange::Add { columns, position } } =
        ok("ALTER TABLE `d`.`t` ADD COLUMN `c` INT NULL DEFAULT \"5\" COMMENT \"n\" AFTER `v`")
    else {
        panic!()
    };
    assert_eq!(table, tn(Some("d"), "t"));
    assert_eq!((columns.len(), columns[0].name.as_str(), position), (1, "c", ColumnPosition::After("v".into())));
    assert_eq!(columns[0].default, Some(DefaultValue::Value("5".into())));
    let Statement::AlterColumns { change: ColumnChange::Add { columns, position }, .. } =
        ok("ALTER TABLE t ADD COLUMN (a INT, b VARCHAR(8) NOT NULL DEFAULT 'x')")
    else {
        panic!()
    };
    assert_eq!((columns.len(), columns[1].nullable, position), (2, false, ColumnPosition::Last));
    assert_eq!(
        ok("ALTER TABLE t DROP COLUMN `c`"),
        Statement::AlterColumns { table: tn(None, "t"), change: ColumnChange::Drop { name: "c".into() } }
    );
    assert_eq!(
        ok("ALTER TABLE d.`t` RENAME t_new"),
        Statement::RenameTable { table: tn(Some("d"), "t"), new_name: "t_new".into() }
    );
}

#[test]
fn describe_columns_and_indexes() {
    assert_eq!(ok("DESC t"), Statement::Describe { table: tn(None, "t") });
    assert_eq!(ok("describe db.t all"), Statement::Describe { table: tn(Some("db"), "t") });
    assert_eq!(ok("SHOW FULL COLUMNS FROM t FROM db"), Statement::ShowColumns { table: tn(Some("db"), "t"), full: true });
    assert_eq!(ok("SHOW COLUMNS IN db.t"), Statement::ShowColumns { table: tn(Some("db"), "t"), full: false });
    assert_eq!(ok("SHOW INDEX FROM `t`"), Statement::ShowIndex { table: tn(None, "t") });
}

#[test]
fn delete_with_conditions_and_partitions() {
    let c = |column: &str, op: DeleteOp, values: &[&str]| DeleteCondition {
        column: column.into(),
        op,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    assert_eq!(
        ok("DELETE FROM d.t PARTITION p1 WHERE k1 = 3 AND `v` IN ('a', \"b\") AND t.k2 <> -4.5 AND x IS NOT NULL"),
        Statement::Delete {
            table: tn(Some("d"), "t"),
            partitions: vec!["p1".into()],
            conditions: vec![
                c("k1", DeleteOp::Eq, &["3"]),
                c("v", DeleteOp::In, &["a", "b"]),
                c("k2", DeleteOp::NotEq, &["-4.5"]),
                c("x", DeleteOp::IsNotNull, &[]),
            ],
        }
    );
    assert_eq!(
        ok("delete from t partitions (p1, p2) where k not in (1) and k >= 0 and k < 9 and k is null;"),
        Statement::Delete {
            table: tn(None, "t"),
            partitions: vec!["p1".into(), "p2".into()],
            conditions: vec![
                c("k", DeleteOp::NotIn, &["1"]),
                c("k", DeleteOp::GtEq, &["0"]),
                c("k", DeleteOp::Lt, &["9"]),
                c("k", DeleteOp::IsNull, &[]),
            ],
        }
    );
    let (_, _, m) = parse_err_at("DELETE FROM t");
    assert!(m.contains("TRUNCATE"), "{m}");
    let (_, _, m) = parse_err_at("DELETE FROM t WHERE k = 1 OR k = 2");
    assert_eq!(m, "Compound predicate's op should be AND");
    let (_, _, m) = parse_err_at("DELETE FROM t WHERE k LIKE 'a%'");
    assert!(m.starts_with("Where clause only supports"), "{m}");
    let (_, _, m) = parse_err_at("DELETE FROM t WHERE k = v");
    assert!(m.starts_with("Right expr of binary predicate"), "{m}");
    let (_, _, m) = parse_err_at("DELETE FROM t WHERE k = NULL");
    assert!(m.contains("IS [NOT] NULL"), "{m}");
}

fn insert(sql: &str) -> InsertStmt {
    match ok(sql) {
        Statement::Insert(i) => *i,
        other => panic!("{sql}: parsed as {other:?}"),
    }
}

#[test]
fn insert_into_with_label_partitions_and_columns() {
    let i = insert("INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    assert_eq!(i.table, tn(None, "t"));
    assert!(!i.overwrite && i.partitions.is_empty() && i.label.is_none() && i.columns.is_empty());
    assert_eq!(i.source, "VALUES (1, 'a'), (2, 'b')");

    let sql = "insert into db1.t PARTITION (p1, `p2`) WITH LABEL my_label (k, `v`)\n  SELECT k, v FROM s WHERE v = 'it''s'";
    let i = insert(sql);
    assert_eq!(i.table, tn(Some("db1"), "t"));
    assert_eq!(i.partitions, vec!["p1".to_string(), "p2".to_string()]);
    assert_eq!(i.label.as_deref(), Some("my_label"));
    assert_eq!(i.columns, vec!["k".to_string(), "v".to_string()]);
    // The source exactly as written, quotes and all.
    assert_eq!(i.source, "SELECT k, v FROM s WHERE v = 'it''s'");

    let i = insert("INSERT INTO internal.db1.t PARTITIONS (p1) WITH LABEL `l-1:x` VALUES (1)");
    assert_eq!((i.table, i.partitions, i.label.as_deref()), (tn(Some("db1"), "t"), vec!["p1".to_string()], Some("l-1:x")));
    // A parenthesised query and a WITH query are sources, not column lists or labels.
    assert_eq!(insert("INSERT INTO t (SELECT 1)").source, "(SELECT 1)");
    let i = insert("INSERT INTO t WITH x AS (SELECT 1 AS a) SELECT a FROM x");
    assert!(i.label.is_none() && i.source.starts_with("WITH x AS"));
    assert_eq!(insert("INSERT INTO t [noshuffle] SELECT 1").source, "SELECT 1");
}

#[test]
fn insert_overwrite() {
    let i = insert("INSERT OVERWRITE TABLE t PARTITION (p1) WITH LABEL ow1 (k) VALUES (1)");
    assert!(i.overwrite);
    assert_eq!((i.partitions, i.label.as_deref(), i.columns), (vec!["p1".to_string()], Some("ow1"), vec!["k".to_string()]));
    assert_eq!(insert("INSERT OVERWRITE TABLE t SELECT * FROM s").source, "SELECT * FROM s");
    // TABLE is required after OVERWRITE, as upstream.
    assert!(matches!(err("INSERT OVERWRITE t VALUES (1)"), FeError::Parse { .. }));
    assert!(matches!(err("INSERT INTO t WITH LABEL VALUES (1)"), FeError::Parse { .. }));
    assert!(matches!(err("INSERT INTO t PARTITION p1 VALUES (1)"), FeError::Parse { .. }));
    assert!(matches!(err("INSERT INTO t"), FeError::Parse { .. }));
    assert!(matches!(err("INSERT INTO hive.db.t VALUES (1)"), FeError::Parse { .. }));
}

#[test]
fn create_table_auto_increment() {
    let sql = "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT, v VARCHAR(8), n BIGINT NOT NULL AUTO_INCREMENT(100) COMMENT 'x', \
               m BIGINT NOT NULL AUTO_INCREMENT(-1)) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1";
    let Statement::CreateTable(ct) = ok(sql) else { panic!() };
    let got: Vec<Option<i64>> = ct.columns.iter().map(|c| c.auto_increment).collect();
    // A negative start parses; the catalog refuses it with upstream's text.
    assert_eq!(got, vec![Some(1), None, Some(100), Some(-1)]);
    assert_eq!(ct.columns[2].comment.as_deref(), Some("x"));
    assert!(matches!(err("CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT(x)) DISTRIBUTED BY HASH(id)"), FeError::Parse { .. }));
}

#[test]
fn create_table_with_complex_types() {
    let sql = "CREATE TABLE t (k INT, a ARRAY<ARRAY<INT>>, m MAP<VARCHAR(8), STRUCT<x:INT, `Y` DECIMAL(10,2) COMMENT 'c'>>, \
               s STRUCT<f1:ARRAY<STRING>>) DISTRIBUTED BY HASH(k) BUCKETS 1";
    let Statement::CreateTable(ct) = ok(sql) else { panic!() };
    let types: Vec<String> = ct.columns.iter().map(|c| c.data_type.to_string()).collect();
    assert_eq!(
        types,
        vec![
            "int",
            "array<array<int>>",
            "map<varchar(8),struct<x:int,Y:decimal(10,2)>>",
            "struct<f1:array<string>>",
        ]
    );
    assert_eq!(ct.columns[1].data_type, DataType::Array(Box::new(DataType::Array(Box::new(DataType::Int)))));
    assert!(crate::sql::parse("CREATE TABLE t (a ARRAY<INT) DISTRIBUTED BY HASH(a) BUCKETS 1").is_err());
    assert!(crate::sql::parse("CREATE TABLE t (s STRUCT<a:INT, A:INT>) DISTRIBUTED BY HASH(s) BUCKETS 1").is_err());
}

#[test]
fn show_load_filters() {
    assert_eq!(
        parse(r#"SHOW LOAD FROM d WHERE LABEL LIKE "ins" AND STATE = "finished" LIMIT 5"#).unwrap(),
        Statement::ShowLoad {
            db: Some("d".into()),
            label: Some(NameFilter::Like("ins".into())),
            state: Some("FINISHED".into()),
            limit: Some(5)
        }
    );
    assert_eq!(parse("SHOW LOAD").unwrap(), Statement::ShowLoad { db: None, label: None, state: None, limit: None });
    for bad in [r#"SHOW LOAD WHERE STATE = "DONE""#, r#"SHOW LOAD WHERE id = "1""#, r#"SHOW LOAD WHERE STATE LIKE "F%""#] {
        let e = parse(bad).unwrap_err().to_string();
        assert!(e.contains("Where clause should looks like"), "{bad}: {e}");
    }
}
