//! Loads with a replica that does not keep up, against an in-process FE and three stand-in
//! BEs speaking the real thrift services over loopback (they answer PUBLISH_VERSION as a
//! C++ BE does when some tablets fail: a non-OK status naming them in `error_tablet_ids`):
//! - a version becomes visible once each tablet has a quorum of replicas at it; the
//!   replica that failed is marked lagging (SHOW TABLETS' LstFailedVersion) and later
//!   loads are not blocked;
//! - short of a quorum the load stays COMMITTED (PUBLISH_TIMEOUT), and the retry asks only
//!   the backends whose replicas did not publish;
//! - a commit with fewer written replicas than the quorum is refused in upstream's words;
//! - a lagging replica whose BE is alive gets a CLONE naming the healthy replicas and the
//!   visible version, and its lag ends when the clone reports that version.

mod fe_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use doris_fe::server::FeHandle;
use doris_thrift::agent_service::{TAgentResult, TAgentTaskRequest, TCloneReq};
use doris_thrift::frontend_service::*;
use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::master_service::TTabletInfo;
use doris_thrift::services::*;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool, ServerOptions, ThriftServer};
use doris_thrift::types::{TBackend, TTabletCommitInfo};
use fe_support::*;

const DB: &str = "q";
const TABLE: &str = "t";

/// A stand-in BE: answers CREATE, PUBLISH_VERSION (failing the tablets in `fail_publish`)
/// and CLONE (when `clone_ok`), and records what it got.
#[derive(Default)]
struct BeState {
    be_port: Mutex<u16>,
    master: Mutex<Option<TMasterInfo>>,
    fail_publish: Mutex<BTreeSet<i64>>,
    clone_ok: AtomicBool,
    /// Transaction ids of the PUBLISH_VERSION tasks received, in order.
    publishes: Mutex<Vec<i64>>,
    clones: Mutex<Vec<TCloneReq>>,
    pool: ClientPool,
}

struct StandInBe {
    state: Arc<BeState>,
    hb: ThriftServer,
    _be: ThriftServer,
}

impl StandInBe {
    async fn start() -> StandInBe {
        let state = Arc::new(BeState::default());
        let be = ThriftServer::bind("127.0.0.1:0", Arc::new(BackendServiceServer(state.clone())), ServerOptions::default())
            .await
            .unwrap();
        *state.be_port.lock().unwrap() = be.local_addr().port();
        let hb = ThriftServer::bind("127.0.0.1:0", Arc::new(HeartbeatServiceServer(state.clone())), ServerOptions::default())
            .await
            .unwrap();
        StandInBe { state, hb, _be: be }
    }

    fn publishes_of(&self, txn_id: i64) -> usize {
        self.state.publishes.lock().unwrap().iter().filter(|t| **t == txn_id).count()
    }
}

impl BeState {
    fn me(&self) -> TBackend {
        TBackend::new("127.0.0.1".to_string(), *self.be_port.lock().unwrap() as i32, 8040, None, None, None)
    }

    fn fe(&self) -> FrontendServiceClient {
        let m = self.master.lock().unwrap().clone().expect("a heartbeat came before any task");
        let addr = format!("{}:{}", m.network_address.hostname, m.network_address.port);
        FrontendServiceClient::new(self.pool.channel(addr, ClientOptions::default()))
    }
}

#[async_trait::async_trait]
impl HeartbeatServiceHandler for BeState {
    async fn heartbeat(&self, m: TMasterInfo) -> Result<THeartbeatResult, thrift::ApplicationError> {
        *self.master.lock().unwrap() = Some(m);
        let be_port = *self.be_port.lock().unwrap() as i32;
        Ok(THeartbeatResult {
            status: TStatus { status_code: TStatusCode::OK, error_msgs: None },
            backend_info: TBackendInfo::new(be_port, 8040, None, 8060, "stand-in-be".to_string(), 1_700_000_000_000i64, None, None, None, None, None, None),
        })
    }
}

fn ok() -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: None }
}

