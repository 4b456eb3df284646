//! Clusters of an in-process FE and in-process BEs (the BE crate's `agent::start`, so a
//! test can put real rowset files into tablets): configs, registration, stream loads,
//! tablet data, files on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use doris_be::agent::{self, BeHandle};
use doris_be::config::BeConfig;
use doris_be::storage::RowsetMeta;
use doris_fe::config::FeConfig;
use doris_fe::server::{start, FeHandle};

use super::{wait_alive, wait_for, wait_until, Sql, ROOT_PASSWORD};

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

/// An in-process FE and an in-process BE joined to it and alive.
pub async fn start_cluster(fe_conf: FeConfig, be_conf: BeConfig) -> (FeHandle, BeHandle) {
    let fe = start(fe_conf).await.unwrap();
    let be = agent::start(be_conf).await.unwrap();
    add_backend(&fe, &be, 1).await;
    (fe, be)
}

/// ALTER SYSTEM ADD BACKEND for an in-process BE, then wait for all `n` backends alive.
pub async fn add_backend(fe: &FeHandle, be: &BeHandle, n: usize) {
    Sql::new(fe.executor())
        .run(&format!(
            r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#,
            be.addrs.heartbeat.port()
        ))
        .await;
    wait_alive(fe.executor(), n).await;
}

/// A stream load of CSV `body` into `db.table` through the BE, which must succeed.
pub async fn stream_load(be: &BeHandle, db: &str, table: &str, label: &str, body: &str) {
    let answer = stream_load_answer(be, db, table, label, body).await;
    assert_eq!(answer["Status"], "Success", "{answer}");
}

/// A stream load of CSV `body` into `db.table` through the BE; its JSON answer.
pub async fn stream_load_answer(be: &BeHandle, db: &str, table: &str, label: &str, body: &str) -> serde_json::Value {
    let url = format!("http://{}/api/{db}/{table}/_stream_load", be.addrs.http);
    let r = reqwest::Client::new()
        .put(url)
        .basic_auth("root", Some(ROOT_PASSWORD))
        .header("label", label)
        .header("column_separator", ",")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

/// `db.t`: 2 range partitions x 2 buckets, one replica each.
pub async fn create_table_t(fe: &FeHandle, db: &str) {
    let mut sql = Sql::new(fe.executor());
    sql.run(&format!("CREATE DATABASE {db}")).await;
    sql.run(&format!(
        r#"CREATE TABLE {db}.t (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
           PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200"))
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#
    ))
    .await;
}

/// Version `version` of `db.t`, as a published load would leave it: one rowset of real
/// bytes per tablet, the partitions' visible version moved to it, the BE's reports caught
/// up (backup picks a replica that has the version).
pub async fn load_version(fe: &FeHandle, be: &BeHandle, db: &str, version: i64) {
    let table = fe.ctx.catalog.table(db, "t").unwrap();
    let storage = &be.ctx.storage;
    for (_, tablet) in table.tablets() {
        let rowset_id = storage.next_rowset_id();
        let bytes: Vec<u8> = (0..4096u32)
            .map(|x| (x as i64 * 7 + tablet.id * 3 + version * 11) as u8)
            .collect();
        let dir = storage.tablet_dir(tablet.id).unwrap();
        std::fs::write(dir.join(format!("{rowset_id}_0.dat")), &bytes).unwrap();
        let rs = RowsetMeta {
            rowset_id,
            start_version: version,
            end_version: version,
            num_segments: 1,
            num_rows: 5,
            data_size: bytes.len() as i64,
            txn_id: None,
            remote: false,
            creation_time_s: 0,
            delete_predicate: None,
        };
        storage.add_rowset(tablet.id, rs).unwrap();
    }
    fe.ctx
        .catalog
        .update_table(table.id, |t| {
            for p in t.partitions.iter_mut() {
                p.visible_version = version;
            }
        })
        .unwrap();
    let ctx = fe.ctx.clone();
    let db = db.to_string();
    wait_for(30, "replica versions reported", || {
        let t = ctx.catalog.table(&db, "t").unwrap();
        async move {
            t.tablets()
                .all(|(_, tb)| tb.replicas.iter().all(|r| r.version == version))
                .then_some(())
        }
    })
    .await;
}

/// Table `db.t` of [`create_table_t`] at version 2 ([`load_version`]); its contents.
pub async fn table_with_data(fe: &FeHandle, be: &BeHandle, db: &str) -> Contents {
    create_table_t(fe, db).await;
    load_version(fe, be, db, 2).await;
    contents(fe, be, db, "t")
}

/// Each tablet's `.dat` contents by (partition, bucket).
pub type Contents = BTreeMap<(String, usize), Vec<Vec<u8>>>;

pub fn contents(fe: &FeHandle, be: &BeHandle, db: &str, table: &str) -> Contents {
    let t = fe.ctx.catalog.table(db, table).unwrap();
    let mut out = BTreeMap::new();
    for p in &t.partitions {
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            out.insert((p.name.clone(), i), dat_contents(be, tablet.id));
        }
    }
    out
}

/// `.dat` contents of a tablet on a BE, sorted.
pub fn dat_contents(be: &BeHandle, tablet_id: i64) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = dat_files(be, tablet_id).into_values().collect();
    out.sort();
    out
}

/// Rowset files (`.dat`) of a tablet: name -> bytes.
pub fn dat_files(be: &BeHandle, tablet_id: i64) -> BTreeMap<String, Vec<u8>> {
    let dir = be.ctx.storage.tablet_dir(tablet_id).unwrap();
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// The tablet ids of `db.table`.
pub fn tablet_ids(fe: &FeHandle, db: &str, table: &str) -> Vec<i64> {
    fe.ctx
        .catalog
        .table(db, table)
        .unwrap()
        .tablets()
        .map(|(_, t)| t.id)
        .collect()
}

/// The ids of a tablet's visible rowsets on the BE.
pub fn rowset_ids(be: &BeHandle, tablet_id: i64) -> Vec<String> {
    be.ctx
        .storage
        .tablet_meta(tablet_id)
        .unwrap()
        .rowsets
        .iter()
        .map(|r| r.rowset_id.clone())
        .collect()
}

/// Whether the BE holds the tablet.
pub fn on_be(be: &BeHandle, tablet_id: i64) -> bool {
    be.ctx.storage.tablet_meta(tablet_id).is_some()
}

/// Wait until the BE holds none of `ids`.
pub async fn wait_tablets_dropped(be: &BeHandle, ids: &[i64], what: &str) {
    wait_until(30, what, || ids.iter().all(|id| !on_be(be, *id))).await;
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
