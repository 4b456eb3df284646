//! The fixture rules: every reply is a pure function of its request, so a peer on the
//! other side can check both directions. `tests/interop/interop_rules.py` implements the same
//! rules; keep the two in step.
//!
//! Rendering inside strings: a missing optional value is `none`, a bool is `true`/`false`,
//! an enum is its number.
//!
//! | method | reply |
//! |---|---|
//! | submit_tasks(tasks) | TAgentResult{OK, snapshot_path "sigs:<signatures joined by ,>", snapshot_version = len(tasks)} |
//! | make_snapshot(r) | TAgentResult{OK, snapshot_path "snap:<tablet_id>:<schema_hash>:<version>", allow_incremental_clone = r's, snapshot_version = r.preferred_snapshot_version} |
//! | release_snapshot(p) | TAgentResult{OK, snapshot_path "released:<p>"} |
//! | get_tablet_stat() | the two fixed tablets of `tablet_stat` |
//! | heartbeat(m) | THeartbeatResult{OK [hostname], be_port = cluster_id, http_port = epoch, be_rpc_port = network_address.port, version = token, be_start_time = backend_id, be_node_role = backend_ip, brpc_port = http_port} |
//! | getSnapshot(r) | {OK, meta = label_name, job_info = snapshot_name, compressed = enable_compress, expiredAt 42, commit_seq 7} |
//! | restoreSnapshot(r) | {OK [label_name, "meta:<len>:<byte sum>", "job_info:<len>", "tables:<table,alias;...>", "props:<k=v;... by key>", "flags:<clean_tables>,<clean_partitions>,<atomic_restore>,<compressed>"], master_address {repo_name, len(table_refs)}} |
//! | getMasterToken(r) | user "panic": the handler panics; else {OK, token "token:<cluster>:<user>", master_address {master.example, 9020}} |
//! | getBackendMeta(r) | {OK, backends [{host user_ip, be_port 9060, http_port 8040, id backend_id}], master_address {master.example, 9020}} |
//! | getMeta(r) | {OK, db_meta {id, name, tables [{id, name, in_trash} per db.tables]}} |
//! | finishTask(r) | TMasterResult{OK ["<signature>:<task_type>", "<host>:<be_port>", "status:<code>", "snapshot:<snapshot_path>", "files:<tablet_files count over all lists>", "downloaded:<downloaded_tablet_ids joined by ,>"]} |
//! | report(r) | TMasterResult{OK [host, "version:<report_version>", "tasks:<sum of set sizes>", "tablets:<len tablets>", "disks:<disk names by name joined by ,>"]} |
//! | snapshotLoaderReport(r) | TStatus{OK ["<job_id>:<task_id>:<task_type>:<finished_num>/<total_num>"]} |
//! | loadTxnBegin(r) | {OK, txnId = timestamp + 1 (1 without), job_status = label, db_id = table_id} |
//! | loadTxnCommit(r) | {OK ["<db>.<tbl>:<txnId>:<sync>:<len commitInfos>"]} |
//! | loadTxnRollback(r) | {OK ["<txnId>:<reason>"]} |
//! | confirmUnusedRemoteFiles(r) | {confirmed_tablets = tablet_id of each confirm_list entry that has one} |
//! | getBinlog(r) | {OK ["<db>.<table>:<table_id>"], next_commit_seq = prev_commit_seq, binlogs [{commit_seq = prev_commit_seq, timestamp 42, type UPSERT, db_id = table_id, table_ids [table_id] (none without), data = user, belong -1, table_ref 7, remove_enable_cache false}], fe_version "fixture", fe_meta_version 129, master_address {master.example, 9020}} |
//! | getBinlogLag(r) | {OK ["<db>.<table>"], lag = prev_commit_seq, master_address} |
//! | beginTxn(r) | {OK, txn_id = timeout, job_status = label, db_id = backend_id, master_address, sub_txn_ids = table_ids} |
//! | commitTxn(r) | {OK ["<db>:<txn_id>:<len commit_infos>:<txn_insert>"], master_address} |
//! | rollbackTxn(r) | {OK ["<txn_id>:<reason>"], master_address} |
//! | ingest_binlog(r) | {OK ["<remote_host>:<remote_port>:<remote_tablet_id>:<binlog_version>"], is_async = whether txn_id is set} |
//! | query_ingest_binlog(r) | {status OK, err_msg "<txn_id>:<tablet_id>"} |

use std::collections::BTreeMap;
use std::fmt::Display;

