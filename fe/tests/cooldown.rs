//! Cooldown end to end: an in-process FE and two in-process BEs, a moto S3 server. SQL
//! creates an S3 resource and a storage policy, a table with two replicas uses it; the FE
//! pushes the policy, picks a cooldown replica per tablet and pushes the confs; the BEs cool
//! the loaded rows down (one uploads, the other follows); SELECT still returns every row.

#[path = "../../be/tests/moto_support/mod.rs"]
mod moto_support;

mod fe_support;

use doris_be::agent;
use fe_support::*;
use moto_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_with_a_storage_policy_cools_down_on_one_replica() {
    let moto = tokio::task::spawn_blocking(|| start_moto(false)).await.unwrap();
    let (meta, s1, s2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let be_conf = |root: &std::path::Path, brpc: u16| {
        let mut c = be_config(root, brpc);
        c.generate_cooldown_task_interval_sec = 1;
        c
    };
    let (fe, be1) = start_cluster(fe_config(meta.path()), be_conf(s1.path(), 18_131)).await;
    let be2 = agent::start(be_conf(s2.path(), 18_132)).await.unwrap();
    add_backend(&fe, &be2, 2).await;
    let mut sql = Sql::new(fe.executor());

    sql.run(&format!(
        r#"CREATE RESOURCE "remote_s3" PROPERTIES ("type" = "s3", "s3.endpoint" = "127.0.0.1:{}",
           "s3.region" = "us-east-1", "s3.bucket" = "{BUCKET}", "s3.root.path" = "cold",
           "s3.access_key" = "{}", "s3.secret_key" = "{}")"#,
        moto.port, moto.access_key, moto.secret_key
    ))
    .await;
    let shown = sql.rows("SHOW RESOURCES").await;
    assert_eq!(shown.names, ["Name", "ResourceType", "Item", "Value"]);
    let items = shown.group("Item", "Value");
    assert_eq!(items["s3.secret_key"], ["******".to_string()].into(), "secrets are not shown");
    assert_eq!(items["s3.bucket"], [BUCKET.to_string()].into());
    let e = sql.try_run(r#"CREATE RESOURCE "r2" PROPERTIES ("type" = "s3", "s3.endpoint" = "x")"#).await.unwrap_err();
    assert_eq!(e.to_string(), "invalid argument: Missing [s3.region] in properties.");

    sql.run(r#"CREATE STORAGE POLICY cold_now PROPERTIES ("storage_resource" = "remote_s3", "cooldown_ttl" = "0")"#).await;
    let policies = sql.rows("SHOW STORAGE POLICY").await;
    assert_eq!(policies.rows.len(), 1);
    assert_eq!(
        (policies.get(&policies.rows[0], "PolicyName"), policies.get(&policies.rows[0], "StorageResource")),
        ("cold_now", "remote_s3")
    );
    sql.run("CREATE DATABASE a").await;
    let e = sql
        .try_run(r#"CREATE TABLE a.x (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("storage_policy" = "nope")"#)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Storage policy does not exist. name: nope"), "{e}");
    sql.run(
        r#"CREATE TABLE a.t (k INT, v VARCHAR(16)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2
           PROPERTIES ("replication_num" = "2", "storage_policy" = "cold_now")"#,
    )
    .await;
    let rows: Vec<String> = (1..=20).map(|i| format!("{i},v{i}")).collect();
    stream_load(&be1, "a", "t", "l1", &(rows.join("\n") + "\n")).await;

    // Every tablet: one remote copy, both replicas on it with the same cooldown meta id.
    let tablets = tablet_ids(&fe, "a", "t");
    assert_eq!(tablets.len(), 2);
    let (b1, b2) = (be1.ctx.clone(), be2.ctx.clone());
    wait_until(60, "both replicas of every tablet cooled down", || {
        tablets.iter().all(|id| {
            let (m1, m2) = (b1.storage.tablet_meta(*id).unwrap(), b2.storage.tablet_meta(*id).unwrap());
            m1.rowsets.iter().all(|r| r.remote)
                && m1.rowsets == m2.rowsets
                && m1.cooldown.cooldown_meta_id.is_some()
                && m1.cooldown.cooldown_meta_id == m2.cooldown.cooldown_meta_id
        })
    })
    .await;
    for id in &tablets {
        let m = b1.storage.tablet_meta(*id).unwrap();
        assert_eq!(m.cooldown.cooldown_term, 1, "one choice, never changed");
        let dir = b1.storage.tablet_dir(*id).unwrap();
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "no local copies left");
    }
    // SHOW TABLETS: each replica's CooldownMetaId as its BE reports it (hex `hi-lo`, as
    // upstream prints a UniqueId).
    for id in &tablets {
        let (hi, lo) = b1.storage.tablet_meta(*id).unwrap().cooldown.cooldown_meta_id.unwrap();
        let want = format!("{hi:x}-{lo:x}");
        let exec = fe.executor();
        wait_for(60, "SHOW TABLETS to show the reported cooldown meta ids", || {
            let (exec, want) = (exec.clone(), want.clone());
            async move {
                let t = Sql::new(exec).rows("SHOW TABLETS FROM a.t").await;
                let mine: Vec<&Vec<String>> = t.rows.iter().filter(|r| t.get(r, "TabletId") == id.to_string()).collect();
                (mine.len() == 2 && mine.iter().all(|r| t.get(r, "CooldownMetaId") == want)).then_some(())
            }
        })
        .await;
    }
    let got = sql.rows("SELECT * FROM a.t ORDER BY k").await;
    let want: Vec<Vec<String>> = (1..=20).map(|i| vec![i.to_string(), format!("v{i}")]).collect();
    assert_eq!(got.rows, want, "rows read back from the store");

    // In use: neither the policy nor its resource can go.
    let e = sql.try_run("DROP STORAGE POLICY cold_now").await.unwrap_err();
    assert_eq!(e.to_string(), "Storage policy cold_now is used by table t");
    let e = sql.try_run(r#"DROP RESOURCE "remote_s3""#).await.unwrap_err();
    assert_eq!(e.to_string(), "Resource remote_s3 is used by storage policy cold_now");

    drop(sql);
    fe.shutdown().await;
    be1.shutdown().await;
    be2.shutdown().await;
}
