//! Shared by the agent tests: a recording FE on our real FrontendService server, BE
//! configs on temp dirs, and task builders.
#![allow(dead_code)]

pub mod process;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doris_be::agent::BeHandle;
use doris_be::BeConfig;
use doris_thrift::agent_service::*;
use doris_thrift::descriptors::TColumn;
use doris_thrift::frontend_service::*;
use doris_thrift::heartbeat_service::{THeartbeatResult, TMasterInfo};
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::services::{
    BackendServiceClient, FrontendServiceHandler, FrontendServiceServer, HeartbeatServiceClient,
};
use doris_thrift::status::{TStatus, TStatusCode};
pub use doris_thrift::task_body::TaskBody;
use doris_thrift::transport::{ClientOptions, ClientPool, ServerOptions, ThriftServer};
use doris_thrift::types::{TColumnType, TKeysType, TNetworkAddress, TPrimitiveType, TStorageType, TTaskType};
use thrift::{ApplicationError, ApplicationErrorKind};

pub const DEADLINE: Duration = Duration::from_secs(60);

/// The FE side of the agent protocol, recording what BEs send.
pub struct RecordingFe {
    pub finished: Mutex<Vec<TFinishTaskRequest>>,
    pub reports: Mutex<Vec<TReportRequest>>,
    pub loader_reports: Mutex<Vec<TSnapshotLoaderReportRequest>>,
    /// Answer snapshotLoaderReport with CANCELLED (the job was cancelled).
    pub cancel_loads: AtomicBool,
    /// While true, snapshotLoaderReport calls wait (holds a task mid-run).
    pub hold_loads: tokio::sync::watch::Sender<bool>,
}

impl Default for RecordingFe {
    fn default() -> Self {
        RecordingFe {
            finished: Mutex::default(),
            reports: Mutex::default(),
            loader_reports: Mutex::default(),
            cancel_loads: AtomicBool::new(false),
            hold_loads: tokio::sync::watch::channel(false).0,
        }
    }
}

fn ok() -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: None }
}

fn not_served() -> ApplicationError {
    ApplicationError::new(ApplicationErrorKind::UnknownMethod, "not served by the test FE")
}

#[async_trait::async_trait]
impl FrontendServiceHandler for RecordingFe {
    async fn get_snapshot(&self, _: TGetSnapshotRequest) -> Result<TGetSnapshotResult, ApplicationError> {
        Err(not_served())
    }
    async fn restore_snapshot(&self, _: TRestoreSnapshotRequest) -> Result<TRestoreSnapshotResult, ApplicationError> {
        Err(not_served())
    }
    async fn get_master_token(&self, _: TGetMasterTokenRequest) -> Result<TGetMasterTokenResult, ApplicationError> {
        Err(not_served())
    }
    async fn get_backend_meta(&self, _: TGetBackendMetaRequest) -> Result<TGetBackendMetaResult, ApplicationError> {
        Err(not_served())
    }
    async fn get_meta(&self, _: TGetMetaRequest) -> Result<TGetMetaResult, ApplicationError> {
        Err(not_served())
    }
    async fn finish_task(&self, request: TFinishTaskRequest) -> Result<TMasterResult, ApplicationError> {
        self.finished.lock().unwrap().push(request);
        Ok(TMasterResult { status: ok() })
    }
    async fn report(&self, request: TReportRequest) -> Result<TMasterResult, ApplicationError> {
        self.reports.lock().unwrap().push(request);
        Ok(TMasterResult { status: ok() })
    }
    async fn snapshot_loader_report(&self, request: TSnapshotLoaderReportRequest) -> Result<TStatus, ApplicationError> {
        self.loader_reports.lock().unwrap().push(request);
        let mut held = self.hold_loads.subscribe();
        while *held.borrow_and_update() {
            if held.changed().await.is_err() {
                break;
            }
        }
        if self.cancel_loads.load(Ordering::SeqCst) {
            return Ok(TStatus { status_code: TStatusCode::CANCELLED, error_msgs: Some(vec!["job cancelled".into()]) });
        }
        Ok(ok())
    }
    async fn load_txn_begin(&self, _: TLoadTxnBeginRequest) -> Result<TLoadTxnBeginResult, ApplicationError> {
        Err(not_served())
    }
    async fn load_txn_commit(&self, _: TLoadTxnCommitRequest) -> Result<TLoadTxnCommitResult, ApplicationError> {
        Err(not_served())
    }
    async fn load_txn_rollback(&self, _: TLoadTxnRollbackRequest) -> Result<TLoadTxnRollbackResult, ApplicationError> {
        Err(not_served())
    }
    async fn confirm_unused_remote_files(
        &self,
        _: TConfirmUnusedRemoteFilesRequest,
    ) -> Result<TConfirmUnusedRemoteFilesResult, ApplicationError> {
        Err(not_served())
    }
}