#[async_trait::async_trait]
impl BackendServiceHandler for BeState {
    async fn submit_tasks(&self, tasks: Vec<TAgentTaskRequest>) -> Result<TAgentResult, thrift::ApplicationError> {
        let fe = self.fe();
        for t in tasks {
            let mut req = finish_task_req(self.me(), t.task_type, t.signature, ok());
            if let Some(p) = &t.publish_version_req {
                self.publishes.lock().unwrap().push(p.transaction_id);
                let failed: Vec<i64> = self.fail_publish.lock().unwrap().iter().copied().collect();
                if !failed.is_empty() {
                    // As the C++ BE: the tablets that failed, and a non-OK status.
                    req.task_status = TStatus {
                        status_code: TStatusCode::INTERNAL_ERROR,
                        error_msgs: Some(vec![format!("publish version failed. tablets: {failed:?}")]),
                    };
                    req.error_tablet_ids = Some(failed);
                }
            }
            if let Some(c) = &t.clone_req {
                self.clones.lock().unwrap().push((**c).clone());
                if self.clone_ok.load(Ordering::SeqCst) {
                    let v = c.version.unwrap();
                    let info = TTabletInfo::new(c.tablet_id, c.schema_hash, v, 0, 0, 0, None, None, None, None, None, None, None, None, None, None, None, None, None, None);
                    req.finish_tablet_infos = Some(vec![Box::new(info)]);
                } else {
                    req.task_status = TStatus { status_code: TStatusCode::INTERNAL_ERROR, error_msgs: Some(vec!["source unreachable".into()]) };
                }
            }
            let fe = fe.clone();
            tokio::spawn(async move {
                let r = fe.finish_task(&req).await.expect("finishTask reaches the FE");
                assert_eq!(r.status.status_code, TStatusCode::OK);
            });
        }
        Ok(TAgentResult::new(ok(), None, None, None))
    }
}

/// (tablet ids, backend ids in the order of the stand-ins).
fn layout(fe: &FeHandle, bes: &[StandInBe]) -> (Vec<i64>, Vec<i64>) {
    let t = fe.ctx.catalog.table(DB, TABLE).unwrap();
    let tablets = t.partitions[0].index.tablets.iter().map(|t| t.id).collect();
    let all = fe.ctx.backends.all();
    let ids = bes
        .iter()
        .map(|b| all.iter().find(|x| x.heartbeat_port == b.hb.local_addr().port()).unwrap().id)
        .collect();
    (tablets, ids)
}

async fn begin(fe: &FeHandle, pool: &ClientPool, label: &str) -> i64 {
    let req = TLoadTxnBeginRequest::new(None, "root".into(), ROOT_PASSWORD.into(), DB.into(), TABLE.into(), None, label.into(), None, None, None, None, None, None, None, None);
    let r = fe_client(fe, pool).load_txn_begin(&req).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK, "{:?}", r.status);
    r.txn_id.unwrap()
}

async fn commit(fe: &FeHandle, pool: &ClientPool, txn_id: i64, written: &[(i64, i64)]) -> TStatus {
    let infos: Vec<TTabletCommitInfo> = written.iter().map(|(t, b)| TTabletCommitInfo::new(*t, *b, None)).collect();
    let req = TLoadTxnCommitRequest::new(None, "root".into(), ROOT_PASSWORD.into(), DB.into(), TABLE.into(), None, txn_id, true, infos, None, None, None, None, None, None, None, None, None);
    fe_client(fe, pool).load_txn_commit(&req).await.unwrap().status
}

/// SHOW TABLETS' (Version, LstSuccessVersion, LstFailedVersion) of a replica.
async fn replica_row(fe: &FeHandle, tablet: i64, backend: i64) -> (String, String, String) {
    let t = Sql::new(fe.executor()).rows(&format!("SHOW TABLETS FROM {DB}.{TABLE}")).await;
    let row = t
        .rows
        .iter()
        .find(|r| t.get(r, "TabletId") == tablet.to_string() && t.get(r, "BackendId") == backend.to_string())
        .expect("the replica's row");
    (t.get(row, "Version").into(), t.get(row, "LstSuccessVersion").into(), t.get(row, "LstFailedVersion").into())
}

