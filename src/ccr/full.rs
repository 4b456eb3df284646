//! One CCR full sync, as the CCR syncer runs it:
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
use std::time::Duration;

use doris_thrift::frontend_service::{
    TGetMasterTokenRequest, TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType, TTableRef,
};
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::transport::{ClientOptions, ClientPool};
use mysql_async::prelude::Queryable;

use super::conn::{check, gunzip, gzip, ident, mysql, show, wait_finished};
use super::CcrSyncArgs;

/// Where a full sync left the target: the snapshot's label and, per source table id, the
/// commit seq of the last binlog the snapshot includes (its job_info's
/// `table_commit_seq_map`), where incremental sync goes on.
#[derive(Debug, Clone)]
pub struct FullSync {
    pub label: String,
    pub table_commit_seqs: BTreeMap<i64, i64>,
    /// Source table id -> name, of the tables the snapshot holds (restored under it).
    pub tables: BTreeMap<i64, String>,
}

/// One full sync. `replace`: restore with upstream's `atomic_restore`, replacing tables the
/// target already has (a new full sync of a followed job).
pub async fn run(a: &CcrSyncArgs, replace: bool) -> Result<FullSync, String> {
    let timeout = Duration::from_secs(a.timeout);
    let dst_db = a.dst_db.clone().unwrap_or_else(|| a.db.clone());
    let label = match (&a.label, replace) {
        (Some(l), false) => l.clone(),
        _ => {
            let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
            format!("ccrs_{}_{ms}", a.db)
        }
    };
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
        .get_snapshot(&TGetSnapshotRequest::new(
            None,
            a.user.clone(),
            a.password.clone(),
            a.db.clone(),
            None,
            None,
            label.clone(),
            label.clone(),
            TSnapshotType::LOCAL,
            true,
        ))
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
    let table_commit_seqs: BTreeMap<i64, i64> = info["table_commit_seq_map"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.parse().ok()?, v.as_i64()?))).collect())
        .unwrap_or_default();
    let tables: BTreeMap<i64, String> = info["backup_objects"]
        .as_object()
        .map(|m| m.iter().filter_map(|(name, o)| Some((o["id"].as_i64()?, name.clone()))).collect())
        .unwrap_or_default();
    let job_info = serde_json::to_vec(&info).map_err(|e| e.to_string())?;

    dst.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", ident(&dst_db)))
        .await
        .map_err(|e| format!("target CREATE DATABASE: {e}"))?;
    let r = dst_fe
        // Only what the syncer sets (a generated Default would send every field).
        .restore_snapshot(&TRestoreSnapshotRequest::new(
            None,
            a.user.clone(),
            a.password.clone(),
            dst_db.clone(),
            None,
            None,
            label.clone(),
            "__keep_on_local__".to_string(),
            (!a.tables.is_empty()).then(|| {
                a.tables.iter().map(|t| Box::new(TTableRef { table: Some(t.clone()), alias_name: None })).collect::<Vec<_>>()
            }),
            BTreeMap::from([("reserve_replica".to_string(), "true".to_string())]),
            gzip(&meta)?,
            gzip(&job_info)?,
            None,
            None,
            replace.then_some(true),
            true,
        ))
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
    Ok(FullSync { label, table_commit_seqs, tables })
}
