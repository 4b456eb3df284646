//! An FE in-process with three real BE processes (`doris-rs be`): ADD BACKEND, liveness,
//! a partitioned replicated table created on every BE, the token and cluster id the BEs
//! adopted, and an FE restart. Needs the binary: `cargo build -p doris-rs` (or set
//! DORIS_RS_BIN).

mod fe_support;

use std::collections::BTreeSet;

use doris_fe::server::start;
use doris_thrift::services::BackendServiceClient;
use doris_thrift::transport::{ClientOptions, ClientPool};
use fe_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fe_with_three_real_backends() {
    let meta = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let bes = vec![spawn_be().await, spawn_be().await, spawn_be().await];
    let mut sql = Sql::new(fe.executor());
    for be in &bes {
        sql.run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, be.hb_port)).await;
    }
    let shown = wait_alive(fe.executor(), 3).await;
    let ports: BTreeSet<String> = shown.column("BePort").into_iter().collect();
    assert_eq!(ports, bes.iter().map(|b| b.be_port.to_string()).collect());
    let http: BTreeSet<String> = shown.column("HttpPort").into_iter().collect();
    assert_eq!(http, bes.iter().map(|b| b.http_port.to_string()).collect());

    sql.run("CREATE DATABASE d1").await;
    sql.run("USE d1").await;
    sql.run(
        r#"CREATE TABLE t1 (k1 INT, v1 VARCHAR(32)) DUPLICATE KEY(k1)
           PARTITION BY RANGE(k1) (
             PARTITION p1 VALUES LESS THAN ("10"),
             PARTITION p2 VALUES LESS THAN ("20"),
             PARTITION p3 VALUES LESS THAN ("30"))
           DISTRIBUTED BY HASH(k1) BUCKETS 4
           PROPERTIES ("replication_num" = "3")"#,
    )
    .await;

    let tablets = sql.rows("SHOW TABLETS FROM t1").await;
    assert_eq!(tablets.rows.len(), 36);
    assert_eq!(tablets.group("BackendId", "TabletId").len(), 3);
    let all: BTreeSet<i64> = tablets.column("TabletId").iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(all.len(), 12);

    // Every BE really holds its tablets.
    let pool = ClientPool::new();
    for be in &bes {
        let client =
            BackendServiceClient::new(pool.channel(format!("127.0.0.1:{}", be.be_port), ClientOptions::default()));
        let stat = client.get_tablet_stat().await.unwrap();
        let held: BTreeSet<i64> = stat.tablets_stats.keys().copied().collect();
        assert_eq!(held, all, "BE on {} holds every tablet", be.be_port);
    }

    let parts = sql.rows("SHOW PARTITIONS FROM t1").await;
    assert_eq!(parts.column("PartitionName"), vec!["p1", "p2", "p3"]);
    let ddl = sql.rows("SHOW CREATE TABLE t1").await;
    assert!(ddl.rows[0][1].contains("DISTRIBUTED BY HASH(`k1`) BUCKETS 4"));

    // The BEs adopted our token: their download API accepts it and refuses another.
    let http = reqwest::Client::new();
    let token = fe.ctx.cluster.token.clone();
    let url = |tok: &str| {
        format!("http://127.0.0.1:{}/api/_tablet/_download?token={tok}&file=/nonexistent", bes[0].http_port)
    };
    let wrong = http.get(url("wrong-token")).send().await.unwrap().status();
    assert_eq!(wrong.as_u16(), 401);
    let right = http.get(url(&token)).send().await.unwrap().status();
    assert_ne!(right.as_u16(), 401, "our token is accepted");

    // ...and our cluster id: an FE of another cluster is refused by the same BE.
    let other_meta = tempfile::tempdir().unwrap();
    let mut other_conf = fe_config(other_meta.path());
    let other_id = if fe.ctx.cluster.cluster_id == 1 { 2 } else { 1 };
    other_conf.set("cluster_id", &other_id.to_string()).unwrap();
    let other = start(other_conf).await.unwrap();
    Sql::new(other.executor()).run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, bes[0].hb_port)).await;
    let refused = wait_for(30, "the other cluster's heartbeat to be refused", || {
        let ctx = other.ctx.clone();
        async move {
            let b = ctx.backends.all().pop()?;
            (!b.err_msg.is_empty()).then_some(b)
        }
    })
    .await;
    assert!(!refused.alive);
    assert!(refused.err_msg.to_lowercase().contains("cluster id"), "{}", refused.err_msg);
    other.shutdown().await;

    // FE restart: same meta_dir, new ports; the BEs follow the higher epoch.
    drop(sql);
    fe.shutdown().await;
    let fe = start_fe(meta.path()).await;
    wait_alive(fe.executor(), 3).await;
    let mut sql = Sql::new(fe.executor());
    sql.run("USE d1").await;
    assert_eq!(sql.rows("SHOW TABLETS FROM t1").await.rows.len(), 36);

    // Reports from the BEs reach the FE: the disks show capacity.
    wait_for(30, "disk capacity from BE reports", || {
        let ctx = fe.ctx.clone();
        async move { ctx.backends.all().iter().all(|b| b.total_capacity() > 0).then_some(()) }
    })
    .await;

    sql.run("DROP TABLE t1").await;
    for be in &bes {
        let client =
            BackendServiceClient::new(pool.channel(format!("127.0.0.1:{}", be.be_port), ClientOptions::default()));
        wait_for(30, "tablets dropped on the BE", || {
            let client = client.clone();
            async move {
                let stat = client.get_tablet_stat().await.ok()?;
                stat.tablets_stats.is_empty().then_some(())
            }
        })
        .await;
    }
    fe.shutdown().await;
}
