//! The query engine without a catalog: session values, headers, table functions, errors.
//! Reads of OLAP tables are tested end to end (tests/e2e), against real BEs.

use std::sync::Arc;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::*;

fn env() -> QueryEnv {
    let mut variables = SysVars::default();
    variables.session.insert("version_comment".into(), SysVar::Str("doris-rs".into()));
    variables.session.insert("auto_increment_increment".into(), SysVar::Int(1));
    variables.session.insert("sql_mode".into(), SysVar::Str("ONLY_FULL_GROUP_BY".into()));
    variables.global.insert("sql_mode".into(), SysVar::Str("".into()));
    QueryEnv {
        current_db: Some("db1".into()),
        user: "root".into(),
        user_host: "%".into(),
        client_host: "127.0.0.1".into(),
        connection_id: 7,
        variables,
    }
}

fn engine() -> QueryEngine {
    let frontends = Arc::new(|| TextTable {
        columns: vec!["Name".into(), "Host".into(), "IsMaster".into()],
        rows: vec![vec![Some("fe1".into()), Some("10.0.0.1".into()), Some("true".into())]],
    }) as TableFunction;
    QueryEngine::without_catalog().with_table_function("frontends", frontends)
}

/// Headers and rows, cells as text ("NULL" for null).
async fn run(sql: &str) -> Result<(Vec<String>, Vec<Vec<String>>), FeError> {
    let r = engine().run(sql, &env()).await?;
    let mut rows = Vec::new();
    for b in &r.batches {
        let opts = FormatOptions::default().with_null("NULL");
        let fs: Vec<_> = b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap()).collect();
        for i in 0..b.num_rows() {
            rows.push(fs.iter().map(|f| f.value(i).to_string()).collect());
        }
    }
    Ok((r.headers, rows))
}

#[tokio::test]
async fn session_values_and_headers_as_mysql_writes_them() {
    let (h, rows) = run("SELECT @@version_comment LIMIT 1").await.unwrap();
    assert_eq!((h, rows), (vec!["@@version_comment".to_string()], vec![vec!["doris-rs".to_string()]]));

    let (h, rows) =
        run("select @@session.auto_increment_increment as inc, DATABASE(), CONNECTION_ID(), 1, USER(), @@GLOBAL.sql_mode")
            .await
            .unwrap();
    assert_eq!(h, ["inc", "DATABASE()", "CONNECTION_ID()", "1", "USER()", "@@GLOBAL.sql_mode"]);
    assert_eq!(rows, vec![vec!["1", "db1", "7", "1", "'root'@'127.0.0.1'", ""]]);
    // Who connected from where, and the identity whose privileges apply.
    let (_, rows) = run("SELECT USER(), CURRENT_USER()").await.unwrap();
    assert_eq!(rows[0], ["'root'@'127.0.0.1'", "'root'@'%'"]);

    // What MariaDB Connector/J's SET evaluates.
    let (_, rows) = run("SELECT concat(@@sql_mode, ',STRICT_TRANS_TABLES')").await.unwrap();
    assert_eq!(rows[0][0], "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES");
    let (_, rows) = run("SELECT VERSION(), 1 + 1 AS two, NULL").await.unwrap();
    assert_eq!(rows[0], ["5.7.99", "2", "NULL"]);
}

#[tokio::test]
async fn table_functions_with_mysql_column_names() {
    // The CCR syncer's spelling; columns match whatever their case.
    let (h, rows) = run("select Host, ismaster from frontends();").await.unwrap();
    assert_eq!(h, ["Host", "IsMaster"]);
    assert_eq!(rows, vec![vec!["10.0.0.1", "true"]]);
    let (h, rows) = run("SELECT COUNT(*) AS n FROM FRONTENDS() WHERE isMaster = 'true' AND name LIKE 'fe%'").await.unwrap();
    assert_eq!((h, rows), (vec!["n".to_string()], vec![vec!["1".to_string()]]));
    let (h, _) = run("SELECT * FROM frontends() LIMIT 1").await.unwrap();
    assert_eq!(h, ["Name", "Host", "IsMaster"]);
    let e = run("SELECT * FROM frontends('x')").await.unwrap_err();
    assert!(matches!(&e, FeError::InvalidArgument(m) if m.contains("does not support any params")), "{e}");
}

#[tokio::test]
async fn errors_people_can_act_on() {
    let e = run("SELECT @@no_such_variable").await.unwrap_err();
    assert!(matches!(&e, FeError::UnknownVariable(n) if n == "no_such_variable"), "{e:?}");
    let mut no_db = env();
    no_db.current_db = None;
    let e = engine().run("SELECT * FROM t", &no_db).await.err().unwrap();
    assert!(matches!(e, FeError::NoDatabaseSelected), "{e:?}");
    let e = run("SELECT nope FROM frontends()").await.unwrap_err();
    assert!(matches!(&e, FeError::UnknownColumn(c) if c == "nope"), "{e:?}");
    let e = run("SELECT * FROM db1.no_table").await.unwrap_err();
    assert!(matches!(&e, FeError::UnknownTable(t) if t == "no_table"), "{e:?}");
    let e = run("SELECT FROM WHERE").await.unwrap_err();
    assert!(matches!(&e, FeError::Analysis(_)), "{e:?}");
    let e = run("SELECT 1; SELECT 2").await.unwrap_err();
    assert!(matches!(&e, FeError::NotSupported(_)), "{e:?}");
}

#[tokio::test]
async fn brace_literals_read_as_upstream_maps_and_structs() {
    let r = engine().run("SELECT {'k': 1, 'j': 2}, {1, 'a'}, {}, {'a': {1, NULL}}, {'k': NULL}", &env()).await.unwrap();
    let b = &r.batches[0];
    let texts: Vec<String> = b.columns().iter().map(|c| nested_text::value_text(c.as_ref(), 0).unwrap()).collect();
    assert_eq!(texts, [r#"{"k":1, "j":2}"#, r#"{"col1":1, "col2":"a"}"#, "{}", r#"{"a":{"col1":1, "col2":null}}"#, r#"{"k":null}"#]);
    let e = run("SELECT {'a': 1, 'b'}").await.unwrap_err();
    assert_eq!(e.to_string(), FeError::Analysis("map can't be odd parameters, need even parameters".into()).to_string());
}