use doris_thrift::agent_service::{TAgentResult, TAgentTaskRequest, TSnapshotRequest};
use doris_thrift::backend_service::{
    TIngestBinlogRequest, TIngestBinlogResult, TIngestBinlogStatus, TQueryIngestBinlogRequest, TQueryIngestBinlogResult,
    TTabletStat, TTabletStatResult,
};
use doris_thrift::frontend_service::*;
use doris_thrift::heartbeat_service::{TBackendInfo, THeartbeatResult, TMasterInfo};
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::types::{TBackend, TNetworkAddress};

/// The magic user that makes getMasterToken panic, to prove INTERNAL_ERROR isolation.
pub const PANIC_USER: &str = "panic";

fn opt<T: Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".to_string(), |x| x.to_string())
}

fn ok(msgs: Vec<String>) -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: Some(msgs) }
}

fn ok_bare() -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: None }
}

fn master_address() -> TNetworkAddress {
    TNetworkAddress { hostname: "master.example".to_string(), port: 9020 }
}

pub fn submit_tasks(tasks: &[TAgentTaskRequest]) -> TAgentResult {
    let sigs: Vec<String> = tasks.iter().map(|t| t.signature.to_string()).collect();
    TAgentResult {
        status: ok_bare(),
        snapshot_path: Some(format!("sigs:{}", sigs.join(","))),
        allow_incremental_clone: None,
        snapshot_version: Some(tasks.len() as i32),
    }
}

pub fn make_snapshot(r: &TSnapshotRequest) -> TAgentResult {
    TAgentResult {
        status: ok_bare(),
        snapshot_path: Some(format!("snap:{}:{}:{}", r.tablet_id, r.schema_hash, opt(&r.version))),
        allow_incremental_clone: r.allow_incremental_clone,
        snapshot_version: r.preferred_snapshot_version,
    }
}

pub fn release_snapshot(path: &str) -> TAgentResult {
    TAgentResult {
        status: ok_bare(),
        snapshot_path: Some(format!("released:{path}")),
        allow_incremental_clone: None,
        snapshot_version: None,
    }
}

pub fn tablet_stat() -> TTabletStatResult {
    let a = TTabletStat {
        tablet_id: 10001,
        data_size: Some(1024),
        row_count: Some(7),
        total_version_count: None,
        remote_data_size: None,
        visible_version_count: None,
        visible_version: None,
    };
    let b = TTabletStat {
        tablet_id: 10002,
        data_size: Some(2048),
        row_count: Some(9),
        total_version_count: Some(4),
        remote_data_size: Some(0),
        visible_version_count: Some(2),
        visible_version: Some(3),
    };
    TTabletStatResult {
        tablets_stats: BTreeMap::from([(a.tablet_id, a.clone()), (b.tablet_id, b.clone())]),
        tablet_stat_list: Some(vec![a, b]),
    }
}

pub fn heartbeat(m: &TMasterInfo) -> THeartbeatResult {
    THeartbeatResult {
        status: ok(vec![m.network_address.hostname.clone()]),
        backend_info: TBackendInfo {
            be_port: m.cluster_id,
            http_port: m.epoch as i32,
            be_rpc_port: Some(m.network_address.port),
            brpc_port: m.http_port,
            version: m.token.clone(),
            be_start_time: m.backend_id,
            be_node_role: m.backend_ip.clone(),
            is_shutdown: None,
            arrow_flight_sql_port: None,
            be_mem: None,
            fragment_executing_count: None,
            fragment_last_active_time: None,
        },
    }
}

pub fn get_snapshot(r: &TGetSnapshotRequest) -> TGetSnapshotResult {
    TGetSnapshotResult {
        status: Some(ok_bare()),
        meta: r.label_name.as_ref().map(|s| s.as_bytes().to_vec()),
        job_info: r.snapshot_name.as_ref().map(|s| s.as_bytes().to_vec()),
        master_address: None,
        compressed: r.enable_compress,
        expired_at: Some(42),
        commit_seq: Some(7),
    }
}

fn byte_sum(b: &Option<Vec<u8>>) -> String {
    match b {
        Some(b) => format!("{}:{}", b.len(), b.iter().map(|&x| x as u64).sum::<u64>()),
        None => "none".to_string(),
    }
}

