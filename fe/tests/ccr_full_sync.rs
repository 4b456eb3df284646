//! CCR full sync between two clusters, each an in-process FE with an in-process BE (the BE
//! crate's `agent::start`, so the test can put real rowset files into the source tablets):
//! BACKUP to `__keep_on_local__`, getSnapshot (plain and gzip'ed, auth refusals), the
//! syncer's extra_info, restoreSnapshot with reserve_replica, and the target tablets'
//! bytes and versions equal to the source's.

mod fe_support;

use std::collections::BTreeMap;
use std::io::Read;

use doris_be::agent::{self, BeHandle};
use doris_fe::server::{start, FeHandle};
use doris_thrift::frontend_service::*;
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};
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
    let fe = start(conf).await.unwrap();
    let be = agent::start(be_config(storage.path(), brpc)).await.unwrap();
    add_backend(&fe, &be, 1).await;
    let sql = Sql::new(fe.ctx.clone());
    Cluster {
        fe,
        be,
        sql,
        _dirs: (meta, storage),
    }
}

fn client(fe: &FeHandle, pool: &ClientPool) -> FrontendServiceClient {
    FrontendServiceClient::new(pool.channel(fe.rpc_addr.to_string(), ClientOptions::default()))
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn snapshot_req(label: &str) -> TGetSnapshotRequest {
    TGetSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some("src".into()),
        label_name: Some(label.into()),
        snapshot_name: Some(label.into()),
        snapshot_type: Some(TSnapshotType::LOCAL),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccr_full_sync_between_two_clusters() {
    let mut src = cluster(18071, "10").await;
    // The target keeps two finished jobs per database.
    let mut dst = cluster(18072, "2").await;
    let pool = ClientPool::new();

    src.sql.run("CREATE DATABASE src").await;
    src.sql
        .run(
            r#"CREATE TABLE src.t (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
               PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200"))
               DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#,
        )
        .await;
    // Real bytes in every source tablet: one rowset (version 2) per tablet, then the
    // partitions' visible version 2, as a published load would leave them.
    let table = src.fe.ctx.catalog.table("src", "t").unwrap();
    let mut expected: BTreeMap<(String, usize), Vec<Vec<u8>>> = BTreeMap::new();
    for p in &table.partitions {
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            let bytes: Vec<u8> = (0..4096u32)
                .map(|x| (x as i64 * 31 + tablet.id) as u8)
                .collect();
            add_dat_rowset(&src.be, tablet.id, &bytes, 10);
            expected.insert((p.name.clone(), i), dat_contents(&src.be, tablet.id));
        }
    }
    set_visible_version_2(&src.fe, "src", "t");

    // BACKUP to __keep_on_local__, polled like the syncer does.
    src.sql
        .run(
            r#"BACKUP SNAPSHOT src.snap1 TO __keep_on_local__ ON (t) PROPERTIES ("type" = "full")"#,
        )
        .await;
    let shown = wait_done(
        &src.fe,
        r#"SHOW BACKUP FROM src WHERE SnapshotName = "snap1""#,
        "backup FINISHED",
    )
    .await;
    assert_eq!(shown.rows.len(), 1);
    assert_eq!(shown.get(&shown.rows[0], "Status"), "[OK]");
    assert_eq!(shown.get(&shown.rows[0], "DbName"), "src");

    // getSnapshot: refusals first.
    let fe1 = client(&src.fe, &pool);
    let mut bad = snapshot_req("snap1");
    bad.passwd = Some("wrong".into());
    assert_eq!(
        fe1.get_snapshot(&bad)
            .await
            .unwrap()
            .status
            .unwrap()
            .status_code,
        TStatusCode::NOT_AUTHORIZED
    );
    let mut bad = snapshot_req("snap1");
    bad.passwd = None;
    bad.token = Some("not-the-token".into());
    assert_eq!(
        fe1.get_snapshot(&bad)
            .await
            .unwrap()
            .status
            .unwrap()
            .status_code,
        TStatusCode::NOT_AUTHORIZED
    );
    let r = fe1.get_snapshot(&snapshot_req("nope")).await.unwrap();
    assert_eq!(
        r.status.unwrap().status_code,
        TStatusCode::SNAPSHOT_NOT_EXIST
    );

    let plain = fe1.get_snapshot(&snapshot_req("snap1")).await.unwrap();
    assert_eq!(
        plain.status.as_ref().unwrap().status_code,
        TStatusCode::OK,
        "{:?}",
        plain.status
    );
    assert_eq!(plain.compressed, Some(false));
    let mut by_token = snapshot_req("snap1");
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
        .get_backend_meta(&TGetBackendMetaRequest {
            cluster: None,
            user: Some("root".into()),
            passwd: Some(ROOT_PASSWORD.into()),
            user_ip: None,
            token: None,
            backend_id: None,
        })
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
    let fe2 = client(&dst.fe, &pool);
    let restore_req = |token: Option<String>, passwd: Option<&str>| TRestoreSnapshotRequest {
        user: Some("root".into()),
        passwd: passwd.map(str::to_string),
        token,
        db: Some("dst".into()),
        label_name: Some("snap1".into()),
        repo_name: Some("__keep_on_local__".into()),
        table_refs: Some(vec![Box::new(TTableRef {
            table: Some("t".into()),
            alias_name: None,
        })]),
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
    let r = fe2
        .restore_snapshot(&restore_req(Some(token.clone()), None))
        .await
        .unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::NOT_AUTHORIZED);
    let r = fe2
        .restore_snapshot(&restore_req(None, Some("wrong")))
        .await
        .unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::NOT_AUTHORIZED);
    let r = fe2
        .restore_snapshot(&restore_req(None, Some(ROOT_PASSWORD)))
        .await
        .unwrap();
    assert_eq!(
        r.status.as_ref().unwrap().status_code,
        TStatusCode::OK,
        "{:?}",
        r.status
    );

    let shown = wait_done(
        &dst.fe,
        r#"SHOW RESTORE FROM dst WHERE Label = "snap1""#,
        "restore FINISHED",
    )
    .await;
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
    let r = fe2.restore_snapshot(&again).await.unwrap();
    assert_eq!(
        r.status.as_ref().unwrap().status_code,
        TStatusCode::OK,
        "{:?}",
        r.status
    );
    let shown = wait_done(
        &dst.fe,
        r#"SHOW RESTORE FROM dst WHERE Label = "snap1""#,
        "second restore FINISHED",
    )
    .await;
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
    req.table_refs = Some(vec![Box::new(TTableRef {
        table: Some("t".into()),
        alias_name: Some("other".into()),
    })]);
    let r = fe2.restore_snapshot(&req).await.unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::OK);
    let shown = wait_for(60, "the mismatched restore to be cancelled", || {
        let ctx = dst.fe.ctx.clone();
        async move {
            let t = Sql::new(ctx)
                .rows(r#"SHOW RESTORE FROM dst WHERE Label = "snap1""#)
                .await;
            let row = t.rows.last()?.clone();
            (t.get(&row, "State") == "CANCELLED").then(|| t.get(&row, "Status").to_string())
        }
    })
    .await;
    assert!(
        shown.contains("already exist but with different schema"),
        "{shown}"
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
