//! An FE in-process against three in-process stand-in BEs speaking the real thrift
//! services over loopback sockets: heartbeats, CREATE/DROP tasks with finishTask,
//! reports, the CCR-facing RPCs, failure handling and an FE restart.
//! (`fe_cluster_process.rs` runs the same story against real BE processes.)

mod fe_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use doris_fe::server::start;
use doris_thrift::agent_service::{TAgentResult, TAgentTaskRequest, TCreateTabletReq};
use doris_thrift::frontend_service::*;
use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::master_service::{TReportRequest, TTablet, TTabletInfo};
use doris_thrift::services::*;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool, ServerOptions, ThriftServer};
use doris_thrift::types::TBackend;
use fe_support::*;

/// A stand-in BE: records what the FE sent and answers like a BE would.
#[derive(Default)]
struct BeState {
    be_port: Mutex<u16>,
    master: Mutex<Option<TMasterInfo>>,
    created: Mutex<Vec<TCreateTabletReq>>,
    dropped: Mutex<Vec<i64>>,
    fail_create: AtomicBool,
    /// Take tasks but never report them finished.
    silent: AtomicBool,
    /// Lose this many of the next tasks other than CREATE/DROP (as a BE restarting with
    /// them queued): no finishTask, and not in its task reports.
    lose: std::sync::atomic::AtomicUsize,
    /// (task type, signature) of every task received, in order.
    received: Mutex<Vec<(i32, i64)>>,
    pool: ClientPool,
}

struct StandInBe {
    state: Arc<BeState>,
    hb: ThriftServer,
    be: ThriftServer,
}

impl StandInBe {
    async fn start() -> StandInBe {
        let state = Arc::new(BeState::default());
        let be =
            ThriftServer::bind("127.0.0.1:0", Arc::new(BackendServiceServer(state.clone())), ServerOptions::default())
                .await
                .unwrap();
        *state.be_port.lock().unwrap() = be.local_addr().port();
        let hb = ThriftServer::bind(
            "127.0.0.1:0",
            Arc::new(HeartbeatServiceServer(state.clone())),
            ServerOptions::default(),
        )
        .await
        .unwrap();
        StandInBe { state, hb, be }
    }

    fn hb_port(&self) -> u16 {
        self.hb.local_addr().port()
    }

    fn be_port(&self) -> u16 {
        self.be.local_addr().port()
    }

    fn created_tablets(&self) -> BTreeSet<i64> {
        self.state.created.lock().unwrap().iter().map(|c| c.tablet_id).collect()
    }

    /// Whether a DROP came for each of `tablets`.
    fn dropped_all(&self, tablets: &BTreeSet<i64>) -> bool {
        let dropped: BTreeSet<i64> = self.state.dropped.lock().unwrap().iter().copied().collect();
        tablets.is_subset(&dropped)
    }
}

impl BeState {
    fn me(&self) -> TBackend {
        TBackend {
            host: "127.0.0.1".into(),
            be_port: *self.be_port.lock().unwrap() as i32,
            http_port: 8040,
            brpc_port: None,
            is_alive: None,
            id: None,
        }
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
            backend_info: TBackendInfo::new(
                be_port,
                8040,
                None,
                8060,
                "stand-in-be".to_string(),
                1_700_000_000_000i64,
                None,
                None,
                None,
                None,
                None,
                None,
            ),
        })
    }
}

#[async_trait::async_trait]
impl BackendServiceHandler for BeState {
    async fn submit_tasks(&self, tasks: Vec<TAgentTaskRequest>) -> Result<TAgentResult, thrift::ApplicationError> {
        let fe = self.fe();
        let me = self.me();
        let fail = self.fail_create.load(Ordering::SeqCst);
        for t in tasks {
            self.received.lock().unwrap().push((t.task_type.0, t.signature));
            let mut status = TStatus { status_code: TStatusCode::OK, error_msgs: None };
            let plain = t.create_tablet_req.is_none() && t.drop_tablet_req.is_none();
            if plain
                && self
                    .lose
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                continue;
            }
            if let Some(c) = &t.create_tablet_req {
                if fail {
                    status = TStatus {
                        status_code: TStatusCode::IO_ERROR,
                        error_msgs: Some(vec!["disk full on stand-in".into()]),
                    };
                } else {
                    self.created.lock().unwrap().push((**c).clone());
                }
            }
            if let Some(d) = &t.drop_tablet_req {
                self.dropped.lock().unwrap().push(d.tablet_id);
            }
            if self.silent.load(Ordering::SeqCst) {
                continue;
            }
            let req = finish_task_req(me.clone(), t.task_type, t.signature, status);
            let fe = fe.clone();
            // Asynchronously, as a BE does: the task finishes after submit_tasks returned.
            tokio::spawn(async move {
                let r = fe.finish_task(&req).await.expect("finishTask reaches the FE");
                assert_eq!(r.status.status_code, TStatusCode::OK);
            });
        }
        Ok(TAgentResult::new(TStatus { status_code: TStatusCode::OK, error_msgs: None }, None, None, None))
    }
}

