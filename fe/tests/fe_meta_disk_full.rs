//! The FE's meta store on a disk that fills up, a real tmpfs mounted by the test (it needs
//! root, as CI runs; a test that cannot mount says so and passes): a statement whose
//! write fails is refused with a clear error and changes nothing, the store reopens
//! itself so the same statement succeeds once there is room, and a restarted FE reads
//! exactly what was committed.

mod fe_support;
#[path = "../../be/tests/tmpfs_support/mod.rs"]
mod tmpfs_support;

use fe_support::*;
use tmpfs_support::{fill, mount_tmpfs};

async fn databases(sql: &mut Sql) -> Vec<String> {
    let mut v: Vec<String> = sql.rows("SHOW DATABASES LIKE 'd%'").await.rows.into_iter().map(|r| r[0].clone()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_on_a_full_meta_disk_is_refused_and_the_store_stays_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("meta");
    let Some(_m) = mount_tmpfs(&meta, 8) else { return };
    let fe = start_fe(&meta).await;
    let mut sql = Sql::new(fe.executor());
    sql.run("CREATE DATABASE d0000").await;

    // The store's file has some free pages; new databases use them up, then a commit needs
    // a page the disk does not have.
    let filler = fill(&meta);
    let mut refused = None;
    for i in 1..3000 {
        let name = format!("d{i:04}");
        if let Err(e) = sql.try_run(&format!("CREATE DATABASE {name}")).await {
            refused = Some((name, e.to_string()));
            break;
        }
    }
    let (name, err) = refused.expect("a CREATE on a full disk is refused");
    eprintln!("`CREATE DATABASE {name}` on the full disk: {err}");
    assert!(err.contains(&format!("meta store {}", meta.join("doris-rs-meta.redb").display())) && err.contains("No space left"), "{err}");
    let shown = databases(&mut sql).await;
    assert!(!shown.contains(&name), "the refused database is not there");
    let committed = shown.clone();

    std::fs::remove_file(filler).unwrap();
    sql.run(&format!("CREATE DATABASE {name}")).await;
    let mut all = committed.clone();
    all.push(name.clone());
    all.sort();
    assert_eq!(databases(&mut sql).await, all);

    drop(sql); // its executor holds the store
    fe.shutdown().await;
    let fe = start_fe(&meta).await;
    let mut sql = Sql::new(fe.executor());
    assert_eq!(databases(&mut sql).await, all, "the store reopens with every committed change");
    sql.run("CREATE DATABASE after_restart").await;
    fe.shutdown().await;
}

/// The load transaction store (its own file beside the meta store) likewise: a begin on
/// the full disk is refused, later ones work once there is room, and what was committed
/// reads back after a reopen.
#[test]
fn a_load_transaction_on_a_full_meta_disk_is_refused_and_the_store_recovers() {
    use doris_fe::load::txn::{TxnRecord, TxnState, TxnStore, DEFAULT_TIMEOUT_S};
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("meta");
    let Some(_m) = mount_tmpfs(&meta, 4) else { return };
    let rec = |id: i64| TxnRecord {
        txn_id: id,
        db_id: 1,
        table_ids: vec![2],
        label: format!("label_{id}"),
        state: TxnState::Prepare,
        create_ms: 0,
        commit_ms: None,
        precommit_ms: None,
        written: Vec::new(),
        published: Vec::new(),
        finish_ms: None,
        reason: None,
        coordinator: "BE: 127.0.0.1".into(),
        partition_versions: Vec::new(),
        timeout_s: DEFAULT_TIMEOUT_S,
    };
    let store = TxnStore::open(&meta).unwrap();
    let filler = fill(&meta);
    let mut refused = None;
    for id in 1..20_000 {
        if let Err(e) = store.begin(rec(id)) {
            refused = Some((id, e.to_string()));
            break;
        }
    }
    let (id, err) = refused.expect("a begin on a full disk is refused");
    assert!(err.contains("load transaction store") && err.contains("No space left"), "{err}");
    assert!(store.get(id).unwrap().is_none(), "the refused txn is not there");

    std::fs::remove_file(filler).unwrap();
    assert!(store.begin(rec(id)).unwrap().is_ok());
    drop(store);
    let store = TxnStore::open(&meta).unwrap();
    let prepared = store.in_state(TxnState::Prepare).unwrap();
    assert_eq!(prepared.len() as i64, id, "every committed txn reads back");
    assert_eq!(store.by_label(1, &format!("label_{id}")).unwrap().map(|t| t.txn_id), Some(id));
}
