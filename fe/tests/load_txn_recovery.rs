//! Load transactions that do not finish in one go, with an in-process FE and a real
//! in-process BE (the BE crate's `agent::start`) over loopback:
//! - publish retry: a load COMMITTED while its replica BE was down becomes visible once the
//!   BE is back (FE running), and one committed before an FE restart becomes visible after
//!   it; the version moves exactly once and a repeated PUBLISH_VERSION changes nothing.
//! - pending-rowset GC: the files of an aborted load, of a load that timed out, and of a
//!   txn the FE does not know are removed from the BE; a running load's and the committed
//!   data's files stay.

mod fe_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use doris_be::agent::{self, BeHandle};
use doris_be::config::BeConfig;
use doris_be::load::csv::LoadColumn;
use doris_be::load::segment;
use doris_be::load::types::{Cell, ColKind};
use doris_fe::config::FeConfig;
use doris_fe::context::Ctx;
use doris_fe::load::Loads;
use doris_fe::load::txn::{TxnState, TIMEOUT_REASON};
use doris_fe::server::{start, FeHandle};
use doris_fe::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;
use doris_thrift::agent_service::{TPartitionVersionInfo, TPublishVersionRequest};
use doris_thrift::frontend_service::*;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::ClientPool;
use doris_thrift::types::TTabletCommitInfo;
use fe_support::*;

const DB: &str = "txn_db";
const TABLE: &str = "t";

/// The tests' BE whose pending load data is checked with the FE once `expire_s` old.
fn be_config_expiring(root: &Path, brpc: u16, expire_s: &str) -> BeConfig {
    let mut c = be_config(root, brpc);
    c.set("pending_data_expire_time_sec", expire_s).unwrap();
    c
}

/// The same BE again: same root, same ports (the FE knows it by its heartbeat port).
fn be_again(be: &BeHandle) -> BeConfig {
    let mut c = be.ctx.config.clone();
    c.be_port = be.addrs.be.port();
    c.heartbeat_service_port = be.addrs.heartbeat.port();
    c.webserver_port = be.addrs.http.port();
    c
}

/// The same FE again: same meta dir, same ports (the BE keeps sending to them).
fn fe_again(meta: &Path, fe: &FeHandle) -> FeConfig {
    let mut c = fe_config(meta);
    c.set("rpc_port", &fe.rpc_addr.port().to_string()).unwrap();
    c.set("query_port", &fe.query_addr.port().to_string()).unwrap();
    c.set("http_port", &fe.http_addr.port().to_string()).unwrap();
    c
}

async fn create_table(fe: &FeHandle) {
    let mut sql = Sql::new(fe.executor());
    sql.run(&format!("CREATE DATABASE {DB}")).await;
    sql.run(&format!(
        "CREATE TABLE {DB}.{TABLE} (k INT NOT NULL, v VARCHAR(16)) DUPLICATE KEY(k) \
         DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")"
    ))
    .await;
}

/// (partition id, tablet ids) of the table.
fn layout(ctx: &Ctx) -> (i64, Vec<i64>) {
    let t = ctx.catalog.table(DB, TABLE).unwrap();
    let p = &t.partitions[0];
    (p.id, p.index.tablets.iter().map(|t| t.id).collect())
}

fn visible_version(ctx: &Ctx) -> i64 {
    ctx.catalog.table(DB, TABLE).unwrap().partitions[0].visible_version
}

async fn count(fe: &FeHandle) -> i64 {
    let t = Sql::new(fe.executor()).rows(&format!("SELECT COUNT(*) FROM {DB}.{TABLE}")).await;
    t.rows[0][0].parse().unwrap()
}

fn txn_state(loads: &Loads, txn_id: i64) -> (TxnState, Option<String>) {
    let r = loads.txns.get(txn_id).unwrap().expect("txn record");
    (r.state, r.reason)
}

