//! `wire-peer call`: our client against a peer that follows the fixture rules.
//!
//! Every request is fixed and fully populated (non-ASCII strings, non-UTF-8 binary, maps
//! and sets with several entries); the reply must equal the fixture rule applied to the
//! request. `tests/interop/interop_rules.py` (`CALL_EXPECT`) checks the request side with
//! the same values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;

use doris_thrift::agent_service::*;
use doris_thrift::frontend_service::*;
use doris_thrift::heartbeat_service::{TFrontendInfo, TMasterInfo};
use doris_thrift::master_service::{TDisk, TFinishTaskRequest, TReportRequest, TTablet, TTabletInfo};
use doris_thrift::plan_nodes::THdfsParams;
use doris_thrift::services::{BackendServiceClient, FrontendServiceClient, HeartbeatServiceClient};
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool, Framing, RpcError};
use doris_thrift::types::*;

use super::fixtures as fx;

/// Size of the restoreSnapshot meta: large enough to span many reads.
pub const BIG_META_BYTES: usize = 1 << 20;

pub struct Targets {
    pub fe: String,
    pub heartbeat: Option<String>,
    pub be: Option<String>,
    pub framing: Framing,
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn backend() -> TBackend {
    TBackend {
        host: "be-hôst-1".to_string(),
        be_port: 9060,
        http_port: 8040,
        brpc_port: Some(8060),
        is_alive: Some(true),
        id: Some(10_001),
    }
}

fn uid(hi: i64, lo: i64) -> TUniqueId {
    TUniqueId { hi, lo }
}

fn tablet_info(id: i64) -> TTabletInfo {
    TTabletInfo {
        tablet_id: id,
        schema_hash: 368_169_781,
        version: 12,
        version_hash: 0,
        row_count: 1_000 + id,
        data_size: 4_096 + id,
        storage_medium: Some(TStorageMedium::SSD),
        transaction_ids: Some(vec![501, 502]),
        total_version_count: Some(13),
        path_hash: Some(-77),
        version_miss: Some(false),
        used: Some(true),
        partition_id: Some(3_001),
        is_in_memory: Some(false),
        replica_id: Some(id + 5),
        remote_data_size: Some(0),
        cooldown_term: Some(2),
        cooldown_meta_id: Some(uid(1, 2)),
        visible_version_count: Some(11),
        is_persistent: Some(true),
    }
}

/// Deterministic bytes that are not UTF-8 (0x80.. bytes appear early).
pub fn big_meta() -> Vec<u8> {
    (0..BIG_META_BYTES).map(|i| ((i * 131 + 200) % 256) as u8).collect()
}

pub fn finish_task_request() -> TFinishTaskRequest {
    TFinishTaskRequest {
        backend: backend(),
        task_type: TTaskType::MAKE_SNAPSHOT,
        signature: 8_000_000_001,
        task_status: TStatus { status_code: TStatusCode::OK, error_msgs: Some(vec!["fine".into(), "ça va".into()]) },
        report_version: Some(17),
        finish_tablet_infos: Some(vec![Box::new(tablet_info(20_001)), Box::new(tablet_info(20_002))]),
        tablet_checksum: Some(-1),
        request_version: Some(12),
        request_version_hash: Some(0),
        snapshot_path: s("/data/snapshot/20250101/20001/368169781"),
        error_tablet_ids: Some(vec![20_003, 20_004]),
        snapshot_files: Some(vec!["20001.hdr".into(), "0200_0.dat".into()]),
        tablet_files: Some(BTreeMap::from([
            (20_001, vec!["a.dat".to_string(), "b.idx".to_string()]),
            (20_002, vec!["c.dat".to_string()]),
        ])),
        downloaded_tablet_ids: Some(vec![20_001, 20_002]),
        copy_size: Some(1 << 33),
        copy_time_ms: Some(1_234),
        succ_tablets: Some(BTreeMap::from([(20_001, 12), (20_002, 13)])),
        table_id_to_delta_num_rows: Some(BTreeMap::from([(1_001, 5), (1_002, -5)])),
        table_id_to_tablet_id_to_delta_num_rows: Some(BTreeMap::from([
            (1_001, BTreeMap::from([(20_001, 3), (20_002, 2)])),
            (1_002, BTreeMap::from([(20_003, -5)])),
        ])),
        resp_partitions: Some(vec![TCalcDeleteBitmapPartitionInfo {
            partition_id: 3_001,
            version: 12,
            tablet_ids: vec![20_001, 20_002],
        }]),
    }
}

pub fn report_request() -> TReportRequest {
    let tablet =
        |a: i64, b: i64| Box::new(TTablet { tablet_infos: vec![Box::new(tablet_info(a)), Box::new(tablet_info(b))] });
    let disk = |path: &str| TDisk {
        root_path: path.to_string(),
        disk_total_capacity: 1 << 40,
        data_used_capacity: 1 << 30,
        used: true,
        disk_available_capacity: Some(1 << 39),
        path_hash: Some(99),
        storage_medium: Some(TStorageMedium::HDD),
        remote_used_capacity: Some(0),
        trash_used_capacity: Some(1),
    };
    TReportRequest {
        backend: backend(),
        report_version: Some(18),
        tasks: Some(BTreeMap::from([
            (TTaskType::UPLOAD, BTreeSet::from([1, 2, 3])),
            (TTaskType::DOWNLOAD, BTreeSet::from([4])),
        ])),
        tablets: Some(BTreeMap::from([(20_001, tablet(20_001, 20_002)), (20_003, tablet(20_003, 20_004))])),
        disks: Some(BTreeMap::from([
            ("/data1".to_string(), disk("/data1")),
            ("/données2".to_string(), disk("/données2")),
        ])),
        force_recovery: Some(false),
        tablet_list: Some(vec![tablet(20_005, 20_006)]),
        tablet_max_compaction_score: Some(3),
        storage_policy: Some(vec![TStoragePolicy {
            id: Some(1),
            name: s("cold"),
            version: Some(2),
            cooldown_datetime: Some(1_700_000_000),
            cooldown_ttl: Some(3_600),
            resource_id: Some(7),
        }]),
        resource: Some(vec![TStorageResource {
            id: Some(7),
            name: s("s3-res"),
            version: Some(1),
            s3_storage_param: Some(TS3StorageParam {
                endpoint: s("http://127.0.0.1:9000"),
                region: s("us-east-1"),
                ak: s("AKFIXTURE"),
                sk: s("not-a-secret"),
                max_conn: Some(50),
                request_timeout_ms: Some(3_000),
                conn_timeout_ms: Some(1_000),
                root_path: s("prefix"),
                bucket: s("bucket"),
                use_path_style: Some(true),
                token: s("session"),
                provider: Some(TObjStorageType::AWS),
            }),
            hdfs_storage_param: Some(THdfsParams {}),
        }]),
        num_cores: Some(8),
        pipeline_executor_size: Some(16),
        partitions_version: Some(BTreeMap::from([(3_001, 12), (3_002, 4)])),
    }
}

pub fn snapshot_loader_report_request() -> TSnapshotLoaderReportRequest {
    TSnapshotLoaderReportRequest {
        job_id: 9_001,
        task_id: 9_002,
        task_type: TTaskType::DOWNLOAD,
        finished_num: Some(3),
        total_num: Some(5),
    }
}

pub fn get_snapshot_request() -> TGetSnapshotRequest {
    TGetSnapshotRequest {
        cluster: s("default_cluster"),
        user: s("root"),
        passwd: s("pw"),
        db: s("db_ünï"),
        table: s("tbl"),
        token: s("tok-123"),
        label_name: s("label_çcr_1"),
        snapshot_name: s("snap_日本"),
        snapshot_type: Some(TSnapshotType::LOCAL),
        enable_compress: Some(true),
    }
}

pub fn restore_snapshot_request() -> TRestoreSnapshotRequest {
    TRestoreSnapshotRequest {
        cluster: s("default_cluster"),
        user: s("root"),
        passwd: s("pw"),
        db: s("db_dst"),
        table: s("tbl"),
        token: s("tok-123"),
        label_name: s("label_çcr_1"),
        repo_name: s("__keep_on_local__"),
        table_refs: Some(vec![
            Box::new(TTableRef { table: s("tbl"), alias_name: s("tbl_alias") }),
            Box::new(TTableRef { table: s("tbl2"), alias_name: None }),
        ]),
        properties: Some(BTreeMap::from([
            ("reserve_replica".to_string(), "true".to_string()),
            ("backup_timestamp".to_string(), "2025-01-01-00-00-00".to_string()),
        ])),
        meta: Some(big_meta()),
        job_info: Some(vec![0xff, 0xfe, 0x00, 0x80, b'{', b'}']),
        clean_tables: Some(true),
        clean_partitions: Some(false),
        atomic_restore: Some(true),
        compressed: Some(false),
    }
}

pub fn get_master_token_request() -> TGetMasterTokenRequest {
    TGetMasterTokenRequest { cluster: s("default_cluster"), user: s("syncer"), password: s("pw") }
}

pub fn get_backend_meta_request() -> TGetBackendMetaRequest {
    TGetBackendMetaRequest {
        cluster: s("default_cluster"),
        user: s("root"),
        passwd: s("pw"),
        user_ip: s("10.0.0.9"),
        token: s("tok-123"),
        backend_id: Some(10_001),
    }
}

pub fn get_meta_request() -> TGetMetaRequest {
    TGetMetaRequest {
        cluster: s("default_cluster"),
        user: s("root"),
        passwd: s("pw"),
        user_ip: s("10.0.0.9"),
        token: s("tok-123"),
        db: Some(TGetMetaDB {
            id: Some(1_001),
            name: s("db_ünï"),
            only_table_names: Some(false),
            tables: Some(vec![
                Box::new(TGetMetaTable { id: Some(2_001), name: s("t1"), in_trash: Some(false) }),
                Box::new(TGetMetaTable { id: Some(2_002), name: s("t2"), in_trash: Some(true) }),
            ]),
        }),
    }
}

pub fn load_txn_begin_request() -> TLoadTxnBeginRequest {
    TLoadTxnBeginRequest {
        cluster: s("default_cluster"),
        user: "root".into(),
        passwd: "pw".into(),
        db: "db_ünï".into(),
        tbl: "tbl".into(),
        user_ip: s("10.0.0.9"),
        label: "load_é_1".into(),
        timestamp: Some(1_700_000_000_000),
        auth_code: Some(5),
        timeout: Some(600),
        request_id: Some(uid(-3, 4)),
        token: s("tok-123"),
        auth_code_uuid: s("uuid-1"),
        table_id: Some(2_001),
        backend_id: Some(10_001),
    }
}

pub fn load_txn_commit_request() -> TLoadTxnCommitRequest {
    TLoadTxnCommitRequest {
        cluster: s("default_cluster"),
        user: "root".into(),
        passwd: "pw".into(),
        db: "db_ünï".into(),
        tbl: "tbl".into(),
        user_ip: s("10.0.0.9"),
        txn_id: 77,
        sync: true,
        commit_infos: Some(vec![
            TTabletCommitInfo { tablet_id: 20_001, backend_id: 10_001, invalid_dict_cols: Some(vec!["c1".into()]) },
            TTabletCommitInfo { tablet_id: 20_002, backend_id: 10_002, invalid_dict_cols: None },
        ]),
        auth_code: Some(5),
        thrift_rpc_timeout_ms: Some(5_000),
        token: s("tok-123"),
        db_id: Some(1_001),
        tbls: Some(vec!["tbl".into(), "tbl2".into()]),
        table_id: Some(2_001),
        auth_code_uuid: s("uuid-1"),
        receive_bytes: Some(1 << 20),
        backend_id: Some(10_001),
    }
}

pub fn load_txn_rollback_request() -> TLoadTxnRollbackRequest {
    TLoadTxnRollbackRequest {
        cluster: s("default_cluster"),
        user: "root".into(),
        passwd: "pw".into(),
        db: "db_ünï".into(),
        tbl: "tbl".into(),
        user_ip: s("10.0.0.9"),
        txn_id: 78,
        reason: s("user cancel ✗"),
        auth_code: Some(5),
        token: s("tok-123"),
        db_id: Some(1_001),
        tbls: Some(vec!["tbl".into()]),
        auth_code_uuid: s("uuid-1"),
        label: s("load_é_1"),
    }
}

pub fn confirm_request() -> TConfirmUnusedRemoteFilesRequest {
    let info = |t: i64| {
        Box::new(TTabletCooldownInfo {
            tablet_id: Some(t),
            cooldown_replica_id: Some(t + 1),
            cooldown_meta_id: Some(uid(t, -t)),
        })
    };
    TConfirmUnusedRemoteFilesRequest { confirm_list: Some(vec![info(20_001), info(20_002)]) }
}

pub fn master_info() -> TMasterInfo {
    TMasterInfo {
        network_address: TNetworkAddress { hostname: "fe-hôst".into(), port: 9020 },
        cluster_id: 123_456,
        epoch: 9,
        token: s("cluster-token-✓"),
        backend_ip: s("10.0.0.21"),
        http_port: Some(8030),
        heartbeat_flags: Some(1),
        backend_id: Some(10_001),
        frontend_infos: Some(vec![TFrontendInfo {
            coordinator_address: Some(TNetworkAddress { hostname: "fe2".into(), port: 9020 }),
            process_uuid: Some(-42),
        }]),
        meta_service_endpoint: s("ms:5000"),
        cloud_unique_id: s("cloud-1"),
        tablet_report_inactive_duration_ms: Some(60_000),
    }
}

pub fn snapshot_request() -> TSnapshotRequest {
    TSnapshotRequest {
        tablet_id: 20_001,
        schema_hash: 368_169_781,
        version: Some(12),
        version_hash: Some(0),
        timeout: Some(3_600),
        missing_version: Some(vec![10, 11]),
        list_files: Some(true),
        allow_incremental_clone: Some(true),
        preferred_snapshot_version: Some(4),
        is_copy_tablet_task: Some(false),
        start_version: Some(2),
        end_version: Some(12),
        is_copy_binlog: Some(true),
        ref_tablet_id: Some(20_009),
    }
}

pub fn agent_tasks() -> Vec<TAgentTaskRequest> {
    let base = |sig: i64, task_type: TTaskType| TAgentTaskRequest {
        protocol_version: TAgentServiceVersion::V1,
        task_type,
        signature: sig,
        priority: Some(TPriority::HIGH),
        create_tablet_req: None,
        drop_tablet_req: None,
        clone_req: None,
        push_req: None,
        resource_info: Some(TResourceInfo { user: "root".into(), group: "grp".into() }),
        upload_req: None,
        download_req: None,
        snapshot_req: None,
        release_snapshot_req: None,
        publish_version_req: None,
        move_dir_req: None,
        recv_time: Some(1_700_000_000),
        push_cooldown_conf: None,
        push_storage_policy_req: None,
    };
    let mut snap = base(7_001, TTaskType::MAKE_SNAPSHOT);
    snap.snapshot_req = Some(Box::new(snapshot_request()));
    let mut release = base(7_002, TTaskType::RELEASE_SNAPSHOT);
    release.release_snapshot_req = Some(Box::new(TReleaseSnapshotRequest { snapshot_path: "/snap/ä".into() }));
    let mut download = base(7_003, TTaskType::DOWNLOAD);
    download.download_req = Some(Box::new(TDownloadReq {
        job_id: 9_001,
        src_dest_map: BTreeMap::from([("src1".into(), "dst1".into()), ("src2".into(), "dst2".into())]),
        broker_addr: TNetworkAddress { hostname: "broker".into(), port: 8000 },
        broker_prop: Some(BTreeMap::from([("k".into(), "v".into())])),
        storage_backend: Some(TStorageBackendType::S3),
        location: s("s3://bucket/prefix"),
        remote_tablet_snapshots: Some(vec![Box::new(TRemoteTabletSnapshot {
            local_tablet_id: Some(20_001),
            local_snapshot_path: s("/local"),
            remote_tablet_id: Some(30_001),
            remote_be_id: Some(10_009),
            remote_be_addr: Some(TNetworkAddress { hostname: "remote-be".into(), port: 9060 }),
            remote_snapshot_path: s("/remote"),
            remote_token: s("rtok"),
        })]),
    }));
    // CLONE of a lagging replica from two healthy ones.
    let mut clone = base(7_004, TTaskType::CLONE);
    clone.clone_req = Some(Box::new(TCloneReq {
        tablet_id: 20_001,
        schema_hash: 368_169_781,
        src_backends: vec![
            TBackend { host: "src-bé-1".into(), be_port: 9060, http_port: 8040, brpc_port: None, is_alive: Some(true), id: Some(10_001) },
            TBackend { host: "src-be-2".into(), be_port: 9061, http_port: 8041, brpc_port: None, is_alive: Some(true), id: Some(10_002) },
        ],
        storage_medium: None,
        version: Some(12),
        committed_version_hash: None,
        task_version: None,
        src_path_hash: None,
        dest_path_hash: None,
        timeout_s: Some(3600),
        replica_id: Some(40_001),
        partition_id: Some(50_001),
        table_id: Some(60_001),
    }));
    vec![snap, release, download, clone]
}

/// One call's outcome: the line to print, and whether it matched.
async fn check<T, F>(what: &str, expected: T, call: F) -> bool
where
    T: PartialEq + Debug,
    F: Future<Output = Result<T, RpcError>>,
{
    match call.await {
        Ok(got) if got == expected => {
            println!("ok {what}");
            true
        }
        Ok(got) => {
            println!("FAIL {what}: expected {expected:?}, got {got:?}");
            false
        }
        Err(e) => {
            println!("FAIL {what}: {e}");
            false
        }
    }
}

pub async fn run(t: Targets) -> Result<(), String> {
    let pool = ClientPool::new();
    let opts = ClientOptions { framing: t.framing, ..Default::default() };
    let mut ok = true;

    let fe = FrontendServiceClient::new(pool.channel(t.fe.clone(), opts.clone()));
    let r = finish_task_request();
    ok &= check("finishTask", fx::finish_task(&r), fe.finish_task(&r)).await;
    let r = report_request();
    ok &= check("report", fx::report(&r), fe.report(&r)).await;
    let r = snapshot_loader_report_request();
    ok &= check("snapshotLoaderReport", fx::snapshot_loader_report(&r), fe.snapshot_loader_report(&r)).await;
    let r = get_snapshot_request();
    ok &= check("getSnapshot", fx::get_snapshot(&r), fe.get_snapshot(&r)).await;
    let r = restore_snapshot_request();
    ok &= check("restoreSnapshot", fx::restore_snapshot(&r), fe.restore_snapshot(&r)).await;
    let r = get_master_token_request();
    let want = fx::get_master_token(&r).ok_or("the fixed getMasterToken request must not ask for a panic")?;
    ok &= check("getMasterToken", want, fe.get_master_token(&r)).await;
    let r = get_backend_meta_request();
    ok &= check("getBackendMeta", fx::get_backend_meta(&r), fe.get_backend_meta(&r)).await;
    let r = get_meta_request();
    ok &= check("getMeta", fx::get_meta(&r), fe.get_meta(&r)).await;
    let r = load_txn_begin_request();
    ok &= check("loadTxnBegin", fx::load_txn_begin(&r), fe.load_txn_begin(&r)).await;
    let r = load_txn_commit_request();
    ok &= check("loadTxnCommit", fx::load_txn_commit(&r), fe.load_txn_commit(&r)).await;
    let r = load_txn_rollback_request();
    ok &= check("loadTxnRollback", fx::load_txn_rollback(&r), fe.load_txn_rollback(&r)).await;
    let r = confirm_request();
    ok &= check("confirmUnusedRemoteFiles", fx::confirm_unused_remote_files(&r), fe.confirm_unused_remote_files(&r))
        .await;

    if let Some(addr) = &t.heartbeat {
        let hb = HeartbeatServiceClient::new(pool.channel(addr.clone(), opts.clone()));
        let m = master_info();
        ok &= check("heartbeat", fx::heartbeat(&m), hb.heartbeat(&m)).await;
    }

    if let Some(addr) = &t.be {
        let be = BackendServiceClient::new(pool.channel(addr.clone(), opts.clone()));
        let tasks = agent_tasks();
        ok &= check("submit_tasks", fx::submit_tasks(&tasks), be.submit_tasks(&tasks)).await;
        let r = snapshot_request();
        ok &= check("make_snapshot", fx::make_snapshot(&r), be.make_snapshot(&r)).await;
        let p = "/data/snapshot/ä/20001".to_string();
        ok &= check("release_snapshot", fx::release_snapshot(&p), be.release_snapshot(&p)).await;
        ok &= check("get_tablet_stat", fx::tablet_stat(), be.get_tablet_stat()).await;
    }

    if ok {
        Ok(())
    } else {
        Err("some calls did not get the reply the fixture rules require".to_string())
    }
}