pub fn restore_snapshot(r: &TRestoreSnapshotRequest) -> TRestoreSnapshotResult {
    let tables = r.table_refs.as_ref().map(|refs| {
        refs.iter().map(|t| format!("{},{}", opt(&t.table), opt(&t.alias_name))).collect::<Vec<_>>().join(";")
    });
    // BTreeMap iterates by key: the order the rule asks for.
    let props = r.properties.as_ref().map(|p| p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"));
    TRestoreSnapshotResult {
        status: Some(ok(vec![
            opt(&r.label_name),
            format!("meta:{}", byte_sum(&r.meta)),
            format!("job_info:{}", r.job_info.as_ref().map_or_else(|| "none".to_string(), |j| j.len().to_string())),
            format!("tables:{}", opt(&tables)),
            format!("props:{}", opt(&props)),
            format!(
                "flags:{},{},{},{}",
                opt(&r.clean_tables),
                opt(&r.clean_partitions),
                opt(&r.atomic_restore),
                opt(&r.compressed)
            ),
        ])),
        master_address: Some(TNetworkAddress {
            hostname: opt(&r.repo_name),
            port: r.table_refs.as_ref().map_or(0, |t| t.len() as i32),
        }),
    }
}

/// None for the magic user: the caller panics.
pub fn get_master_token(r: &TGetMasterTokenRequest) -> Option<TGetMasterTokenResult> {
    if r.user.as_deref() == Some(PANIC_USER) {
        return None;
    }
    Some(TGetMasterTokenResult {
        status: Some(ok_bare()),
        token: Some(format!("token:{}:{}", opt(&r.cluster), opt(&r.user))),
        master_address: Some(master_address()),
    })
}

pub fn get_backend_meta(r: &TGetBackendMetaRequest) -> TGetBackendMetaResult {
    TGetBackendMetaResult {
        status: ok_bare(),
        backends: Some(vec![TBackend {
            host: opt(&r.user_ip),
            be_port: 9060,
            http_port: 8040,
            brpc_port: None,
            is_alive: None,
            id: r.backend_id,
        }]),
        master_address: Some(master_address()),
    }
}

pub fn get_meta(r: &TGetMetaRequest) -> TGetMetaResult {
    let db_meta = r.db.as_ref().map(|db| TGetMetaDBMeta {
        id: db.id,
        name: db.name.clone(),
        tables: db.tables.as_ref().map(|ts| {
            ts.iter()
                .map(|t| {
                    Box::new(TGetMetaTableMeta {
                        id: t.id,
                        name: t.name.clone(),
                        in_trash: t.in_trash,
                        partitions: None,
                    })
                })
                .collect()
        }),
        dropped_partitions: None,
        dropped_tables: None,
        dropped_indexes: None,
    });
    TGetMetaResult { status: ok_bare(), db_meta, master_address: None }
}

pub fn finish_task(r: &TFinishTaskRequest) -> TMasterResult {
    let files = r.tablet_files.as_ref().map(|m| m.values().map(Vec::len).sum::<usize>());
    let downloaded =
        r.downloaded_tablet_ids.as_ref().map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    TMasterResult {
        status: ok(vec![
            format!("{}:{}", r.signature, r.task_type.0),
            format!("{}:{}", r.backend.host, r.backend.be_port),
            format!("status:{}", r.task_status.status_code.0),
            format!("snapshot:{}", opt(&r.snapshot_path)),
            format!("files:{}", opt(&files)),
            format!("downloaded:{}", opt(&downloaded)),
        ]),
    }
}

pub fn report(r: &TReportRequest) -> TMasterResult {
    let tasks = r.tasks.as_ref().map(|t| t.values().map(|s| s.len()).sum::<usize>());
    let disks = r.disks.as_ref().map(|d| d.keys().cloned().collect::<Vec<_>>().join(","));
    TMasterResult {
        status: ok(vec![
            r.backend.host.clone(),
            format!("version:{}", opt(&r.report_version)),
            format!("tasks:{}", opt(&tasks)),
            format!("tablets:{}", opt(&r.tablets.as_ref().map(|t| t.len()))),
            format!("disks:{}", opt(&disks)),
        ]),
    }
}

pub fn snapshot_loader_report(r: &TSnapshotLoaderReportRequest) -> TStatus {
    ok(vec![format!("{}:{}:{}:{}/{}", r.job_id, r.task_id, r.task_type.0, opt(&r.finished_num), opt(&r.total_num))])
}

pub fn load_txn_begin(r: &TLoadTxnBeginRequest) -> TLoadTxnBeginResult {
    TLoadTxnBeginResult {
        status: ok_bare(),
        txn_id: Some(r.timestamp.unwrap_or(0) + 1),
        job_status: Some(r.label.clone()),
        db_id: r.table_id,
    }
}

pub fn load_txn_commit(r: &TLoadTxnCommitRequest) -> TLoadTxnCommitResult {
    let n = r.commit_infos.as_ref().map(Vec::len);
    TLoadTxnCommitResult { status: ok(vec![format!("{}.{}:{}:{}:{}", r.db, r.tbl, r.txn_id, r.sync, opt(&n))]) }
}

pub fn load_txn_pre_commit(r: &TLoadTxnCommitRequest) -> TLoadTxnCommitResult {
    TLoadTxnCommitResult { status: ok(vec![format!("precommit {}.{}:{}", r.db, r.tbl, r.txn_id)]) }
}

pub fn load_txn_2pc(r: &TLoadTxn2PCRequest) -> TLoadTxn2PCResult {
    TLoadTxn2PCResult { status: ok(vec![format!("{}:{}", opt(&r.txn_id), opt(&r.operation))]) }
}

pub fn get_auto_increment_range(r: &TAutoIncrementRangeRequest) -> TAutoIncrementRangeResult {
    TAutoIncrementRangeResult {
        status: Some(ok_bare()),
        start: Some(r.lower_bound.unwrap_or(0) + 1),
        length: r.length,
        master_address: Some(master_address()),
    }
}

pub fn load_txn_rollback(r: &TLoadTxnRollbackRequest) -> TLoadTxnRollbackResult {
    TLoadTxnRollbackResult { status: ok(vec![format!("{}:{}", r.txn_id, opt(&r.reason))]) }
}

pub fn confirm_unused_remote_files(r: &TConfirmUnusedRemoteFilesRequest) -> TConfirmUnusedRemoteFilesResult {
    TConfirmUnusedRemoteFilesResult {
        confirmed_tablets: r.confirm_list.as_ref().map(|l| l.iter().filter_map(|c| c.tablet_id).collect()),
    }
}

pub fn get_binlog(r: &TGetBinlogRequest) -> TGetBinlogResult {
    let binlog = TBinlog {
        commit_seq: r.prev_commit_seq,
        timestamp: Some(42),
        type_: Some(TBinlogType::UPSERT),
        db_id: r.table_id,
        table_ids: r.table_id.map(|t| vec![t]),
        data: r.user.clone(),
        belong: Some(-1),
        table_ref: Some(7),
        remove_enable_cache: Some(false),
    };
    TGetBinlogResult {
        status: Some(ok(vec![format!("{}.{}:{}", opt(&r.db), opt(&r.table), opt(&r.table_id))])),
        next_commit_seq: r.prev_commit_seq,
        binlogs: Some(vec![binlog]),
        fe_version: Some("fixture".to_string()),
        fe_meta_version: Some(129),
        master_address: Some(master_address()),
    }
}

pub fn get_binlog_lag(r: &TGetBinlogRequest) -> TGetBinlogLagResult {
    TGetBinlogLagResult {
        status: Some(ok(vec![format!("{}.{}", opt(&r.db), opt(&r.table))])),
        lag: r.prev_commit_seq,
        master_address: Some(master_address()),
    }
}

pub fn begin_txn(r: &TBeginTxnRequest) -> TBeginTxnResult {
    TBeginTxnResult {
        status: Some(ok_bare()),
        txn_id: r.timeout,
        job_status: r.label.clone(),
        db_id: r.backend_id,
        master_address: Some(master_address()),
        sub_txn_ids: r.table_ids.clone(),
    }
}

pub fn commit_txn(r: &TCommitTxnRequest) -> TCommitTxnResult {
    let n = r.commit_infos.as_ref().map(Vec::len);
    TCommitTxnResult {
        status: Some(ok(vec![format!("{}:{}:{}:{}", opt(&r.db), opt(&r.txn_id), opt(&n), opt(&r.txn_insert))])),
        master_address: Some(master_address()),
    }
}

pub fn rollback_txn(r: &TRollbackTxnRequest) -> TRollbackTxnResult {
    TRollbackTxnResult {
        status: Some(ok(vec![format!("{}:{}", opt(&r.txn_id), opt(&r.reason))])),
        master_address: Some(master_address()),
    }
}

pub fn ingest_binlog(r: &TIngestBinlogRequest) -> TIngestBinlogResult {
    TIngestBinlogResult {
        status: Some(ok(vec![format!(
            "{}:{}:{}:{}",
            opt(&r.remote_host),
            opt(&r.remote_port),
            opt(&r.remote_tablet_id),
            opt(&r.binlog_version)
        )])),
        is_async: Some(r.txn_id.is_some()),
    }
}

pub fn query_ingest_binlog(r: &TQueryIngestBinlogRequest) -> TQueryIngestBinlogResult {
    TQueryIngestBinlogResult {
        status: Some(TIngestBinlogStatus::OK),
        err_msg: Some(format!("{}:{}", opt(&r.txn_id), opt(&r.tablet_id))),
    }
}