fn visible(fe: &FeHandle) -> i64 {
    fe.ctx.catalog.table(DB, TABLE).unwrap().partitions[0].visible_version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_publish_lagging_replica_and_its_clone() {
    let meta = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let bes = vec![StandInBe::start().await, StandInBe::start().await, StandInBe::start().await];
    let mut sql = Sql::new(fe.executor());
    for be in &bes {
        sql.run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, be.hb.local_addr().port())).await;
    }
    wait_alive(fe.executor(), 3).await;
    sql.run(&format!("CREATE DATABASE {DB}")).await;
    sql.run(&format!(
        r#"CREATE TABLE {DB}.{TABLE} (k INT, v VARCHAR(8)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "3")"#
    ))
    .await;
    let (tablets, be_ids) = layout(&fe, &bes);
    let (a, b) = (tablets[0], tablets[1]);
    let all_written: Vec<(i64, i64)> = tablets.iter().flat_map(|t| be_ids.iter().map(move |b| (*t, *b))).collect();
    let pool = ClientPool::new();

    // A commit with one replica of tablet `a` written is refused, in upstream's words.
    let txn = begin(&fe, &pool, "few").await;
    let few: Vec<(i64, i64)> = all_written.iter().copied().filter(|(t, be)| *t != a || *be == be_ids[0]).collect();
    let st = commit(&fe, &pool, txn, &few).await;
    let msg = st.error_msgs.clone().unwrap_or_default().join(" ");
    assert_ne!(st.status_code, TStatusCode::OK);
    assert!(
        msg.contains(&format!("Failed to commit txn {txn}, cause tablet {a} succ replica num 1 < load required replica num 2")),
        "{msg}"
    );
    assert_eq!(visible(&fe), 1);

    // Load 1: BE 2 publishes `b` but not `a`. Two of three replicas of each tablet have
    // version 2: the load is visible, BE 2's replica of `a` lags.
    *bes[2].state.fail_publish.lock().unwrap() = [a].into_iter().collect();
    let txn1 = begin(&fe, &pool, "one").await;
    let st = commit(&fe, &pool, txn1, &all_written).await;
    assert_eq!(st.status_code, TStatusCode::OK, "{st:?}");
    assert_eq!(visible(&fe), 2);
    assert_eq!(replica_row(&fe, a, be_ids[2]).await.2, "2");
    assert_eq!(replica_row(&fe, b, be_ids[2]).await, ("2".into(), "2".into(), "-1".into()));
    assert_eq!(replica_row(&fe, a, be_ids[0]).await, ("2".into(), "2".into(), "-1".into()));

    // Load 2 is not blocked by the lagging replica; but now BE 1 fails `a` too, so `a` has
    // one replica at version 3 of the two required: committed, not yet visible.
    *bes[1].state.fail_publish.lock().unwrap() = [a].into_iter().collect();
    let txn2 = begin(&fe, &pool, "two").await;
    let st = commit(&fe, &pool, txn2, &all_written).await;
    assert_eq!(st.status_code, TStatusCode::PUBLISH_TIMEOUT, "{st:?}");
    assert_eq!(visible(&fe), 2);
    assert_eq!(fe.loads.txns.get(txn2).unwrap().unwrap().state, doris_fe::load::txn::TxnState::Committed);

    // BE 1 recovers: the daemon's retry asks BE 1 and BE 2 again (their `a` replicas have
    // not published), never BE 0, which published everything the first time.
    bes[1].state.fail_publish.lock().unwrap().clear();
    wait_until(60, "load 2 visible", || visible(&fe) == 3).await;
    assert_eq!(bes[0].publishes_of(txn2), 1);
    assert!(bes[1].publishes_of(txn2) >= 2);
    assert!(bes[2].publishes_of(txn2) >= 2);
    assert_eq!(replica_row(&fe, a, be_ids[1]).await, ("3".into(), "3".into(), "-1".into()));
    assert_eq!(replica_row(&fe, a, be_ids[2]).await.2, "3");

    // The repair: BE 2 is alive, so it is sent CLONE for `a`, from BE 0 and BE 1 at the
    // visible version. Its clones fail until it can reach them; then the lag ends.
    let has_clone_at_3 = || bes[2].state.clones.lock().unwrap().iter().any(|c| c.version == Some(3));
    wait_until(60, "a CLONE of the lagging replica at version 3", has_clone_at_3).await;
    {
        let clones = bes[2].state.clones.lock().unwrap();
        let c = clones.iter().find(|c| c.version == Some(3)).unwrap();
        assert_eq!(c.tablet_id, a);
        let srcs: BTreeSet<i32> = c.src_backends.iter().map(|s| s.be_port).collect();
        let want: BTreeSet<i32> = bes[..2].iter().map(|b| *b.state.be_port.lock().unwrap() as i32).collect();
        assert_eq!(srcs, want);
        assert!(clones.iter().all(|c| c.tablet_id == a));
    }
    assert!(bes[0].state.clones.lock().unwrap().is_empty() && bes[1].state.clones.lock().unwrap().is_empty());
    assert_eq!(replica_row(&fe, a, be_ids[2]).await.2, "3");
    bes[2].state.clone_ok.store(true, Ordering::SeqCst);
    wait_for(60, "the lag of BE 2's replica to end", || async {
        (replica_row(&fe, a, be_ids[2]).await == ("3".to_string(), "3".to_string(), "-1".to_string())).then_some(())
    })
    .await;
    fe.shutdown().await;
}