const CREATE_T1: &str = r#"CREATE TABLE t1 (
    k1 INT NOT NULL COMMENT "key",
    v1 VARCHAR(32)
) DUPLICATE KEY(k1)
PARTITION BY RANGE(k1) (
    PARTITION p1 VALUES LESS THAN ("10"),
    PARTITION p2 VALUES LESS THAN ("20"),
    PARTITION p3 VALUES LESS THAN MAXVALUE
)
DISTRIBUTED BY HASH(k1) BUCKETS 4
PROPERTIES ("replication_num" = "3")"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fe_with_three_backends() {
    let meta = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let bes = vec![StandInBe::start().await, StandInBe::start().await, StandInBe::start().await];
    let mut sql = Sql::new(fe.executor());

    for be in &bes {
        sql.run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, be.hb_port())).await;
    }
    let e = sql.try_run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, bes[0].hb_port())).await.unwrap_err();
    assert!(e.to_string().contains("Same backend already exists"), "{e}");

    // Heartbeats make every backend alive and teach the FE its be_port.
    let shown = wait_alive(fe.executor(), 3).await;
    assert_eq!(
        &shown.names[..10],
        &[
            "BackendId",
            "Host",
            "HeartbeatPort",
            "BePort",
            "HttpPort",
            "BrpcPort",
            "ArrowFlightSqlPort",
            "LastStartTime",
            "LastHeartbeat",
            "Alive"
        ]
    );
    assert_eq!(shown.names.last().unwrap(), "NodeRole");
    let be_ports: BTreeSet<String> = shown.column("BePort").into_iter().collect();
    let expected: BTreeSet<String> = bes.iter().map(|b| b.be_port().to_string()).collect();
    assert_eq!(be_ports, expected);
    assert!(shown.column("Version").iter().all(|v| v == "stand-in-be"));

    // Each heartbeat carried our identity.
    let backend_ids: BTreeSet<i64> = shown.column("BackendId").iter().map(|s| s.parse().unwrap()).collect();
    for be in &bes {
        let m = be.state.master.lock().unwrap().clone().unwrap();
        assert_eq!(m.cluster_id, fe.ctx.cluster.cluster_id);
        assert_eq!(m.token.as_deref(), Some(fe.ctx.cluster.token.as_str()));
        assert_eq!(m.epoch, fe.ctx.cluster.epoch);
        assert_eq!(m.network_address.port, fe.rpc_addr.port() as i32);
        assert_eq!(m.http_port, Some(fe.http_addr.port() as i32));
        assert_eq!(m.backend_ip.as_deref(), Some("127.0.0.1"));
        assert!(backend_ids.contains(&m.backend_id.unwrap()));
    }

    // The HTTP port answers health checks with backend counts.
    let body = reqwest::get(format!("http://127.0.0.1:{}/api/health", fe.http_addr.port()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["data"]["online_backend_num"], 3);
    assert_eq!(health["data"]["total_backend_num"], 3);

    // Databases and a partitioned, replicated table.
    sql.run("CREATE DATABASE d1").await;
    assert!(sql.try_run("CREATE DATABASE d1").await.unwrap_err().to_string().contains("database exists"));
    sql.run("CREATE DATABASE IF NOT EXISTS d1").await;
    sql.run("USE d1").await;
    sql.run(CREATE_T1).await;

    // Every BE holds one replica of each of the 12 tablets.
    let tablets = sql.rows("SHOW TABLETS FROM t1").await;
    assert_eq!(tablets.rows.len(), 36);
    assert!(tablets.column("Version").iter().all(|v| v == "1"));
    let per_tablet = tablets.group("TabletId", "BackendId");
    assert_eq!(per_tablet.len(), 12);
    assert!(per_tablet.values().all(|bes| bes.len() == 3), "three distinct backends per tablet");
    let tablet_ids: BTreeSet<i64> = per_tablet.keys().map(|s| s.parse().unwrap()).collect();
    for be in &bes {
        assert_eq!(be.created_tablets(), tablet_ids);
        for c in be.state.created.lock().unwrap().iter() {
            assert_eq!(c.version, Some(1));
            assert!(c.table_id.is_some() && c.partition_id.is_some() && c.replica_id.is_some());
            assert_eq!(c.tablet_schema.columns.len(), 2);
            assert_eq!(c.tablet_schema.columns[0].column_name, "k1");
            assert_eq!(c.tablet_schema.columns[0].is_key, Some(true));
        }
    }
    let replica_ids: BTreeSet<String> = tablets.column("ReplicaId").into_iter().collect();
    let created_replicas: BTreeSet<String> = bes
        .iter()
        .flat_map(|b| {
            b.state.created.lock().unwrap().iter().map(|c| c.replica_id.unwrap().to_string()).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(replica_ids, created_replicas);

    let parts = sql.rows("SHOW PARTITIONS FROM t1").await;
    assert_eq!(parts.names[..3], ["PartitionId", "PartitionName", "VisibleVersion"]);
    assert_eq!(parts.column("PartitionName"), vec!["p1", "p2", "p3"]);
    assert!(parts.column("VisibleVersion").iter().all(|v| v == "1"));
    assert!(parts.column("Buckets").iter().all(|v| v == "4"));
    assert!(parts.column("ReplicationNum").iter().all(|v| v == "3"));
    assert_eq!(parts.column("Range")[1], "[types: [INT]; keys: [10]; ..types: [INT]; keys: [20]; )");
    assert_eq!(parts.column("DistributionKey")[0], "k1");

    let ddl = sql.rows("SHOW CREATE TABLE t1").await;
    let text = &ddl.rows[0][1];
    for want in [
        "CREATE TABLE `t1` (",
        "`k1` int NOT NULL COMMENT \"key\"",
        "`v1` varchar(32) NULL",
        "DUPLICATE KEY(`k1`)",
        "PARTITION BY RANGE(`k1`)",
        "PARTITION p2 VALUES [(\"10\"), (\"20\"))",
        "DISTRIBUTED BY HASH(`k1`) BUCKETS 4",
        "\"replication_allocation\" = \"tag.location.default: 3\"",
    ] {
        assert!(text.contains(want), "SHOW CREATE TABLE lacks `{want}`:\n{text}");
    }
    assert_eq!(sql.rows("SHOW TABLES").await.rows, vec![vec!["t1".to_string()]]);
    assert_eq!(sql.rows("SHOW DATABASES LIKE 'd%'").await.rows, vec![vec!["d1".to_string()]]);
    let fes = sql.rows("SHOW FRONTENDS").await;
    assert_eq!(fes.get(&fes.rows[0], "QueryPort"), fe.query_addr.port().to_string());
    assert_eq!(fes.get(&fes.rows[0], "IsMaster"), "true");

    // The id-addressed views the CCR syncer reads.
    let proc = |path: &str| to_table(doris_fe::executor::proc::show_proc(&fe.ctx, path).unwrap());
    let dbs = proc("/dbs/");
    let db_id = dbs.column("DbId")[0].clone();
    assert_eq!(dbs.column("DbName"), vec!["d1"]);
    let tbls = proc(&format!("/dbs/{db_id}/"));
    assert_eq!(tbls.column("TableName"), vec!["t1"]);
    assert_eq!(tbls.column("ReplicaCount"), vec!["36"]);
    let table_id = tbls.column("TableId")[0].clone();
    let pparts = proc(&format!("/dbs/{db_id}/{table_id}/partitions"));
    assert_eq!(pparts.rows, parts.rows);
    let pid = &pparts.column("PartitionId")[0];
    let idx = proc(&format!("/dbs/{db_id}/{table_id}/partitions/{pid}"));
    let index_id = &idx.column("IndexId")[0];
    let ptablets = proc(&format!("/dbs/{db_id}/{table_id}/partitions/{pid}/{index_id}"));
    assert_eq!(ptablets.rows.len(), 12, "4 tablets x 3 replicas in one partition");
    assert!(doris_fe::executor::proc::show_proc(&fe.ctx, "/dbs/999999/").is_err());
    let by_id = to_table(doris_fe::executor::proc::show_table_by_id(&fe.ctx, table_id.parse().unwrap()).unwrap());
    assert_eq!(by_id.rows, vec![vec!["d1".to_string(), "t1".to_string(), db_id.clone()]]);

    // Not enough alive backends for 4 replicas: upstream's words.
    let e = sql.try_run(&CREATE_T1.replace("t1", "t4").replace("\"3\"", "\"4\"")).await.unwrap_err();
    assert!(e.to_string().contains("Failed to find enough backend"), "{e}");

    // The CCR-facing RPCs.
    let pool = ClientPool::new();
    let client = fe_client(&fe, &pool);
    let mut req = TGetMasterTokenRequest { cluster: None, user: Some("root".into()), password: Some("wrong".into()) };
    let r = client.get_master_token(&req).await.unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::NOT_AUTHORIZED);
    req.password = Some(ROOT_PASSWORD.into());
    let r = client.get_master_token(&req).await.unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::OK);
    assert_eq!(r.token.as_deref(), Some(fe.ctx.cluster.token.as_str()));

    let r = client.get_backend_meta(&backend_meta_req()).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK);
    let metas = r.backends.unwrap();
    assert_eq!(metas.len(), 3);
    assert!(metas.iter().all(|b| b.is_alive == Some(true) && b.host == "127.0.0.1"));

    let get_meta = |token: Option<String>| TGetMetaRequest {
        cluster: None,
        user: Some("root".into()),
        passwd: Some(if token.is_some() { String::new() } else { ROOT_PASSWORD.into() }),
        user_ip: None,
        token,
        db: Some(TGetMetaDB { id: None, name: Some("d1".into()), only_table_names: None, tables: None }),
    };
    let r = client.get_meta(&get_meta(Some(fe.ctx.cluster.token.clone()))).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK, "{:?}", r.status);
    let db = r.db_meta.unwrap();
    assert_eq!(db.name.as_deref(), Some("d1"));
    let t = &db.tables.unwrap()[0];
    assert_eq!(t.name.as_deref(), Some("t1"));
    let parts_meta = t.partitions.clone().unwrap();
    assert_eq!(parts_meta.len(), 3);
    for p in &parts_meta {
        let idx = &p.indexes.as_ref().unwrap()[0];
        let tablets = idx.tablets.as_ref().unwrap();
        assert_eq!(tablets.len(), 4);
        assert!(tablets.iter().all(|t| t.replicas.as_ref().unwrap().len() == 3));
    }
    let r = client.get_meta(&get_meta(Some("not-the-token".into()))).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::NOT_AUTHORIZED);
    let r = client.get_snapshot(&TGetSnapshotRequest::default()).await.unwrap();
    let st = r.status.unwrap();
    // getSnapshot is implemented (fe/tests/ccr_full_sync.rs); an empty request is refused.
    assert_eq!(st.status_code, TStatusCode::INVALID_ARGUMENT);
    assert!(st.error_msgs.unwrap()[0].contains("user"));

    // A report moves a replica's version and row count.
    let some_tablet = *tablet_ids.iter().next().unwrap();
    let info = TTabletInfo::new(
        some_tablet,
        0,
        3,
        0,
        100,
        4096,
        None,
        None,
        3i64,
        None,
        None,
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
    let report = TReportRequest::new(
        bes[0].state.me(),
        1i64,
        None,
        BTreeMap::from([(some_tablet, Box::new(TTablet::new(vec![Box::new(info)])))]),
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
    let r = client.report(&report).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK);
    let be0_id = fe.ctx.backends.find_by_be_addr("127.0.0.1", bes[0].be_port() as i32).unwrap().id.to_string();
    let tablets = sql.rows("SHOW TABLETS FROM t1").await;
    let row = tablets
        .rows
        .iter()
        .find(|r| tablets.get(r, "TabletId") == some_tablet.to_string() && tablets.get(r, "BackendId") == be0_id)
        .unwrap();
    assert_eq!(tablets.get(row, "Version"), "3");
    assert_eq!(tablets.get(row, "RowCount"), "100");
    // A report from a stranger is refused with a reason.
    let mut stranger = report.clone();
    stranger.backend.be_port = 1;
    let r = client.report(&stranger).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::NOT_FOUND);
    assert!(r.status.error_msgs.unwrap()[0].contains("ALTER SYSTEM ADD BACKEND"));

    // A BE failing CREATE: no table, and what was made gets dropped.
    bes[2].state.fail_create.store(true, Ordering::SeqCst);
    let e = sql.try_run(&CREATE_T1.replace("t1", "t2")).await.unwrap_err();
    assert!(e.to_string().contains("disk full on stand-in"), "{e}");
    assert_eq!(sql.rows("SHOW TABLES").await.rows.len(), 1);
    let t2_tablets: BTreeSet<i64> = bes[0].created_tablets().difference(&tablet_ids).copied().collect();
    assert_eq!(t2_tablets.len(), 12);
    wait_until(10, "DROP of the failed table's tablets", || bes[0].dropped_all(&t2_tablets)).await;
    bes[2].state.fail_create.store(false, Ordering::SeqCst);

    // BACKUP to a repository nobody created is refused (backup jobs: fe/tests/backup_job_*.rs).
    let e = sql.try_run("BACKUP SNAPSHOT d1.s1 TO repo1").await.unwrap_err();
    assert!(e.to_string().contains("repository repo1 does not exist"), "{e}");

    // Restart on the same meta_dir: everything is still there, the epoch moved on.
    let (cluster, epoch, token) = (fe.ctx.cluster.cluster_id, fe.ctx.cluster.epoch, fe.ctx.cluster.token.clone());
    drop(sql);
    fe.shutdown().await;
    let fe = start_fe(meta.path()).await;
    assert_eq!((fe.ctx.cluster.cluster_id, fe.ctx.cluster.token.clone()), (cluster, token));
    assert_eq!(fe.ctx.cluster.epoch, epoch + 1);
    let mut sql = Sql::new(fe.executor());
    sql.run("USE d1").await;
    assert_eq!(sql.rows("SHOW TABLES").await.rows, vec![vec!["t1".to_string()]]);
    assert_eq!(sql.rows("SHOW TABLETS FROM t1").await.rows.len(), 36);
    wait_alive(fe.executor(), 3).await;
    assert!(bes.iter().all(|b| b.state.master.lock().unwrap().as_ref().unwrap().epoch == epoch + 1));

    // DROP TABLE reaches the BEs.
    sql.run("DROP TABLE t1").await;
    wait_until(10, "DROP tasks for t1", || bes[1].dropped_all(&tablet_ids)).await;
    assert!(sql.try_run("SHOW CREATE TABLE t1").await.unwrap_err().to_string().contains("Unknown table"));
    sql.run("DROP DATABASE d1").await;
    assert_eq!(sql.rows("SHOW DATABASES").await.rows, vec![vec!["information_schema".to_string()]]);
    fe.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_table_gives_up_when_a_backend_never_finishes() {
    let meta = tempfile::tempdir().unwrap();
    let mut conf = fe_config(meta.path());
    conf.set("max_create_table_timeout_second", "1").unwrap();
    let fe = start(conf).await.unwrap();
    let be = StandInBe::start().await;
    let mut sql = Sql::new(fe.executor());
    sql.run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, be.hb_port())).await;
    wait_until(20, "the backend alive", || fe.ctx.backends.alive_ids().len() == 1).await;
    be.state.silent.store(true, Ordering::SeqCst);
    sql.run("CREATE DATABASE d").await;
    let e = sql
        .try_run(r#"CREATE TABLE d.t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(e.to_string().contains("unfinished"), "{e}");
    assert!(sql.rows("SHOW TABLES FROM d").await.rows.is_empty());
    assert_eq!(fe.tasks.pending_count(), 0, "no waiter is left behind");
    // The tablets the BE may have made are dropped.
    let created = be.created_tablets();
    assert_eq!(created.len(), 2);
    wait_until(10, "DROP of the unfinished tablets", || be.dropped_all(&created)).await;
    fe.shutdown().await;
}