async fn begin(fe: &FeHandle, pool: &ClientPool, label: &str, timeout_s: Option<i64>) -> i64 {
    let req = TLoadTxnBeginRequest::new(
        None,
        "root".into(),
        ROOT_PASSWORD.into(),
        DB.into(),
        TABLE.into(),
        None,
        label.into(),
        None,
        None,
        timeout_s,
        None,
        None,
        None,
        None,
        None,
    );
    let r = fe_client(fe, pool).load_txn_begin(&req).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK, "{:?}", r.status);
    r.txn_id.unwrap()
}

/// A load's replica write as the coordinator BE does it: one segment per tablet, registered
/// as the txn's pending rowset. Keys `first..first+n` go to the first tablet, the next to
/// the second. The commit infos.
async fn write_rows(be: &BeHandle, token: &str, txn_id: i64, partition_id: i64, tablets: &[i64], first: i64, n: i64) -> Vec<TTabletCommitInfo> {
    let columns = vec![
        LoadColumn { name: "k".into(), kind: ColKind::Int, nullable: false, default_value: None },
        LoadColumn { name: "v".into(), kind: ColKind::Str { max_len: Some(16) }, nullable: true, default_value: None },
    ];
    let mut infos = Vec::new();
    for (i, tablet_id) in tablets.iter().enumerate() {
        let start = first + i as i64 * n;
        let rows: Vec<Vec<Cell>> = (start..start + n).map(|k| vec![Cell::Int(k), Cell::Str(format!("v{k}"))]).collect();
        let body = segment::write(&columns, &rows).unwrap();
        let url = format!(
            "http://{}/api/_internal/load/rowset?tablet_id={tablet_id}&txn_id={txn_id}&partition_id={partition_id}&num_rows={n}",
            be.addrs.http
        );
        let r = reqwest::Client::new().post(url).header("token", token).body(body).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        infos.push(TTabletCommitInfo::new(*tablet_id, be.ctx.master().backend_id.unwrap(), None));
    }
    infos
}

async fn commit(fe: &FeHandle, pool: &ClientPool, txn_id: i64, infos: Vec<TTabletCommitInfo>) -> TStatusCode {
    let req = TLoadTxnCommitRequest::new(
        None,
        "root".into(),
        ROOT_PASSWORD.into(),
        DB.into(),
        TABLE.into(),
        None,
        txn_id,
        true,
        infos,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    );
    fe_client(fe, pool).load_txn_commit(&req).await.unwrap().status.status_code
}

async fn rollback(fe: &FeHandle, pool: &ClientPool, txn_id: i64, label: &str) -> TStatusCode {
    let req = TLoadTxnRollbackRequest::new(
        None,
        "root".into(),
        ROOT_PASSWORD.into(),
        DB.into(),
        TABLE.into(),
        None,
        txn_id,
        "client gave up".to_string(),
        None,
        None,
        None,
        None,
        None,
        label.to_string(),
    );
    fe_client(fe, pool).load_txn_rollback(&req).await.unwrap().status.status_code
}

/// Files of `txn_id`'s pending rowsets on the BE (empty once dropped).
fn pending_files(be: &BeHandle, txn_id: i64) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for id in be.ctx.storage.tablet_ids() {
        let m = be.ctx.storage.tablet_meta(id).unwrap();
        let dir = be.ctx.storage.tablet_dir(id).unwrap();
        for p in m.pending.iter().filter(|p| p.txn_id == txn_id) {
            out.extend(p.rowset.segment_files().into_iter().map(|f| dir.join(f)));
        }
    }
    out
}

/// Rowsets of `txn_id` that are visible on the BE, as (tablet, version).
fn visible_rowsets(be: &BeHandle, txn_id: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for id in be.ctx.storage.tablet_ids() {
        let m = be.ctx.storage.tablet_meta(id).unwrap();
        out.extend(m.rowsets.iter().filter(|r| r.txn_id == Some(txn_id)).map(|r| (id, r.start_version)));
    }
    out.sort();
    out
}