pub struct TestFe {
    pub rec: Arc<RecordingFe>,
    pub server: ThriftServer,
}

impl TestFe {
    pub async fn start() -> TestFe {
        let rec = Arc::new(RecordingFe::default());
        let server = ThriftServer::bind("127.0.0.1:0", Arc::new(FrontendServiceServer(rec.clone())), ServerOptions::default())
            .await
            .unwrap();
        TestFe { rec, server }
    }

    pub fn port(&self) -> i32 {
        self.server.local_addr().port() as i32
    }

    pub fn finished_for(&self, task_type: TTaskType, signature: i64) -> Vec<TFinishTaskRequest> {
        self.rec
            .finished
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f.task_type == task_type && f.signature == signature)
            .cloned()
            .collect()
    }

    /// The finishTask of a task, waiting for it up to DEADLINE.
    pub async fn wait_finish(&self, task_type: TTaskType, signature: i64) -> TFinishTaskRequest {
        let what = format!("finishTask of type {} signature {signature}", task_type.0);
        wait_for(&what, || async { self.finished_for(task_type, signature).into_iter().next() }).await
    }

    /// The first report after `skip` reports that matches.
    pub async fn wait_report(&self, what: &str, pred: impl Fn(&TReportRequest) -> bool) -> TReportRequest {
        wait_for(what, || async { self.rec.reports.lock().unwrap().iter().find(|r| pred(r)).cloned() }).await
    }
}

