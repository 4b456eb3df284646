//! Talking to the clusters: MySQL connections and SHOW rows, thrift status checks, the
//! snapshot (de)compression, identifier quoting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use doris_thrift::status::{TStatus, TStatusCode};
use mysql_async::prelude::Queryable;

pub fn split_addr(what: &str, addr: &str) -> Result<(String, u16), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{what}: expected HOST:PORT, got {addr:?}"))?;
    let port = port.parse().map_err(|_| format!("{what}: bad port in {addr:?}"))?;
    Ok((host.to_string(), port))
}

pub async fn mysql(what: &str, addr: &str, user: &str, password: &str) -> Result<mysql_async::Conn, String> {
    let (host, port) = split_addr(what, addr)?;
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .user(Some(user))
        .pass((!password.is_empty()).then_some(password))
        .prefer_socket(false)
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28800))
        .stmt_cache_size(0);
    mysql_async::Conn::new(opts).await.map_err(|e| format!("{what} {addr}: {e}"))
}

/// Rows of a SHOW statement as column name -> text.
pub async fn show(conn: &mut mysql_async::Conn, stmt: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    let rows: Vec<mysql_async::Row> = conn.query(stmt).await.map_err(|e| format!("{stmt}: {e}"))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let names: Vec<String> = row.columns_ref().iter().map(|c| c.name_str().into_owned()).collect();
            names
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    let v = match row.as_ref(i) {
                        Some(mysql_async::Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                        Some(mysql_async::Value::NULL) | None => String::new(),
                        Some(other) => other.as_sql(true).trim_matches('\'').to_string(),
                    };
                    (n, v)
                })
                .collect()
        })
        .collect())
}

/// Polls a SHOW BACKUP/RESTORE statement until its last row is FINISHED; CANCELLED fails.
pub async fn wait_finished(conn: &mut mysql_async::Conn, stmt: &str, timeout: Duration) -> Result<BTreeMap<String, String>, String> {
    let deadline = Instant::now() + timeout;
    let mut last_state = String::new();
    loop {
        let rows = show(conn, stmt).await?;
        if let Some(row) = rows.last() {
            let state = row.get("State").cloned().unwrap_or_default();
            if state != last_state {
                println!("  {state}");
                last_state = state.clone();
            }
            match state.as_str() {
                "FINISHED" => return Ok(row.clone()),
                "CANCELLED" => {
                    return Err(format!("job cancelled: {}", row.get("Status").cloned().unwrap_or_default()))
                }
                _ => {}
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{stmt}: not FINISHED within {} s (last state {last_state:?})", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn check(what: &str, status: Option<&TStatus>) -> Result<(), String> {
    match status {
        Some(s) if s.status_code == TStatusCode::OK => Ok(()),
        Some(s) => Err(format!("{what}: {:?} {}", s.status_code, s.error_msgs.clone().unwrap_or_default().join("; "))),
        None => Err(format!("{what}: the answer has no status")),
    }
}

/// A source FE's compressed snapshot document, held to what one thrift message may carry.
pub fn gunzip(b: &[u8]) -> Result<Vec<u8>, String> {
    doris_fe::rpc::snapshots::gunzip(b, doris_thrift::transport::DEFAULT_MAX_MESSAGE_BYTES).map_err(|e| format!("gunzip: {e}"))
}

pub fn gzip(b: &[u8]) -> Result<Vec<u8>, String> {
    doris_fe::rpc::snapshots::gzip(b).map_err(|e| format!("gzip: {e}"))
}

pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

