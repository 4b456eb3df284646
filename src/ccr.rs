//! `doris-rs ccr-sync`: one CCR full sync of tables from a source cluster to a target
//! cluster, driven the way the CCR syncer (selectdb/ccr-syncer) drives it, against any FE
//! that speaks upstream's protocol (ours or Java):
//!
//! 1. source, MySQL: `BACKUP SNAPSHOT db.label TO __keep_on_local__ ON (t, ...)` and poll
//!    `SHOW BACKUP FROM db WHERE SnapshotName = "label"` until FINISHED;
//! 2. source, thrift: `getSnapshot` (gzip'ed), `getMasterToken`; MySQL `SHOW BACKENDS` gives
//!    the BEs' http addresses, which go with the token into the job_info's `extra_info`;
//! 3. target, thrift: `restoreSnapshot` with `reserve_replica = true`, then poll
//!    `SHOW RESTORE FROM db WHERE Label = "label"` over MySQL until FINISHED.
//!
//! The target BEs pull the tablets straight from the source BEs' download API.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use doris_thrift::frontend_service::{
    TGetMasterTokenRequest, TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType, TTableRef,
};
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool};
use mysql_async::prelude::Queryable;

#[derive(clap::Args, Debug)]
pub struct CcrSyncArgs {
    /// Source FE MySQL address (host:query_port).
    #[arg(long, value_name = "HOST:PORT")]
    src: String,
    /// Source FE thrift address (host:rpc_port).
    #[arg(long, value_name = "HOST:PORT")]
    src_rpc: String,
    /// Target FE MySQL address (host:query_port).
    #[arg(long, value_name = "HOST:PORT")]
    dst: String,
    /// Target FE thrift address (host:rpc_port).
    #[arg(long, value_name = "HOST:PORT")]
    dst_rpc: String,
    /// Source database.
    #[arg(long)]
    db: String,
    /// Target database (created if missing); defaults to the source's name.
    #[arg(long)]
    dst_db: Option<String>,
    /// A table to sync; repeat for several. Without any, the whole database.
    #[arg(long = "table")]
    tables: Vec<String>,
    /// Snapshot label; defaults to ccrs_<db>_<unix seconds>.
    #[arg(long)]
    label: Option<String>,
    /// MySQL/thrift user on both clusters.
    #[arg(long, default_value = "root")]
    user: String,
    /// Password on both clusters.
    #[arg(long, default_value = "")]
    password: String,
    /// Give up after this many seconds per job.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

fn split_addr(what: &str, addr: &str) -> Result<(String, u16), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{what}: expected HOST:PORT, got {addr:?}"))?;
    let port = port.parse().map_err(|_| format!("{what}: bad port in {addr:?}"))?;
    Ok((host.to_string(), port))
}

