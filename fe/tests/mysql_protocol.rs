//! The MySQL port against real clients: the `mysql` CLI and pymysql, over
//! real sockets, with a small in-memory executor standing in for the catalog.

use std::collections::BTreeSet;
use std::process::Output;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doris_fe::error::FeError;
use doris_fe::mysql::{self, Executor, OutColumn, QueryOutput, Session, StaticUsers, Value};
use doris_fe::query::{QueryEngine, QueryEnv};
use doris_fe::sql::{like_match, Statement};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Databases in memory; enough catalog to exercise the protocol layer.
struct Fixture {
    dbs: Mutex<BTreeSet<String>>,
    /// `SELECT 'block'` says it started on the first channel, then holds its thread until
    /// the second says go (or a minute passes).
    block: Mutex<Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>>,
}

#[async_trait]
impl Executor for Fixture {
    async fn execute(&self, _session: &mut Session, stmt: Statement) -> Result<QueryOutput, FeError> {
        let mut dbs = self.dbs.lock().unwrap();
        match stmt {
            Statement::Use { db } => {
                if dbs.contains(&db) {
                    Ok(QueryOutput::ok())
                } else {
                    Err(FeError::UnknownDatabase(db))
                }
            }
            Statement::ShowDatabases { like } => {
                let rows = dbs
                    .iter()
                    .filter(|d| like.as_deref().is_none_or(|p| like_match(p, d)))
                    .map(|d| vec![Value::Str(d.clone())])
                    .collect();
                Ok(QueryOutput::text_rows(&["Database"], rows))
            }
            Statement::CreateDatabase { name, if_not_exists, .. } => {
                if !dbs.insert(name.clone()) && !if_not_exists {
                    return Err(FeError::DatabaseExists(name));
                }
                Ok(QueryOutput::affected(1))
            }
            Statement::DropDatabase { name, if_exists, .. } => {
                if !dbs.remove(&name) && !if_exists {
                    return Err(FeError::DatabaseNotExists(name));
                }
                Ok(QueryOutput::ok())
            }
            // A broken result set: must become an error, not a dead connection.
            Statement::ShowFrontends => Ok(QueryOutput::text_rows(&["a", "b"], vec![vec![Value::Int(1)]])),
            other => Err(FeError::NotSupported(format!("{} in the test fixture", other.kind()))),
        }
    }

    async fn query(&self, sql: &str, env: &QueryEnv) -> Result<QueryOutput, FeError> {
        if sql.contains("'block'") {
            // Blocks the runtime's thread, as a long CPU-bound query keeps a worker.
            if let Some((started, go)) = self.block.lock().unwrap().take() {
                started.send(()).unwrap();
                let _ = go.recv_timeout(std::time::Duration::from_secs(60));
            }
            return Ok(QueryOutput::text_rows(&["block"], vec![vec![Value::Str("done".into())]]));
        }
        // Typed columns and NULLs; the session's database must be set.
        if sql.to_ascii_uppercase().contains("COUNT(*) FROM T") {
            let db = env.current_db.clone().ok_or(FeError::NoDatabaseSelected)?;
            return Ok(QueryOutput::rows(
                vec![OutColumn::bigint("count(*)"), OutColumn::text("db"), OutColumn::text("none")],
                vec![vec![Value::Int(42), Value::Str(db), Value::Null]],
            ));
        }
        // Everything else as a server without a catalog answers it.
        mysql::query_output(&QueryEngine::without_catalog().run(sql, env).await?)
    }
}

struct Server {
    port: u16,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Server {
        Server::start_with(None).await
    }

    async fn start_with(block: Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let executor =
            Arc::new(Fixture { dbs: Mutex::new(["information_schema".to_string()].into()), block: Mutex::new(block) });
        let users = Arc::new(StaticUsers::new().with_user("root", "s3cret!").with_user("guest", ""));
        let stop = CancellationToken::new();
        // One statement worker: a statement that holds it holds them all.
        let task = tokio::spawn(mysql::serve_with(listener, executor, users, stop.clone(), 1));
        Server { port, stop, task }
    }

    async fn shutdown(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }

    /// Runs the `mysql` CLI in batch mode with `args` after the connection options.
    async fn cli(&self, user: &str, password: Option<&str>, args: &[&str]) -> Output {
        self.cli_with_input(user, password, args, "").await
    }

    /// Same, with `input` as the client's stdin (a script, one statement per line).
    async fn cli_with_input(&self, user: &str, password: Option<&str>, args: &[&str], input: &str) -> Output {
        let mut cmd = tokio::process::Command::new("mysql");
        cmd.arg("--no-defaults")
            .arg("--protocol=TCP")
            .arg("-h127.0.0.1")
            .arg(format!("-P{}", self.port))
            .arg(format!("-u{user}"))
            .arg("--batch")
            .arg("--connect-timeout=20");
        if let Some(pw) = password {
            cmd.arg(format!("-p{pw}"));
        }
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("the mysql client must be installed (apt-get install default-mysql-client)");
        let mut stdin = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes()).await.unwrap();
        drop(stdin);
        child.wait_with_output().await.unwrap()
    }

    async fn python(&self, script: &str) -> serde_json::Value {
        let out = tokio::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(self.port.to_string())
            .output()
            .await
            .expect("python3 must be installed");
        assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("bad python output {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cli_login_queries_and_errors() {
    let server = Server::start().await;

    // Login with a password; DDL then SHOW in one session.
    let out = server.cli("root", Some("s3cret!"), &["-e", "CREATE DATABASE d1; SHOW DATABASES"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Database\nd1\ninformation_schema\n");

    // Driver probes answered by the server layer.
    let out = server
        .cli("root", Some("s3cret!"), &["-e", "SELECT @@version_comment, @@max_allowed_packet, DATABASE(), 1"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "@@version_comment\t@@max_allowed_packet\tDATABASE()\t1");
    assert_eq!(lines[1], format!("{}\t67108864\tNULL\t1", mysql::VERSION_COMMENT));

    // The empty-password user logs in without -p.
    let out = server.cli("guest", None, &["-e", "SELECT CURRENT_USER()"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "CURRENT_USER()\n'guest'@'%'\n");

    // A database on the command line goes through the executor (COM_INIT_DB / handshake).
    let out = server.cli("root", Some("s3cret!"), &["-D", "d1", "-e", "SELECT DATABASE(); SELECT COUNT(*) FROM t"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "DATABASE()\nd1\ncount(*)\tdb\tnone\n42\td1\tNULL\n");
    let out = server.cli("root", Some("s3cret!"), &["-D", "nope", "-e", "SELECT 1"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("ERROR 1049 (42000): Unknown database 'nope'"), "{}", stderr(&out));

    // Wrong password and unknown user: 1045 with the client's address, in upstream's words
    // (`user@host` quoted as one; YES for a name no identity has, whatever was sent).
    let out = server.cli("root", Some("wrong"), &["-e", "SELECT 1"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ERROR 1045 (28000): Access denied for user 'root@127.0.0.1' (using password: YES)"),
        "{}",
        stderr(&out)
    );
    let out = server.cli("nobody", None, &["-e", "SELECT 1"]).await;
    assert!(
        stderr(&out).contains("ERROR 1045 (28000): Access denied for user 'nobody@127.0.0.1' (using password: YES)"),
        "{}",
        stderr(&out)
    );
    // A client opening with another plugin (MySQL 8's default) is switched to
    // mysql_native_password and then checked as usual.
    let out = server
        .cli("root", Some("s3cret!"), &["--default-auth=caching_sha2_password", "-e", "SELECT USER()"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "USER()\n'root'@'127.0.0.1'\n");
    let out = server.cli("root", Some("nope"), &["--default-auth=caching_sha2_password", "-e", "SELECT 1"]).await;
    assert!(stderr(&out).contains("ERROR 1045 (28000)"), "{}", stderr(&out));

    // A user with a password cannot log in without one.
    let out = server.cli("root", None, &["-e", "SELECT 1"]).await;
    assert!(stderr(&out).contains("ERROR 1045 (28000)"), "{}", stderr(&out));

    // Errors keep the session: --force carries on after each failing statement.
    let script = "DROP VIEW v;\nCREATE DATABASE d1;\nSELECT COUNT(*) FROM t;\nSHOW FRONTENDS;\nSHOW DATABASES LIKE 'd%';\n";
    let out = server.cli_with_input("root", Some("s3cret!"), &["--force"], script).await;
    let err = stderr(&out);
    assert!(err.contains("ERROR 1235 (42000) at line 1: not supported: DROP VIEW v"), "{err}");
    assert!(err.contains("ERROR 1007 (HY000) at line 2: Can't create database 'd1'; database exists"), "{err}");
    assert!(err.contains("ERROR 1046 (3D000) at line 3: No database selected"), "{err}");
    assert!(err.contains("ERROR 1105 (HY000) at line 4: result row has 1 values for 2 columns"), "{err}");
    assert_eq!(stdout(&out), "Database\nd1\n");

    // A syntax error names its position.
    let out = server.cli("root", Some("s3cret!"), &["-e", "SHOW TABLES FROM"]).await;
    assert!(
        stderr(&out).contains("ERROR 1064 (42000) at line 1: syntax error at line 1, column 17: expected database name"),
        "{}",
        stderr(&out)
    );

    server.shutdown().await;
}

const PYMYSQL_SCRIPT: &str = r#"
import json, sys
import pymysql

port = int(sys.argv[1])
out = {}

def connect(user, password, **kw):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, **kw)

conn = connect("root", "s3cret!")
cur = conn.cursor()
cur.execute("SELECT @@version_comment, @@session.auto_increment_increment, CONNECTION_ID()")
row = cur.fetchone()
out["probe"] = [row[0], row[1], row[2] == conn.thread_id()]
out["server_version"] = conn.get_server_info()

try:
    cur.execute("DROP VIEW v")
    out["unsupported"] = None
except pymysql.err.MySQLError as e:
    out["unsupported"] = [e.args[0], e.args[1]]

# The connection survives the error.
cur.execute("CREATE DATABASE IF NOT EXISTS pydb")
cur.execute("SHOW DATABASES LIKE 'py%'")
out["after_error"] = [r[0] for r in cur.fetchall()]

conn.select_db("pydb")  # COM_INIT_DB
cur.execute("SELECT DATABASE()")
out["db"] = cur.fetchone()[0]
try:
    conn.select_db("missing")
    out["bad_db"] = None
except pymysql.err.MySQLError as e:
    out["bad_db"] = [e.args[0], e.args[1]]
cur.execute("USE information_schema")
cur.execute("SELECT DATABASE()")
out["db_after_use"] = cur.fetchone()[0]

cur.execute("SHOW VARIABLES LIKE 'lower_case_table_names'")
out["variables"] = [list(r) for r in cur.fetchall()]
cur.execute("SET NAMES utf8mb4")
cur.execute("SET SESSION wait_timeout = 100")
cur.execute("SELECT @@wait_timeout")
out["wait_timeout"] = cur.fetchone()[0]
conn.ping()
conn.close()

try:
    connect("root", "bad")
    out["wrong_password"] = None
except pymysql.err.MySQLError as e:
    out["wrong_password"] = [e.args[0], e.args[1]]

guest = connect("guest", "")
c = guest.cursor()
c.execute("SELECT 1")
out["guest"] = c.fetchone()[0]
guest.close()

print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymysql_session() {
    let server = Server::start().await;
    let out = server.python(PYMYSQL_SCRIPT).await;

    assert_eq!(out["probe"], serde_json::json!([mysql::VERSION_COMMENT, 1, true]));
    assert_eq!(out["server_version"], "5.7.99");
    assert_eq!(out["unsupported"], serde_json::json!([1235, "not supported: DROP VIEW v"]));
    assert_eq!(out["after_error"], serde_json::json!(["pydb"]));
    assert_eq!(out["db"], "pydb");
    assert_eq!(out["bad_db"], serde_json::json!([1049, "Unknown database 'missing'"]));
    assert_eq!(out["db_after_use"], "information_schema");
    assert_eq!(out["variables"], serde_json::json!([["lower_case_table_names", "0"]]));
    assert_eq!(out["wait_timeout"], 100);
    assert_eq!(
        out["wrong_password"],
        serde_json::json!([1045, "Access denied for user 'root@127.0.0.1' (using password: YES)"])
    );
    assert_eq!(out["guest"], 1);

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_open_connections() {
    let server = Server::start().await;
    // A client that logs in and then waits: stopping must not hang on it.
    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, pymysql\n\
             c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='guest', password='')\n\
             print('connected', flush=True)\n\
             sys.stdin.read()\n",
        )
        .arg(server.port.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line).await.unwrap();
    assert_eq!(line.trim(), "connected");
    let port = server.port;
    server.shutdown().await;
    // The port no longer accepts logins.
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err());
    drop(child.stdin.take());
    child.wait().await.unwrap();
}

/// The server's greeting on a new connection to `port` (blocking I/O): its protocol
/// version byte and server version text.
fn greeting(port: u16) -> std::io::Result<(u8, String)> {
    use std::io::Read;
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port))?;
    // Only so that a server that never answers fails the test instead of hanging it.
    c.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let mut header = [0u8; 4];
    c.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len];
    c.read_exact(&mut payload)?;
    let end = payload[1..].iter().position(|b| *b == 0).unwrap_or(0);
    Ok((payload[0], String::from_utf8_lossy(&payload[1..1 + end]).into_owned()))
}

/// Logins do not wait for statements: while a statement holds the only worker of the query
/// runtime, a new connection still gets its greeting. When connections were accepted,
/// logged in and served on one runtime, it got nothing until the statement ended.
#[tokio::test(flavor = "current_thread")]
async fn a_new_connection_is_greeted_while_statements_hold_every_worker() {
    let (started_tx, started) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel();
    let server = Server::start_with(Some((started_tx, go_rx))).await;
    let port = server.port;
    // Everything below blocks, on threads of its own: the runtime's one thread is about
    // to be held by the statement.
    let probe = tokio::task::spawn_blocking(move || {
        let busy = std::thread::spawn(move || {
            std::process::Command::new("mysql")
                .args(["--no-defaults", "--protocol=TCP", "-h127.0.0.1", &format!("-P{port}"), "-uguest", "--batch"])
                .args(["-e", "SELECT 'block'"])
                .output()
                .expect("the mysql client must be installed")
        });
        started.recv_timeout(std::time::Duration::from_secs(60)).expect("the blocking statement started");
        let greeted = greeting(port);
        go.send(()).unwrap();
        (greeted, busy.join().unwrap())
    });
    let (greeted, busy) = probe.await.unwrap();
    let (protocol, version) = greeted.expect("a greeting while the command runtime was held");
    assert_eq!(protocol, 10);
    assert_eq!(version, doris_fe::mysql::SERVER_VERSION);
    // The held statement still completes once let go.
    assert!(busy.status.success(), "{}", String::from_utf8_lossy(&busy.stderr));
    assert_eq!(String::from_utf8_lossy(&busy.stdout), "block\ndone\n");
    server.shutdown().await;
}

/// A client that connects and never answers the greeting is dropped after
/// `connect_timeout` seconds, as MySQL does, instead of holding a login for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_after_connect_timeout() {
    let server = Server::start().await;
    let set = server.cli("root", Some("s3cret!"), &["-e", "SET GLOBAL connect_timeout = 1"]).await;
    assert!(set.status.success(), "{}", stderr(&set));
    let shown = server.cli("guest", None, &["-e", "SHOW GLOBAL VARIABLES LIKE 'connect_timeout'"]).await;
    assert_eq!(stdout(&shown), "Variable_name\tValue\nconnect_timeout\t1\n");
    let port = server.port;
    let outcome = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        // Only so that a server that never closes fails the test instead of hanging it.
        c.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
        let mut header = [0u8; 4];
        c.read_exact(&mut header).unwrap();
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        let mut greeting = vec![0u8; len];
        c.read_exact(&mut greeting).unwrap();
        // Say nothing; the server must close its end.
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).map(|_| rest)
    })
    .await
    .unwrap();
    match outcome {
        Ok(rest) => assert!(rest.is_empty(), "the server wrote {rest:?} instead of closing"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    // A client that does log in is not affected.
    let ok = server.cli("guest", None, &["-e", "SELECT 1"]).await;
    assert_eq!(stdout(&ok), "1\n1\n");
    server.shutdown().await;
}
