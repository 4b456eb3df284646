//! Readiness over the FE's MySQL port: wait for root to log in, register the BEs it does
//! not know yet, wait until every one of ours is Alive in `SHOW BACKENDS`.

use std::fmt::Write as _;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use tokio::time::Instant;

use super::layout::{Layout, HOST};
use super::procs::Cluster;

/// A row of SHOW BACKENDS, the columns we read.
struct Backend {
    host: String,
    heartbeat_port: u16,
    alive: bool,
    err_msg: String,
}

fn mysql_opts(port: u16) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname(HOST)
        .tcp_port(port)
        .user(Some("root"))
        // A loopback host makes the driver ask for @@socket and move to it: not here.
        .prefer_socket(false)
        // Given, so the driver does not SELECT them at connect time.
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28800))
        .stmt_cache_size(0)
        .into()
}

async fn show_backends(conn: &mut mysql_async::Conn) -> Result<Vec<Backend>, String> {
    let rows: Vec<mysql_async::Row> = conn.query("SHOW BACKENDS").await.map_err(|e| format!("SHOW BACKENDS: {e}"))?;
    let text = |r: &mysql_async::Row, col: &str| -> String {
        r.get_opt::<Option<String>, &str>(col).and_then(|v| v.ok()).flatten().unwrap_or_default()
    };
    Ok(rows
        .iter()
        .map(|r| Backend {
            host: text(r, "Host"),
            heartbeat_port: text(r, "HeartbeatPort").parse().unwrap_or(0),
            alive: text(r, "Alive").eq_ignore_ascii_case("true"),
            err_msg: text(r, "ErrMsg"),
        })
        .collect())
}

/// Poll the FE's MySQL port until root can log in.
pub(super) async fn connect_fe(
    cluster: &mut Cluster,
    port: u16,
    deadline: Instant,
    timeout: u64,
) -> Result<mysql_async::Conn, String> {
    loop {
        cluster.check_alive()?;
        let attempt = tokio::time::timeout(Duration::from_secs(5), mysql_async::Conn::new(mysql_opts(port))).await;
        let last = match attempt {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 5 s".to_string(),
        };
        if Instant::now() >= deadline {
            let fe = &cluster.procs[0];
            return Err(fe.failure(&format!(
                "does not accept MySQL logins on {HOST}:{port} after {timeout} s (last error: {last})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Register the BEs the FE does not know yet, then wait until all of ours are Alive.
pub(super) async fn register_and_wait(
    cluster: &mut Cluster,
    conn: &mut mysql_async::Conn,
    layout: &Layout,
    deadline: Instant,
    timeout: u64,
) -> Result<(), String> {
    let known = show_backends(conn).await?;
    for (i, b) in layout.bes.iter().enumerate() {
        if known.iter().any(|k| k.host == HOST && k.heartbeat_port == b.heartbeat) {
            continue;
        }
        let sql = format!("ALTER SYSTEM ADD BACKEND \"{HOST}:{}\"", b.heartbeat);
        conn.query_drop(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
        println!("  registered BE {i} ({HOST}:{})", b.heartbeat);
    }
    for k in &known {
        if !(k.host == HOST && layout.bes.iter().any(|b| b.heartbeat == k.heartbeat_port)) {
            println!(
                "  note: backend {}:{} is registered in this FE but not started by this run \
                 (another --base-port or --bes before?)",
                k.host, k.heartbeat_port
            );
        }
    }
    loop {
        cluster.check_alive()?;
        let shown = show_backends(conn).await?;
        let not_alive: Vec<(usize, String)> = layout
            .bes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let row = shown.iter().find(|k| k.host == HOST && k.heartbeat_port == b.heartbeat);
                match row {
                    Some(k) if k.alive => None,
                    Some(k) => Some((i, k.err_msg.clone())),
                    None => Some((i, "not listed in SHOW BACKENDS".to_string())),
                }
            })
            .collect();
        if not_alive.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mut msg = String::new();
            for (i, err) in &not_alive {
                let p = &cluster.procs[i + 1];
                let why = if err.is_empty() { String::new() } else { format!(" ({err})") };
                let _ =
                    writeln!(msg, "{}", p.failure(&format!("is not Alive in SHOW BACKENDS after {timeout} s{why}")));
            }
            return Err(msg.trim_end().to_string());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