/// An HTTP client that stalls in the middle of its request does not hold the FE's shutdown
/// past the drain grace (this test waits those 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_http_client_does_not_hold_shutdown() {
    use tokio::io::AsyncWriteExt;
    let meta = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let http = fe.http_addr;
    let mut stalled = tokio::net::TcpStream::connect(http).await.unwrap();
    // Half the headers of a request.
    stalled.write_all(b"PUT /api/db/t/_stream_load HTTP/1.1\r\nHost: fe\r\nContent-Len").await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), fe.shutdown()).await.expect("shutdown ends");
    assert!(tokio::net::TcpStream::connect(http).await.is_err(), "no longer listening");
    drop(stalled);
}

/// A BE that lost a task (it restarted with the task queued) no longer lists it in its task
/// report: once `agent_task_resend_wait_time_ms` has passed the FE sends it again, and the
/// statement waiting for it (a DELETE's REALTIME_PUSH here) finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_missing_from_a_task_report_is_sent_again() {
    let meta = tempfile::tempdir().unwrap();
    let mut conf = fe_config(meta.path());
    conf.set("agent_task_resend_wait_time_ms", "0").unwrap();
    let fe = start(conf).await.unwrap();
    let be = StandInBe::start().await;
    let mut sql = Sql::new(fe.executor());
    sql.run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, be.hb_port())).await;
    wait_until(20, "the backend alive", || fe.ctx.backends.alive_ids().len() == 1).await;
    sql.run("CREATE DATABASE d").await;
    sql.run(r#"CREATE TABLE d.t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")"#).await;

    be.state.lose.store(1, Ordering::SeqCst);
    let executor = fe.executor();
    let delete = tokio::spawn(async move { Sql::new(executor).try_run("DELETE FROM d.t WHERE k = 1").await });
    const REALTIME_PUSH: i32 = 15;
    let pushes = || be.state.received.lock().unwrap().iter().filter(|(t, _)| *t == REALTIME_PUSH).copied().collect::<Vec<_>>();
    wait_until(20, "the push to arrive", || pushes().len() == 1).await;
    assert!(!delete.is_finished(), "the lost push is still awaited");

    // A task report without it: sent again, same signature; now it finishes.
    let report = TReportRequest::new(
        be.state.me(),
        2i64,
        BTreeMap::new(),
        None,
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
    let pool = ClientPool::new();
    let r = fe_client(&fe, &pool).report(&report).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK);
    wait_until(20, "the push sent again", || pushes().len() == 2).await;
    let sent = pushes();
    assert_eq!(sent[0], sent[1], "the same task, not a new one");
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), delete).await.expect("the DELETE ends").unwrap();
    assert!(out.is_ok(), "{out:?}");

    // A task the report lists is not sent again.
    be.state.lose.store(1, Ordering::SeqCst);
    let executor = fe.executor();
    let delete = tokio::spawn(async move { Sql::new(executor).try_run("DELETE FROM d.t WHERE k = 2").await });
    wait_until(20, "the second push to arrive", || pushes().len() == 3).await;
    let (_, sig) = pushes()[2];
    let mut held = report.clone();
    held.tasks = Some(BTreeMap::from([(doris_thrift::types::TTaskType::REALTIME_PUSH, BTreeSet::from([sig]))]));
    fe_client(&fe, &pool).report(&held).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(pushes().len(), 3, "a task the BE holds is left alone");
    fe_client(&fe, &pool).report(&report).await.unwrap();
    wait_until(20, "the push sent again", || pushes().len() == 4).await;
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), delete).await.expect("the DELETE ends").unwrap();
    assert!(out.is_ok(), "{out:?}");
    fe.shutdown().await;
}

