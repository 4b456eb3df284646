//! Clusters of an in-process FE and in-process BEs (the BE crate's `agent::start`, so a
//! test can put real rowset files into tablets): configs, registration, tablet data, job
//! polling, files on disk.

use std::path::{Path, PathBuf};

use doris_be::agent::BeHandle;
use doris_be::config::BeConfig;
use doris_be::storage::RowsetMeta;
use doris_fe::context::Ctx;
use doris_fe::server::{start, FeHandle};

use super::{fe_config, wait_for, Sql, Table};

/// An in-process BE on kernel-picked ports with reports every second. `brpc` is only
/// reported to the FE (nothing listens on it): distinct values tell BEs apart.
pub fn be_config(root: &Path, brpc: u16) -> BeConfig {
    BeConfig {
        be_port: 0,
        heartbeat_service_port: 0,
        webserver_port: 0,
        brpc_port: brpc,
        storage_root_paths: vec![root.to_path_buf()],
        report_task_interval_seconds: 1,
        report_tablet_interval_seconds: 1,
        report_disk_state_interval_seconds: 1,
        storage_min_left_capacity_bytes: 0,
        priority_networks: "127.0.0.0/8".into(),
        ..BeConfig::default()
    }
}

/// An in-process FE with the tests' config on `meta`.
pub async fn start_fe(meta: &Path) -> FeHandle {
    start(fe_config(meta)).await.unwrap()
}

/// Wait until SHOW BACKENDS lists `n` backends, all alive; the result set.
pub async fn wait_alive(ctx: Ctx, n: usize) -> Table {
    wait_for(60, "backends alive", || {
        let ctx = ctx.clone();
        async move {
            let t = Sql::new(ctx).rows("SHOW BACKENDS").await;
            (t.rows.len() == n && t.column("Alive").iter().all(|a| a == "true")).then_some(t)
        }
    })
    .await
}

/// ALTER SYSTEM ADD BACKEND for an in-process BE, then wait for all `n` backends alive.
pub async fn add_backend(fe: &FeHandle, be: &BeHandle, n: usize) {
    Sql::new(fe.ctx.clone())
        .run(&format!(
            r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#,
            be.addrs.heartbeat.port()
        ))
        .await;
    wait_alive(fe.ctx.clone(), n).await;
}

/// `.dat` contents of a tablet on a BE, sorted.
pub fn dat_contents(be: &BeHandle, tablet_id: i64) -> Vec<Vec<u8>> {
    let dir = be.ctx.storage.tablet_dir(tablet_id).unwrap();
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    out.sort();
    out
}

/// One rowset at version 2 holding `bytes` as its only segment, as a published load
/// would leave it.
pub fn add_dat_rowset(be: &BeHandle, tablet_id: i64, bytes: &[u8], num_rows: i64) {
    let storage = &be.ctx.storage;
    let rowset_id = storage.next_rowset_id();
    std::fs::write(
        storage
            .tablet_dir(tablet_id)
            .unwrap()
            .join(format!("{rowset_id}_0.dat")),
        bytes,
    )
    .unwrap();
    let rs = RowsetMeta {
        rowset_id,
        start_version: 2,
        end_version: 2,
        num_segments: 1,
        num_rows,
        data_size: bytes.len() as i64,
        txn_id: None,
        remote: false,
    };
    storage.add_rowset(tablet_id, rs).unwrap();
}

/// Every partition of `db.table` at visible version 2 (after [`add_dat_rowset`]).
pub fn set_visible_version_2(fe: &FeHandle, db: &str, table: &str) {
    let t = fe.ctx.catalog.table(db, table).unwrap();
    fe.ctx
        .catalog
        .update_table(t.id, |t| {
            for p in t.partitions.iter_mut() {
                p.visible_version = 2;
            }
        })
        .unwrap();
}

/// Table `db.t` (2 range partitions x 2 buckets) with one rowset per tablet and the
/// partitions at visible version 2; each tablet's `.dat` contents by (partition, bucket).
pub async fn table_with_data(
    fe: &FeHandle,
    be: &BeHandle,
    db: &str,
) -> Vec<((String, usize), Vec<Vec<u8>>)> {
    let mut sql = Sql::new(fe.ctx.clone());
    sql.run(&format!("CREATE DATABASE {db}")).await;
    sql.run(&format!(
        r#"CREATE TABLE {db}.t (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
           PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200"))
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#
    ))
    .await;
    let table = fe.ctx.catalog.table(db, "t").unwrap();
    let mut expected = Vec::new();
    for p in &table.partitions {
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            let bytes: Vec<u8> = (0..8192u32)
                .map(|x| (x as i64 * 7 + tablet.id * 3) as u8)
                .collect();
            add_dat_rowset(be, tablet.id, &bytes, 5);
            expected.push(((p.name.clone(), i), dat_contents(be, tablet.id)));
        }
    }
    set_visible_version_2(fe, db, "t");
    // The BE reports the new replica versions; backup picks a replica that has them.
    let ctx = fe.ctx.clone();
    let db = db.to_string();
    wait_for(30, "replica versions reported", || {
        let t = ctx.catalog.table(&db, "t").unwrap();
        async move {
            t.tablets()
                .all(|(_, tb)| tb.replicas.iter().all(|r| r.version == 2))
                .then_some(())
        }
    })
    .await;
    expected
}

/// Poll a SHOW BACKUP/SHOW RESTORE statement until its last row is FINISHED (the result
/// set); a CANCELLED job fails the test with its status.
pub async fn wait_done(fe: &FeHandle, stmt: &str, what: &str) -> Table {
    let ctx = fe.ctx.clone();
    let stmt = stmt.to_string();
    wait_for(90, what, || {
        let ctx = ctx.clone();
        let stmt = stmt.clone();
        async move {
            let t = Sql::new(ctx).rows(&stmt).await;
            let row = t.rows.last()?.clone();
            match t.get(&row, "State") {
                "FINISHED" => Some(t),
                "CANCELLED" => panic!("job cancelled: {}", t.get(&row, "Status")),
                _ => None,
            }
        }
    })
    .await
}

/// Every regular file under `dir`, recursively (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The snapshot directories a BE holds under its storage root.
pub fn snapshot_dirs(storage: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(storage.join("snapshot"))
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}
