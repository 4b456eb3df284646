//! CCR full sync between two clusters, each an in-process FE with an in-process BE (the BE
//! crate's `agent::start`, so the test can put real rowset files into the source tablets):
//! BACKUP to `__keep_on_local__`, getSnapshot (plain and gzip'ed, auth refusals), the
//! syncer's extra_info, restoreSnapshot with reserve_replica, and the target tablets'
//! bytes and versions equal to the source's.

mod fe_support;

use std::collections::BTreeMap;
use std::io::Read;

use doris_be::agent::BeHandle;
use doris_fe::server::FeHandle;
use doris_thrift::frontend_service::*;
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::ClientPool;
use fe_support::*;

struct Cluster {
    fe: FeHandle,
    be: BeHandle,
    sql: Sql,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn cluster(brpc: u16, max_jobs: &str) -> Cluster {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let mut conf = fe_config(meta.path());
    conf.set("local_snapshot_ttl_second", "3600").unwrap();
    conf.set("max_backup_restore_job_num_per_db", max_jobs)
        .unwrap();
    let (fe, be) = start_cluster(conf, be_config(storage.path(), brpc)).await;
    let sql = Sql::new(fe.executor());
    Cluster {
        fe,
        be,
        sql,
        _dirs: (meta, storage),
    }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// getSnapshot of `src`'s local snapshot `label` as the syncer sends it.
fn src_snapshot_req(label: &str) -> TGetSnapshotRequest {
    TGetSnapshotRequest {
        snapshot_name: Some(label.into()),
        ..snapshot_req("src", label)
    }
}

/// getSnapshot over the wire; the answer's status code.
async fn snapshot_status(client: &FrontendServiceClient, req: &TGetSnapshotRequest) -> TStatusCode {
    client.get_snapshot(req).await.unwrap().status.unwrap().status_code
}

/// restoreSnapshot over the wire; the answer's status.
async fn restore(client: &FrontendServiceClient, req: &TRestoreSnapshotRequest) -> TStatus {
    client.restore_snapshot(req).await.unwrap().status.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccr_full_sync_between_two_clusters() {
    let mut src = cluster(18071, "10").await;
    // The target keeps two finished jobs per database.
    let mut dst = cluster(18072, "2").await;
    let pool = ClientPool::new();

    // Real bytes in every source tablet: one rowset (version 2) per tablet, then the
    // partitions' visible version 2, as a published load would leave them.
    let expected = table_with_data(&src.fe, &src.be, "src").await;

    // BACKUP to __keep_on_local__, polled like the syncer does.
    src.sql
        .run(
            r#"BACKUP SNAPSHOT src.snap1 TO __keep_on_local__ ON (t) PROPERTIES ("type" = "full")"#,
        )
        .await;
    let shown = wait_backup(&src.fe, "src", "snap1", "FINISHED").await;
    assert_eq!(shown.rows.len(), 1);
    assert_eq!(shown.get(&shown.rows[0], "Status"), "[OK]");
    assert_eq!(shown.get(&shown.rows[0], "DbName"), "src");

    // getSnapshot: refusals first.
    let fe1 = fe_client(&src.fe, &pool);
    let mut bad = src_snapshot_req("snap1");
    bad.passwd = Some("wrong".into());
    assert_eq!(snapshot_status(&fe1, &bad).await, TStatusCode::NOT_AUTHORIZED);
    let mut bad = src_snapshot_req("snap1");
    bad.passwd = None;
    bad.token = Some("not-the-token".into());
    assert_eq!(snapshot_status(&fe1, &bad).await, TStatusCode::NOT_AUTHORIZED);
    assert_eq!(
        snapshot_status(&fe1, &src_snapshot_req("nope")).await,
        TStatusCode::SNAPSHOT_NOT_EXIST
    );

    let plain = fe1.get_snapshot(&src_snapshot_req("snap1")).await.unwrap();
    assert_eq!(
        plain.status.as_ref().unwrap().status_code,
        TStatusCode::OK,
        "{:?}",
        plain.status
    );
    assert_eq!(plain.compressed, Some(false));
    let mut by_token = src_snapshot_req("snap1");
    by_token.passwd = None;
    by_token.token = Some(src.fe.ctx.cluster.token.clone());
    by_token.enable_compress = Some(true);
    let zipped = fe1.get_snapshot(&by_token).await.unwrap();
    assert_eq!(zipped.status.as_ref().unwrap().status_code, TStatusCode::OK);
    assert_eq!(zipped.compressed, Some(true));
    let meta = plain.meta.clone().unwrap();
    let job_info = plain.job_info.clone().unwrap();
    assert_eq!(gunzip(zipped.meta.as_ref().unwrap()), meta);
    assert_eq!(gunzip(zipped.job_info.as_ref().unwrap()), job_info);
    let expired = plain.expired_at.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        expired > now + 3_500_000 && expired <= now + 3_600_000,
        "expiredAt {expired} vs now {now}"
    );

    let mut info: serde_json::Value = serde_json::from_slice(&job_info).unwrap();
    assert_eq!(info["name"], "snap1");
    let tablet_be = info["tablet_be_map"].as_object().unwrap().clone();
    assert_eq!(tablet_be.len(), 4);
    assert!(tablet_be
        .values()
        .all(|v| v.as_i64() == Some(src.fe.ctx.backends.all()[0].id)));
    assert_eq!(
        info["tablet_snapshot_path_map"].as_object().unwrap().len(),
        4
    );
    assert_eq!(
        info["backup_objects"]["t"]["partitions"]["p1"]["version"],
        2
    );

    // The syncer's extra_info: source backends' http addresses and the source token.
    let token = fe1
        .get_master_token(&TGetMasterTokenRequest {
            cluster: None,
            user: Some("root".into()),
            password: Some(ROOT_PASSWORD.into()),
        })
        .await
        .unwrap()
        .token
        .unwrap();
    let backends = fe1
        .get_backend_meta(&backend_meta_req())
        .await
        .unwrap()
        .backends
        .unwrap();
    let mut net = serde_json::Map::new();
    for b in &backends {
        net.insert(
            b.id.unwrap().to_string(),
            serde_json::json!({"ip": b.host, "port": b.http_port}),
        );
    }
    info["extra_info"] = serde_json::json!({"be_network_map": net, "token": token});
    let job_info = serde_json::to_vec(&info).unwrap();

    // restoreSnapshot on the target.
    dst.sql.run("CREATE DATABASE dst").await;
    let fe2 = fe_client(&dst.fe, &pool);
    let restore_req = |token: Option<String>, passwd: Option<&str>| TRestoreSnapshotRequest {
        user: Some("root".into()),
        passwd: passwd.map(str::to_string),
        token,
        db: Some("dst".into()),
        label_name: Some("snap1".into()),
        repo_name: Some("__keep_on_local__".into()),
        table_refs: Some(table_refs(&[("t", None)])),
        properties: Some(BTreeMap::from([(
            "reserve_replica".to_string(),
            "true".to_string(),
        )])),
        meta: Some(doris_fe::rpc::snapshots::gzip(&meta).unwrap()),
        job_info: Some(doris_fe::rpc::snapshots::gzip(&job_info).unwrap()),
        compressed: Some(true),
        ..Default::default()
    };
    // The source's token is not the target's: refused.
    let st = restore(&fe2, &restore_req(Some(token.clone()), None)).await;
    assert_eq!(st.status_code, TStatusCode::NOT_AUTHORIZED);
    let st = restore(&fe2, &restore_req(None, Some("wrong"))).await;
    assert_eq!(st.status_code, TStatusCode::NOT_AUTHORIZED);
    let st = restore(&fe2, &restore_req(None, Some(ROOT_PASSWORD))).await;
    assert_eq!(st.status_code, TStatusCode::OK, "{st:?}");

    let shown = wait_restore(&dst.fe, "dst", "snap1", "FINISHED").await;
    assert_eq!(shown.get(&shown.rows[0], "Status"), "[OK]");
    assert_eq!(shown.get(&shown.rows[0], "ReserveReplica"), "true");

    // Byte-identical data and the backed-up versions.
    let restored = dst.fe.ctx.catalog.table("dst", "t").unwrap();
    assert_eq!(restored.partitions.len(), 2);
    for p in &restored.partitions {
        assert_eq!(p.visible_version, 2, "partition {}", p.name);
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            assert_eq!(
                dat_contents(&dst.be, tablet.id),
                expected[&(p.name.clone(), i)],
                "tablet {} of {}",
                tablet.id,
                p.name
            );
            assert_eq!(
                dst.be
                    .ctx
                    .storage
                    .tablet_meta(tablet.id)
                    .unwrap()
                    .max_version(),
                2
            );
        }
    }
    let parts = dst.sql.rows("SHOW PARTITIONS FROM dst.t").await;
    assert_eq!(
        parts.column("VisibleVersion"),
        vec!["2".to_string(), "2".to_string()]
    );

    // Restoring again into the existing table (same signature) with clean_tables: the
    // data is installed again and a table the snapshot lacks is dropped.
    dst.sql.run("CREATE TABLE dst.extra (k INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")").await;
    let mut again = restore_req(None, Some(ROOT_PASSWORD));
    again.clean_tables = Some(true);
    let st = restore(&fe2, &again).await;
    assert_eq!(st.status_code, TStatusCode::OK, "{st:?}");
    let shown = wait_restore(&dst.fe, "dst", "snap1", "FINISHED").await;
    assert_eq!(shown.rows.len(), 2);
    assert!(
        dst.fe.ctx.catalog.table("dst", "extra").is_err(),
        "clean_tables dropped dst.extra"
    );
    let again_t = dst.fe.ctx.catalog.table("dst", "t").unwrap();
    assert_eq!(
        again_t.id, restored.id,
        "the existing table was restored into, not recreated"
    );
    for p in &again_t.partitions {
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            assert_eq!(
                dat_contents(&dst.be, tablet.id),
                expected[&(p.name.clone(), i)]
            );
        }
    }

    // A table
    // with another schema under that name is refused with upstream's words.
    dst.sql.run("CREATE TABLE dst.other (k INT, w BIGINT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")").await;
    let mut req = restore_req(None, Some(ROOT_PASSWORD));
    req.label_name = Some("snap1".into());
    req.table_refs = Some(table_refs(&[("t", Some("other"))]));
    assert_eq!(restore(&fe2, &req).await.status_code, TStatusCode::OK);
    let shown = wait_restore(&dst.fe, "dst", "snap1", "CANCELLED").await;
    let status = shown.last("Status");
    assert!(
        status.contains("already exist but with different schema"),
        "{status}"
    );
    // The existing table was not dropped by the cancel.
    assert!(dst.fe.ctx.catalog.table("dst", "other").is_ok());
    // Three restores ran; the oldest was forgotten.
    let all = dst.sql.rows(r#"SHOW RESTORE FROM dst"#).await;
    assert_eq!(
        all.column("State"),
        vec!["FINISHED".to_string(), "CANCELLED".to_string()]
    );

    dst.fe.shutdown().await;
    src.fe.shutdown().await;
    dst.be.shutdown().await;
    src.be.shutdown().await;
}