/// CREATE tasks as the Java FE fills them, seen by a recording stand-in BE: a UNIQUE KEY
/// table's hidden columns (delete sign, version, sequence) last, invisible, with their
/// indexes and merge-on-write's NONE aggregation; the short key rule; bloom filter columns;
/// V2 / LZ4F / disk tablet; the table's binlog settings. A DUPLICATE table has none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_requests_carry_hidden_columns_and_table_settings() {
    use doris_thrift::agent_service::{TCompressionType, TStorageFormat, TTabletType};
    use doris_thrift::types::{TAggregationType, TPrimitiveType};
    let meta = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let be = StandInBe::start().await;
    let mut sql = Sql::new(fe.executor());
    sql.run(&format!(r#"ALTER SYSTEM ADD BACKEND "127.0.0.1:{}""#, be.hb_port())).await;
    wait_until(20, "the backend alive", || fe.ctx.backends.alive_ids().len() == 1).await;
    sql.run("CREATE DATABASE d").await;
    sql.run(
        r#"CREATE TABLE d.u (k BIGINT NOT NULL, s VARCHAR(20) NOT NULL, k3 INT NOT NULL, v INT, ts DATETIME)
           UNIQUE KEY(k, s, k3) DISTRIBUTED BY HASH(k) BUCKETS 1
           PROPERTIES ("replication_num" = "1", "function_column.sequence_col" = "ts",
                       "bloom_filter_columns" = "v", "binlog.enable" = "true")"#,
    )
    .await;
    let reqs = be.state.created.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    let s = &r.tablet_schema;
    let names: Vec<&str> = s.columns.iter().map(|c| c.column_name.as_str()).collect();
    assert_eq!(names, ["k", "s", "k3", "v", "ts", "__DORIS_DELETE_SIGN__", "__DORIS_VERSION_COL__", "__DORIS_SEQUENCE_COL__"]);
    assert_eq!((s.delete_sign_idx, s.version_col_idx, s.sequence_col_idx), (Some(5), Some(6), Some(7)));
    let visible: Vec<bool> = s.columns.iter().map(|c| c.visible.unwrap()).collect();
    assert_eq!(visible, [true, true, true, true, true, false, false, false]);
    assert_eq!(s.columns[5].column_type.type_, TPrimitiveType::TINYINT);
    assert_eq!(s.columns[5].default_value.as_deref(), Some("0"));
    assert_eq!(s.columns[7].column_type.type_, TPrimitiveType::DATETIMEV2);
    // Merge-on-write (upstream's default): value columns, hidden ones too, aggregate NONE.
    assert!(s.columns[3..].iter().all(|c| c.aggregation_type == Some(TAggregationType::NONE)));
    assert_eq!(r.enable_unique_key_merge_on_write, Some(true));
    // BIGINT (8) + VARCHAR: the VARCHAR ends the short key.
    assert_eq!(s.short_key_column_count, 2);
    assert_eq!(s.columns[3].is_bloom_filter_column, Some(true));
    assert_eq!(s.bloom_filter_fpp.map(|f| f.0), Some(0.05));
    assert_eq!((r.storage_format, r.tablet_type, r.compression_type), (
        Some(TStorageFormat::V2),
        Some(TTabletType::TABLET_TYPE_DISK),
        Some(TCompressionType::LZ4F)
    ));
    assert_eq!(r.binlog_config.as_ref().and_then(|b| b.enable), Some(true));
    assert_eq!(r.in_restore_mode, None);

    // SHOW CREATE TABLE prints the properties, never the hidden columns.
    let ddl = sql.rows("SHOW CREATE TABLE d.u").await.rows[0][1].clone();
    assert!(ddl.contains(r#""enable_unique_key_merge_on_write" = "true""#), "{ddl}");
    assert!(ddl.contains(r#""function_column.sequence_col" = "ts""#), "{ddl}");
    assert!(!ddl.contains("__DORIS_"), "{ddl}");

    sql.run(r#"CREATE TABLE d.dup (k INT, f DOUBLE) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")"#)
        .await;
    let reqs = be.state.created.lock().unwrap().clone();
    let r = &reqs[1];
    assert_eq!(r.tablet_schema.columns.len(), 2);
    assert_eq!(
        (r.tablet_schema.delete_sign_idx, r.tablet_schema.sequence_col_idx, r.tablet_schema.version_col_idx),
        (Some(-1), Some(-1), Some(-1))
    );
    assert_eq!(r.enable_unique_key_merge_on_write, Some(false));
    assert_eq!(r.binlog_config.as_ref().and_then(|b| b.enable), Some(false));
    fe.shutdown().await;
}