async fn mysql(what: &str, addr: &str, user: &str, password: &str) -> Result<mysql_async::Conn, String> {
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
async fn show(conn: &mut mysql_async::Conn, stmt: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
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
async fn wait_finished(conn: &mut mysql_async::Conn, stmt: &str, timeout: Duration) -> Result<BTreeMap<String, String>, String> {
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

fn check(what: &str, status: Option<&TStatus>) -> Result<(), String> {
    match status {
        Some(s) if s.status_code == TStatusCode::OK => Ok(()),
        Some(s) => Err(format!("{what}: {:?} {}", s.status_code, s.error_msgs.clone().unwrap_or_default().join("; "))),
        None => Err(format!("{what}: the answer has no status")),
    }
}

fn gunzip(b: &[u8]) -> Result<Vec<u8>, String> {
    doris_fe::rpc::snapshots::gunzip(b).map_err(|e| format!("gunzip: {e}"))
}

fn gzip(b: &[u8]) -> Result<Vec<u8>, String> {
    doris_fe::rpc::snapshots::gzip(b).map_err(|e| format!("gzip: {e}"))
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub async fn run(a: CcrSyncArgs) -> Result<(), String> {
    let timeout = Duration::from_secs(a.timeout);
    let dst_db = a.dst_db.clone().unwrap_or_else(|| a.db.clone());
    let label = a.label.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        format!("ccrs_{}_{secs}", a.db)
    });
    let mut src = mysql("source", &a.src, &a.user, &a.password).await?;
    let mut dst = mysql("target", &a.dst, &a.user, &a.password).await?;
    let pool = ClientPool::new();
    let src_fe = FrontendServiceClient::new(pool.channel(a.src_rpc.clone(), ClientOptions::default()));
    let dst_fe = FrontendServiceClient::new(pool.channel(a.dst_rpc.clone(), ClientOptions::default()));

    let on = if a.tables.is_empty() {
        String::new()
    } else {
        format!(" ON ({})", a.tables.iter().map(|t| ident(t)).collect::<Vec<_>>().join(", "))
    };
    let stmt = format!(
        r#"BACKUP SNAPSHOT {}.{} TO __keep_on_local__{on} PROPERTIES ("type" = "full")"#,
        ident(&a.db),
        ident(&label)
    );
    println!("source: {stmt}");
    src.query_drop(&stmt).await.map_err(|e| format!("BACKUP: {e}"))?;
    let show_backup = format!(r#"SHOW BACKUP FROM {} WHERE SnapshotName = "{label}""#, ident(&a.db));
    wait_finished(&mut src, &show_backup, timeout).await?;

    let snap = src_fe
        .get_snapshot(&TGetSnapshotRequest {
            user: Some(a.user.clone()),
            passwd: Some(a.password.clone()),
            db: Some(a.db.clone()),
            label_name: Some(label.clone()),
            snapshot_name: Some(label.clone()),
            snapshot_type: Some(TSnapshotType::LOCAL),
            enable_compress: Some(true),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("getSnapshot: {e}"))?;
    check("getSnapshot", snap.status.as_ref())?;
    let compressed = snap.compressed == Some(true);
    let unpack = |b: Option<Vec<u8>>| -> Result<Vec<u8>, String> {
        let b = b.ok_or("getSnapshot: no meta/job_info in the answer")?;
        if compressed { gunzip(&b) } else { Ok(b) }
    };
    let meta = unpack(snap.meta)?;
    let job_info = unpack(snap.job_info)?;
    println!("source: getSnapshot {label}: meta {} bytes, job_info {} bytes", meta.len(), job_info.len());

    let token = src_fe
        .get_master_token(&TGetMasterTokenRequest {
            cluster: None,
            user: Some(a.user.clone()),
            password: Some(a.password.clone()),
        })
        .await
        .map_err(|e| format!("getMasterToken: {e}"))?;
    check("getMasterToken", token.status.as_ref())?;
    let token = token.token.ok_or("getMasterToken: no token in the answer")?;
    let mut network = serde_json::Map::new();
    for be in show(&mut src, "SHOW BACKENDS").await? {
        let port: u16 = be.get("HttpPort").and_then(|p| p.parse().ok()).ok_or("SHOW BACKENDS: no HttpPort")?;
        network.insert(
            be.get("BackendId").cloned().unwrap_or_default(),
            serde_json::json!({"ip": be.get("Host").cloned().unwrap_or_default(), "port": port}),
        );
    }
    let mut info: serde_json::Value =
        serde_json::from_slice(&job_info).map_err(|e| format!("job_info is not JSON: {e}"))?;
    info["extra_info"] = serde_json::json!({"be_network_map": network, "token": token});
    let job_info = serde_json::to_vec(&info).map_err(|e| e.to_string())?;

    dst.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", ident(&dst_db)))
        .await
        .map_err(|e| format!("target CREATE DATABASE: {e}"))?;
    let r = dst_fe
        .restore_snapshot(&TRestoreSnapshotRequest {
            user: Some(a.user.clone()),
            passwd: Some(a.password.clone()),
            db: Some(dst_db.clone()),
            label_name: Some(label.clone()),
            repo_name: Some("__keep_on_local__".into()),
            table_refs: (!a.tables.is_empty()).then(|| {
                a.tables
                    .iter()
                    .map(|t| Box::new(TTableRef { table: Some(t.clone()), alias_name: None }))
                    .collect()
            }),
            properties: Some(BTreeMap::from([("reserve_replica".to_string(), "true".to_string())])),
            meta: Some(gzip(&meta)?),
            job_info: Some(gzip(&job_info)?),
            compressed: Some(true),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("restoreSnapshot: {e}"))?;
    check("restoreSnapshot", r.status.as_ref())?;
    println!("target: restoreSnapshot {label} into {dst_db}");
    let show_restore = format!(r#"SHOW RESTORE FROM {} WHERE Label = "{label}""#, ident(&dst_db));
    let done = wait_finished(&mut dst, &show_restore, timeout).await?;
    println!(
        "full sync of {}{on} done: {} -> {dst_db} (snapshot {label}, restore job {})",
        a.db,
        a.src,
        done.get("JobId").cloned().unwrap_or_default()
    );
    Ok(())
}