async fn wait_visible(loads: &Loads, txn_id: i64, version: i64) {
    wait_until(90, &format!("txn {txn_id} visible at version {version}"), || {
        txn_state(loads, txn_id).0 == TxnState::Visible && visible_version(&loads.ctx) == version
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_loads_are_published_after_a_be_outage_and_an_fe_restart() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let pool = ClientPool::new();
    let (mut fe, mut be) = start_cluster(fe_config(meta.path()), be_config_expiring(storage.path(), 18081, "1800")).await;
    create_table(&fe).await;
    let token = fe.ctx.cluster.token.clone();
    let (partition_id, tablets) = layout(&fe.ctx);

    stream_load(&be, DB, TABLE, "first", "1,a\n2,b\n3,c\n").await;
    assert_eq!((visible_version(&fe.ctx), count(&fe).await), (2, 3));

    // 1. The replica BE goes down between the writes and the commit: the commit is durable,
    //    the publish is not; the FE keeps retrying and publishes once the BE is back.
    let a = begin(&fe, &pool, "while_be_down", None).await;
    let infos = write_rows(&be, &token, a, partition_id, &tablets, 100, 2).await;
    let conf = be_again(&be);
    be.shutdown().await;
    assert_eq!(commit(&fe, &pool, a, infos).await, TStatusCode::PUBLISH_TIMEOUT);
    assert_eq!(txn_state(&fe.loads, a).0, TxnState::Committed);
    assert_eq!(visible_version(&fe.ctx), 2);
    be = agent::start(conf).await.unwrap();
    wait_visible(&fe.loads, a, 3).await;
    assert_eq!(count(&fe).await, 7);
    assert_eq!(visible_rowsets(&be, a), tablets.iter().map(|t| (*t, 3)).collect::<Vec<_>>());

    // A rolled-back load: the FE tells the BE (its pending data would only expire after
    // 1800 s here), which drops the rowsets and their files.
    let rb = begin(&fe, &pool, "rolled_back", None).await;
    write_rows(&be, &token, rb, partition_id, &tablets, 150, 1).await;
    let files = pending_files(&be, rb);
    assert_eq!(files.len(), 2);
    assert_eq!(rollback(&fe, &pool, rb, "rolled_back").await, TStatusCode::OK);
    wait_until(30, "the rolled-back load's files removed", || {
        files.iter().all(|f| !f.exists()) && pending_files(&be, rb).is_empty()
    })
    .await;

    // 2. Committed, then the FE stops before the publish could finish (its BE is down too):
    //    the restarted FE publishes it from its txn store.
    let b = begin(&fe, &pool, "before_fe_restart", None).await;
    let infos = write_rows(&be, &token, b, partition_id, &tablets, 200, 3).await;
    let conf = be_again(&be);
    be.shutdown().await;
    assert_eq!(commit(&fe, &pool, b, infos).await, TStatusCode::PUBLISH_TIMEOUT);
    assert_eq!(txn_state(&fe.loads, b).0, TxnState::Committed);
    let fe_conf = fe_again(meta.path(), &fe);
    fe.shutdown().await;
    be = agent::start(conf).await.unwrap();
    fe = start(fe_conf).await.unwrap();
    wait_visible(&fe.loads, b, 4).await;
    assert_eq!(count(&fe).await, 13);
    assert_eq!(visible_rowsets(&be, b), tablets.iter().map(|t| (*t, 4)).collect::<Vec<_>>());

    // 3. A publish repeated (a retry whose first answer was lost) is OK and changes nothing.
    let before: Vec<_> = tablets.iter().map(|t| be.ctx.storage.tablet_meta(*t).unwrap().rowsets).collect();
    let task = TaskBody::PublishVersion(TPublishVersionRequest::new(b, vec![TPartitionVersionInfo::new(partition_id, 4, 0)], None, None)).into_request(b);
    let backend_id = be.ctx.master().backend_id.unwrap();
    let addr = fe.ctx.backends.get(backend_id).unwrap().be_addr().unwrap();
    fe.tasks.run(vec![AgentTask { backend_id, addr, request: task }], Duration::from_secs(30)).await.unwrap();
    let after: Vec<_> = tablets.iter().map(|t| be.ctx.storage.tablet_meta(*t).unwrap().rowsets).collect();
    assert_eq!(before, after);
    assert_eq!((visible_version(&fe.ctx), count(&fe).await), (4, 13));

    // Later loads take the next version.
    stream_load(&be, DB, TABLE, "after", "9,z\n").await;
    assert_eq!((visible_version(&fe.ctx), count(&fe).await), (5, 14));

    fe.shutdown().await;
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_rowsets_of_dead_loads_are_removed_from_the_be() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let pool = ClientPool::new();
    // Pending data is checked with the FE once it is a second old.
    let (fe, be) = start_cluster(fe_config(meta.path()), be_config_expiring(storage.path(), 18082, "1")).await;
    create_table(&fe).await;
    let token = fe.ctx.cluster.token.clone();
    let (partition_id, tablets) = layout(&fe.ctx);

    stream_load(&be, DB, TABLE, "kept", "1,a\n2,b\n3,c\n").await;
    let committed: Vec<_> = tablets.iter().map(|t| dat_files(&be, *t)).collect();
    assert_eq!(committed.iter().map(|f| f.len()).sum::<usize>(), 2);

    // An aborted load: the FE tells the BE, which drops the rowsets and their files.
    let aborted = begin(&fe, &pool, "aborted", None).await;
    write_rows(&be, &token, aborted, partition_id, &tablets, 100, 2).await;
    let files = pending_files(&be, aborted);
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.is_file()));
    assert_eq!(rollback(&fe, &pool, aborted, "aborted").await, TStatusCode::OK);

    // A load that never commits (its coordinator died): aborted by its 2 s timeout.
    let timed_out = begin(&fe, &pool, "timed_out", Some(2)).await;
    write_rows(&be, &token, timed_out, partition_id, &tablets, 200, 2).await;
    // Rowsets of a txn the FE never issued (a wiped FE, another cluster's load).
    let unknown = 987_654_321;
    write_rows(&be, &token, unknown, partition_id, &tablets, 300, 2).await;
    // A running load with the default timeout: its rowsets outlive the expiry check.
    let running = begin(&fe, &pool, "running", None).await;
    let running_infos = write_rows(&be, &token, running, partition_id, &tablets, 400, 2).await;
    // Written after the running load's: once these are dropped, a sweep has seen the
    // running load's rowsets expired too, and asked the FE about them.
    let unknown_later = 987_654_322;
    write_rows(&be, &token, unknown_later, partition_id, &tablets, 500, 2).await;

    let all: Vec<PathBuf> = [timed_out, unknown, unknown_later].iter().flat_map(|t| pending_files(&be, *t)).chain(files).collect();
    assert_eq!(all.len(), 8);
    wait_until(60, "the dead loads' files removed", || {
        all.iter().all(|f| !f.exists())
            && pending_files(&be, aborted).is_empty()
            && pending_files(&be, timed_out).is_empty()
            && pending_files(&be, unknown).is_empty()
            && pending_files(&be, unknown_later).is_empty()
    })
    .await;
    assert_eq!(txn_state(&fe.loads, aborted), (TxnState::Aborted, Some("client gave up".into())));
    assert_eq!(txn_state(&fe.loads, timed_out), (TxnState::Aborted, Some(TIMEOUT_REASON.into())));

    // The running load survived every sweep since (its rowsets are well past expiry now).
    let running_files = pending_files(&be, running);
    assert_eq!(running_files.len(), 2);
    assert!(running_files.iter().all(|f| f.is_file()));
    // Committed data is untouched: same files, same bytes, same rows.
    for (t, files) in tablets.iter().zip(&committed) {
        let now = dat_files(&be, *t);
        assert!(files.iter().all(|(name, bytes)| now.get(name) == Some(bytes)), "tablet {t}");
    }
    assert_eq!((visible_version(&fe.ctx), count(&fe).await), (2, 3));

    // The running load still commits.
    assert_eq!(commit(&fe, &pool, running, running_infos).await, TStatusCode::OK);
    assert_eq!((visible_version(&fe.ctx), count(&fe).await), (3, 7));
    // A late commit of the timed-out load is refused.
    assert_ne!(commit(&fe, &pool, timed_out, vec![]).await, TStatusCode::OK);

    fe.shutdown().await;
    be.shutdown().await;
}
