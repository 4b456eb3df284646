//! The whole FE over the MySQL wire with the `mysql` CLI: login with fe.conf's root
//! password, catalog and system statements, and errors with their MySQL codes.

mod fe_support;

use std::process::Command;

use fe_support::*;

/// Run statements with the mysql CLI; (exit ok, stdout, stderr).
async fn mysql(port: u16, password: &str, sql: &str) -> (bool, String, String) {
    let (port, password, sql) = (port.to_string(), password.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        let out = Command::new("mysql")
            .args(["-h", "127.0.0.1", "-P", &port, "-u", "root", "--batch", "--connect-timeout=10"])
            .arg(format!("--password={password}"))
            .args(["-e", &sql])
            .output()
            .expect("the mysql CLI is installed");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_and_system_statements_over_the_wire() {
    let meta = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let port = fe.query_addr.port();

    let (ok, _, err) = mysql(port, "wrong", "SHOW DATABASES").await;
    assert!(!ok);
    assert!(err.contains("1045") && err.contains("Access denied for user 'root@"), "{err}");

    let (ok, out, err) = mysql(port, ROOT_PASSWORD, "CREATE DATABASE w1; USE w1; SHOW TABLES; SHOW DATABASES").await;
    assert!(ok, "{err}");
    assert!(out.lines().any(|l| l == "Database") && out.lines().any(|l| l == "w1"), "{out}");

    // A backend nobody listens on: registered, shown, not alive, with the reason.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, _, err) = mysql(port, ROOT_PASSWORD, &format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{dead}""#)).await;
    assert!(ok, "{err}");
    let row = wait_for(20, "a heartbeat failure in SHOW BACKENDS", || async move {
        let (_, out, _) = mysql(port, ROOT_PASSWORD, "SHOW BACKENDS").await;
        let mut lines = out.lines();
        let header: Vec<String> = lines.next()?.split('\t').map(str::to_string).collect();
        let row: Vec<String> = lines.next()?.split('\t').map(str::to_string).collect();
        let err_msg = &row[header.iter().position(|h| h == "ErrMsg")?];
        (!err_msg.is_empty()).then_some((header, row))
    })
    .await;
    let (header, row) = row;
    assert_eq!(header[0], "BackendId");
    assert_eq!(row[header.iter().position(|h| h == "HeartbeatPort").unwrap()], dead.to_string());
    assert_eq!(row[header.iter().position(|h| h == "Alive").unwrap()], "false");

    // No alive backend: CREATE TABLE is refused with upstream's text.
    let (ok, _, err) = mysql(
        port,
        ROOT_PASSWORD,
        "CREATE TABLE w1.t (k INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
    )
    .await;
    assert!(!ok);
    assert!(err.contains("Failed to find enough backend"), "{err}");

    let (ok, _, err) = mysql(port, ROOT_PASSWORD, "BACKUP SNAPSHOT w1.s1 TO repo").await;
    assert!(!ok);
    assert!(err.contains("1105") && err.contains("repository repo does not exist"), "{err}");

    let (ok, _, err) = mysql(port, ROOT_PASSWORD, "USE nosuchdb").await;
    assert!(!ok);
    assert!(err.contains("1049"), "{err}");

    let (ok, out, err) =
        mysql(port, ROOT_PASSWORD, &format!(r#"ALTER SYSTEM DROP BACKEND "127.0.0.1:{dead}"; SHOW BACKENDS"#)).await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 0, "no backend rows and no header for an empty set: {out}");
    fe.shutdown().await;
}