/// Poll `probe` until it yields, failing the test after DEADLINE.
pub async fn wait_for<T, F, Fut>(what: &str, probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A BE config on `root` with kernel-picked ports and fast reports.
pub fn be_config(root: &Path) -> BeConfig {
    BeConfig {
        be_port: 0,
        heartbeat_service_port: 0,
        webserver_port: 0,
        brpc_port: 18060,
        storage_root_paths: vec![root.to_path_buf()],
        report_task_interval_seconds: 1,
        report_tablet_interval_seconds: 1,
        report_disk_state_interval_seconds: 1,
        storage_min_left_capacity_bytes: 0,
        ..BeConfig::default()
    }
}

pub fn master_info(fe_port: i32, cluster_id: i32, epoch: i64, token: &str, backend_id: i64) -> TMasterInfo {
    TMasterInfo {
        network_address: TNetworkAddress { hostname: "127.0.0.1".into(), port: fe_port },
        cluster_id,
        epoch,
        token: Some(token.into()),
        backend_ip: Some("127.0.0.1".into()),
        http_port: Some(8030),
        heartbeat_flags: None,
        backend_id: Some(backend_id),
        frontend_infos: None,
        meta_service_endpoint: None,
        cloud_unique_id: None,
        tablet_report_inactive_duration_ms: None,
    }
}

pub async fn heartbeat(be: &BeHandle, m: &TMasterInfo) -> THeartbeatResult {
    let pool = ClientPool::new();
    let c = HeartbeatServiceClient::new(pool.channel(be.addrs.heartbeat.to_string(), ClientOptions::default()));
    c.heartbeat(m).await.unwrap()
}

pub fn backend_client(be: &BeHandle) -> BackendServiceClient {
    BackendServiceClient::new(ClientPool::new().channel(be.addrs.be.to_string(), ClientOptions::default()))
}

pub async fn submit(be: &BeHandle, tasks: Vec<TAgentTaskRequest>) -> TAgentResult {
    backend_client(be).submit_tasks(&tasks).await.unwrap()
}

/// A task as the FE sends it (built the one way requests are built).
pub fn task(body: TaskBody, signature: i64) -> TAgentTaskRequest {
    body.into_request(signature)
}

/// A request with no member at all, which `TaskBody` cannot build: for the tests of
/// what the BE refuses.
pub fn bare_task(task_type: TTaskType, signature: i64) -> TAgentTaskRequest {
    let mut t = task(TaskBody::Drop(TDropTabletReq::new(0, None, None, None)), signature);
    t.drop_tablet_req = None;
    t.task_type = task_type;
    t
}

pub const SCHEMA_HASH: i32 = 368169781;

pub fn create_req(tablet_id: i64, replica_id: i64) -> TCreateTabletReq {
    let col = |name: &str, key: bool, t: TPrimitiveType| TColumn {
        column_name: name.into(),
        column_type: TColumnType {
            type_: t,
            len: None,
            index_len: None,
            precision: None,
            scale: None,
            variant_max_subcolumns_count: None,
        },
        aggregation_type: None,
        is_key: Some(key),
        is_allow_null: Some(!key),
        default_value: None,
        is_bloom_filter_column: None,
        visible: None,
        children_column: None,
        col_unique_id: None,
        is_auto_increment: None,
    };
    let schema = TTabletSchema {
        short_key_column_count: 1,
        schema_hash: SCHEMA_HASH,
        keys_type: TKeysType::DUP_KEYS,
        storage_type: TStorageType::COLUMN,
        columns: vec![col("k1", true, TPrimitiveType::INT), col("v1", false, TPrimitiveType::BIGINT)],
        bloom_filter_fpp: None,
        is_in_memory: None,
        delete_sign_idx: None,
        sequence_col_idx: None,
        disable_auto_compaction: None,
        version_col_idx: None,
        store_row_column: None,
    };
    TCreateTabletReq::new(tablet_id, Box::new(schema), Some(1), None, None, Some(100), Some(200), None, None, None, Some(replica_id), None, None, None, None)
}

pub fn create_task(signature: i64, tablet_id: i64) -> TAgentTaskRequest {
    task(TaskBody::Create(create_req(tablet_id, tablet_id + 1_000_000)), signature)
}

pub fn snapshot_req(tablet_id: i64, list_files: bool) -> TSnapshotRequest {
    TSnapshotRequest {
        tablet_id,
        schema_hash: SCHEMA_HASH,
        version: None,
        version_hash: None,
        timeout: Some(3600),
        missing_version: None,
        list_files: Some(list_files),
        allow_incremental_clone: None,
        preferred_snapshot_version: Some(2),
        is_copy_tablet_task: None,
        start_version: None,
        end_version: None,
        is_copy_binlog: None,
        ref_tablet_id: None,
    }
}

pub fn snapshot_task(signature: i64, tablet_id: i64, list_files: bool) -> TAgentTaskRequest {
    task(TaskBody::MakeSnapshot(snapshot_req(tablet_id, list_files)), signature)
}

pub fn move_task(signature: i64, tablet_id: i64, src: &str, job_id: i64) -> TAgentTaskRequest {
    let req = TMoveDirReq { tablet_id, schema_hash: SCHEMA_HASH, src: src.into(), job_id, overwrite: true };
    task(TaskBody::Move(req), signature)
}

pub fn download_task(signature: i64, job_id: i64, snaps: Vec<TRemoteTabletSnapshot>) -> TAgentTaskRequest {
    let req = TDownloadReq {
        job_id,
        src_dest_map: BTreeMap::new(),
        broker_addr: TNetworkAddress { hostname: String::new(), port: 0 },
        broker_prop: None,
        storage_backend: None,
        location: None,
        remote_tablet_snapshots: Some(snaps.into_iter().map(Box::new).collect()),
    };
    task(TaskBody::Download(req), signature)
}

/// A DOWNLOAD from a `file://` repository: remote dir -> local snapshot dir.
pub fn repo_download_task(signature: i64, job_id: i64, location: &str, map: &[(String, String)]) -> TAgentTaskRequest {
    let req = TDownloadReq {
        job_id,
        src_dest_map: map.iter().cloned().collect(),
        broker_addr: TNetworkAddress { hostname: String::new(), port: 0 },
        broker_prop: None,
        storage_backend: Some(doris_thrift::types::TStorageBackendType::LOCAL),
        location: Some(location.into()),
        remote_tablet_snapshots: None,
    };
    task(TaskBody::Download(req), signature)
}

/// An UPLOAD to a `file://` repository: local snapshot dir -> remote dir.
pub fn upload_task(signature: i64, job_id: i64, location: &str, map: &[(String, String)]) -> TAgentTaskRequest {
    let req = TUploadReq {
        job_id,
        src_dest_map: map.iter().cloned().collect(),
        broker_addr: TNetworkAddress { hostname: String::new(), port: 0 },
        broker_prop: None,
        storage_backend: Some(doris_thrift::types::TStorageBackendType::LOCAL),
        location: Some(location.into()),
    };
    task(TaskBody::Upload(req), signature)
}

pub fn cooldown_task(signature: i64, confs: &[(i64, i64, i64)]) -> TAgentTaskRequest {
    let req = TPushCooldownConfReq {
        cooldown_confs: confs.iter().map(|&(tablet, replica, term)| TCooldownConf::new(tablet, replica, term)).collect(),
    };
    task(TaskBody::PushCooldownConf(req), signature)
}

/// Bytes that do not compress or repeat.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

/// Put `segments` rowset files of `size` random bytes into the tablet dir and add the
/// rowset as the next version. Returns the file names and their bytes.
pub fn add_random_rowset(be: &BeHandle, tablet_id: i64, segments: u32, size: usize, rows: i64) -> Vec<(String, Vec<u8>)> {
    let storage = &be.ctx.storage;
    let dir = storage.tablet_dir(tablet_id).unwrap();
    let rowset_id = storage.next_rowset_id();
    let mut files = Vec::new();
    for s in 0..segments {
        let name = format!("{rowset_id}_{s}.dat");
        let bytes = random_bytes(size);
        std::fs::write(dir.join(&name), &bytes).unwrap();
        files.push((name, bytes));
    }
    let v = storage.tablet_meta(tablet_id).unwrap().max_version() + 1;
    storage
        .add_rowset(
            tablet_id,
            doris_be::storage::RowsetMeta {
                rowset_id,
                start_version: v,
                end_version: v,
                num_segments: segments,
                num_rows: rows,
                data_size: size as i64 * segments as i64,
                txn_id: None,
                remote: false,
                creation_time_s: 0,
                delete_predicate: None,
            },
        )
        .unwrap();
    files
}

pub fn status_text(s: &TStatus) -> String {
    s.error_msgs.clone().unwrap_or_default().join("; ")
}

/// A tablet's rows at `version` as the BE's scan endpoint answers them (Arrow IPC), for
/// tables of integer columns: the column names and the rows.
#[allow(dead_code)]
pub async fn scan_int_rows(http: std::net::SocketAddr, token: &str, tablet_id: i64, version: i64) -> (Vec<String>, Vec<Vec<i64>>) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type};
    use arrow_schema::DataType;
    let url = format!("http://{http}/api/_internal/scan?tablet_id={tablet_id}&version={version}");
    let r = reqwest::Client::new().get(url).header("token", token).send().await.unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None).unwrap();
    let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let cols: Vec<Vec<i64>> = batch
            .columns()
            .iter()
            .map(|a| match a.data_type() {
                DataType::Int8 => a.as_primitive::<Int8Type>().values().iter().map(|v| *v as i64).collect(),
                DataType::Int16 => a.as_primitive::<Int16Type>().values().iter().map(|v| *v as i64).collect(),
                DataType::Int32 => a.as_primitive::<Int32Type>().values().iter().map(|v| *v as i64).collect(),
                DataType::Int64 => a.as_primitive::<Int64Type>().values().to_vec(),
                other => panic!("not an integer column: {other}"),
            })
            .collect();
        for i in 0..batch.num_rows() {
            rows.push(cols.iter().map(|c| c[i]).collect());
        }
    }
    (names, rows)
}
