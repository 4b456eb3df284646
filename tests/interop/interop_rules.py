"""The fixture rules in Python: every reply is a function of its request.

The same rules as devtools/src/wire_peer/fixtures.rs (its module doc has the table); keep
the two in step. `ns` is a namespace of struct classes by name, from thriftpy2 or from
Apache Thrift's generated code, so one implementation serves both libraries.

Rendering inside strings: a missing optional value is `none`, a bool `true`/`false`, an
enum its number.
"""

import traceback

from interop_values import mk

OK = 0
PANIC_USER = "panic"
MASTER_HOST, MASTER_PORT = "master.example", 9020


def opt(v) -> str:
    if v is None:
        return "none"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def to_i32(v: int) -> int:
    """Rust's `as i32`: keep the low 32 bits, signed."""
    return (v + 2**31) % 2**32 - 2**31


def _ok(ns, msgs=None):
    return mk(ns.TStatus, status_code=OK, error_msgs=msgs)


def _master(ns):
    return mk(ns.TNetworkAddress, hostname=MASTER_HOST, port=MASTER_PORT)


def submit_tasks(ns, tasks):
    sigs = ",".join(str(t.signature) for t in tasks)
    return mk(ns.TAgentResult, status=_ok(ns), snapshot_path=f"sigs:{sigs}", snapshot_version=len(tasks))


def make_snapshot(ns, r):
    return mk(
        ns.TAgentResult,
        status=_ok(ns),
        snapshot_path=f"snap:{r.tablet_id}:{r.schema_hash}:{opt(r.version)}",
        allow_incremental_clone=r.allow_incremental_clone,
        snapshot_version=r.preferred_snapshot_version,
    )


def release_snapshot(ns, path):
    return mk(ns.TAgentResult, status=_ok(ns), snapshot_path=f"released:{path}")


def get_tablet_stat(ns):
    a = mk(ns.TTabletStat, tablet_id=10001, data_size=1024, row_count=7)
    b = mk(
        ns.TTabletStat,
        tablet_id=10002,
        data_size=2048,
        row_count=9,
        total_version_count=4,
        remote_data_size=0,
        visible_version_count=2,
        visible_version=3,
    )
    return mk(ns.TTabletStatResult, tablets_stats={10001: a, 10002: b}, tablet_stat_list=[a, b])


def heartbeat(ns, m):
    info = mk(
        ns.TBackendInfo,
        be_port=m.cluster_id,
        http_port=to_i32(m.epoch),
        be_rpc_port=m.network_address.port,
        brpc_port=m.http_port,
        version=m.token,
        be_start_time=m.backend_id,
        be_node_role=m.backend_ip,
    )
    return mk(ns.THeartbeatResult, status=_ok(ns, [m.network_address.hostname]), backend_info=info)


def _utf8(s):
    return None if s is None else s.encode("utf-8")


def get_snapshot(ns, r):
    return mk(
        ns.TGetSnapshotResult,
        status=_ok(ns),
        meta=_utf8(r.label_name),
        job_info=_utf8(r.snapshot_name),
        compressed=r.enable_compress,
        expiredAt=42,
        commit_seq=7,
    )


def restore_snapshot(ns, r):
    meta = "none" if r.meta is None else f"{len(r.meta)}:{sum(r.meta)}"
    job = "none" if r.job_info is None else str(len(r.job_info))
    tables = None if r.table_refs is None else ";".join(f"{opt(t.table)},{opt(t.alias_name)}" for t in r.table_refs)
    props = None if r.properties is None else ";".join(f"{k}={v}" for k, v in sorted(r.properties.items()))
    flags = ",".join(opt(x) for x in (r.clean_tables, r.clean_partitions, r.atomic_restore, r.compressed))
    msgs = [
        opt(r.label_name),
        f"meta:{meta}",
        f"job_info:{job}",
        f"tables:{opt(tables)}",
        f"props:{opt(props)}",
        f"flags:{flags}",
    ]
    addr = mk(ns.TNetworkAddress, hostname=opt(r.repo_name), port=len(r.table_refs or []))
    return mk(ns.TRestoreSnapshotResult, status=_ok(ns, msgs), master_address=addr)


def get_master_token(ns, r):
    """None for the magic user: the server side fails the call."""
    if r.user == PANIC_USER:
        return None
    return mk(
        ns.TGetMasterTokenResult,
        status=_ok(ns),
        token=f"token:{opt(r.cluster)}:{opt(r.user)}",
        master_address=_master(ns),
    )


def get_backend_meta(ns, r):
    be = mk(ns.TBackend, host=opt(r.user_ip), be_port=9060, http_port=8040, id=r.backend_id)
    return mk(ns.TGetBackendMetaResult, status=_ok(ns), backends=[be], master_address=_master(ns))


def get_meta(ns, r):
    db_meta = None
    if r.db is not None:
        tables = None
        if r.db.tables is not None:
            tables = [mk(ns.TGetMetaTableMeta, id=t.id, name=t.name, in_trash=t.in_trash) for t in r.db.tables]
        db_meta = mk(ns.TGetMetaDBMeta, id=r.db.id, name=r.db.name, tables=tables)
    return mk(ns.TGetMetaResult, status=_ok(ns), db_meta=db_meta)


def finish_task(ns, r):
    files = None if r.tablet_files is None else sum(len(v) for v in r.tablet_files.values())
    downloaded = None if r.downloaded_tablet_ids is None else ",".join(str(i) for i in r.downloaded_tablet_ids)
    msgs = [
        f"{r.signature}:{r.task_type}",
        f"{r.backend.host}:{r.backend.be_port}",
        f"status:{r.task_status.status_code}",
        f"snapshot:{opt(r.snapshot_path)}",
        f"files:{opt(files)}",
        f"downloaded:{opt(downloaded)}",
    ]
    return mk(ns.TMasterResult, status=_ok(ns, msgs))


def report(ns, r):
    tasks = None if r.tasks is None else sum(len(s) for s in r.tasks.values())
    disks = None if r.disks is None else ",".join(sorted(r.disks))
    tablets = None if r.tablets is None else len(r.tablets)
    msgs = [
        r.backend.host,
        f"version:{opt(r.report_version)}",
        f"tasks:{opt(tasks)}",
        f"tablets:{opt(tablets)}",
        f"disks:{opt(disks)}",
    ]
    return mk(ns.TMasterResult, status=_ok(ns, msgs))


def snapshot_loader_report(ns, r):
    return _ok(ns, [f"{r.job_id}:{r.task_id}:{r.task_type}:{opt(r.finished_num)}/{opt(r.total_num)}"])


def load_txn_begin(ns, r):
    ts = r.timestamp if r.timestamp is not None else 0
    return mk(ns.TLoadTxnBeginResult, status=_ok(ns), txnId=ts + 1, job_status=r.label, db_id=r.table_id)


def load_txn_commit(ns, r):
    n = None if r.commitInfos is None else len(r.commitInfos)
    return mk(ns.TLoadTxnCommitResult, status=_ok(ns, [f"{r.db}.{r.tbl}:{r.txnId}:{opt(r.sync)}:{opt(n)}"]))


def load_txn_rollback(ns, r):
    return mk(ns.TLoadTxnRollbackResult, status=_ok(ns, [f"{r.txnId}:{opt(r.reason)}"]))


def load_txn_pre_commit(ns, r):
    return mk(ns.TLoadTxnCommitResult, status=_ok(ns, [f"precommit {r.db}.{r.tbl}:{r.txnId}"]))


def load_txn_2pc(ns, r):
    return mk(ns.TLoadTxn2PCResult, status=_ok(ns, [f"{opt(r.txnId)}:{opt(r.operation)}"]))


def get_auto_increment_range(ns, r):
    return mk(
        ns.TAutoIncrementRangeResult,
        status=_ok(ns),
        start=(r.lower_bound or 0) + 1,
        length=r.length,
        master_address=_master(ns),
    )


def confirm_unused_remote_files(ns, r):
    confirmed = None
    if r.confirm_list is not None:
        confirmed = [c.tablet_id for c in r.confirm_list if c.tablet_id is not None]
    return mk(ns.TConfirmUnusedRemoteFilesResult, confirmed_tablets=confirmed)


def get_binlog(ns, r):
    binlog = mk(
        ns.TBinlog,
        commit_seq=r.prev_commit_seq,
        timestamp=42,
        type=0,
        db_id=r.table_id,
        table_ids=None if r.table_id is None else [r.table_id],
        data=r.user,
        belong=-1,
        table_ref=7,
        remove_enable_cache=False,
    )
    return mk(
        ns.TGetBinlogResult,
        status=_ok(ns, [f"{opt(r.db)}.{opt(r.table)}:{opt(r.table_id)}"]),
        next_commit_seq=r.prev_commit_seq,
        binlogs=[binlog],
        fe_version="fixture",
        fe_meta_version=129,
        master_address=_master(ns),
    )


def get_binlog_lag(ns, r):
    return mk(
        ns.TGetBinlogLagResult,
        status=_ok(ns, [f"{opt(r.db)}.{opt(r.table)}"]),
        lag=r.prev_commit_seq,
        master_address=_master(ns),
    )


def begin_txn(ns, r):
    return mk(
        ns.TBeginTxnResult,
        status=_ok(ns),
        txn_id=r.timeout,
        job_status=r.label,
        db_id=r.backend_id,
        master_address=_master(ns),
        sub_txn_ids=r.table_ids,
    )


def commit_txn(ns, r):
    n = None if r.commit_infos is None else len(r.commit_infos)
    return mk(
        ns.TCommitTxnResult,
        status=_ok(ns, [f"{opt(r.db)}:{opt(r.txn_id)}:{opt(n)}:{opt(r.txn_insert)}"]),
        master_address=_master(ns),
    )


def rollback_txn(ns, r):
    return mk(ns.TRollbackTxnResult, status=_ok(ns, [f"{opt(r.txn_id)}:{opt(r.reason)}"]), master_address=_master(ns))


def ingest_binlog(ns, r):
    msg = f"{opt(r.remote_host)}:{opt(r.remote_port)}:{opt(r.remote_tablet_id)}:{opt(r.binlog_version)}"
    return mk(ns.TIngestBinlogResult, status=_ok(ns, [msg]), is_async=r.txn_id is not None)


def query_ingest_binlog(ns, r):
    return mk(ns.TQueryIngestBinlogResult, status=3, err_msg=f"{opt(r.txn_id)}:{opt(r.tablet_id)}")


# Method name on the wire -> (rule, service).
FE_RULES = {
    "getSnapshot": get_snapshot,
    "restoreSnapshot": restore_snapshot,
    "getMasterToken": get_master_token,
    "getBackendMeta": get_backend_meta,
    "getMeta": get_meta,
    "finishTask": finish_task,
    "report": report,
    "snapshotLoaderReport": snapshot_loader_report,
    "loadTxnBegin": load_txn_begin,
    "loadTxnCommit": load_txn_commit,
    "loadTxnRollback": load_txn_rollback,
    "loadTxnPreCommit": load_txn_pre_commit,
    "loadTxn2PC": load_txn_2pc,
    "getAutoIncrementRange": get_auto_increment_range,
    "confirmUnusedRemoteFiles": confirm_unused_remote_files,
    "getBinlog": get_binlog,
    "getBinlogLag": get_binlog_lag,
    "beginTxn": begin_txn,
    "commitTxn": commit_txn,
    "rollbackTxn": rollback_txn,
}
BE_RULES = {
    "submit_tasks": submit_tasks,
    "make_snapshot": make_snapshot,
    "release_snapshot": release_snapshot,
    "get_tablet_stat": get_tablet_stat,
    "ingest_binlog": ingest_binlog,
    "query_ingest_binlog": query_ingest_binlog,
}
HB_RULES = {"heartbeat": heartbeat}


# ---- What `doris-rs wire-peer call` sends (devtools/src/wire_peer/call.rs), checked by our servers.

BIG_META = bytes((i * 131 + 200) % 256 for i in range(1 << 20))


def _check_finish_task(r):
    assert (r.signature, r.task_type) == (8_000_000_001, 8)
    assert (r.backend.host, r.backend.be_port, r.backend.http_port, r.backend.id) == ("be-hôst-1", 9060, 8040, 10001)
    assert r.task_status.error_msgs == ["fine", "ça va"]
    assert [t.tablet_id for t in r.finish_tablet_infos] == [20001, 20002]
    t = r.finish_tablet_infos[0]
    assert (t.cooldown_meta_id.hi, t.cooldown_meta_id.lo, t.is_persistent, t.path_hash) == (1, 2, True, -77)
    assert r.tablet_files == {20001: ["a.dat", "b.idx"], 20002: ["c.dat"]}
    assert r.table_id_to_tablet_id_to_delta_num_rows == {1001: {20001: 3, 20002: 2}, 1002: {20003: -5}}
    assert r.succ_tablets == {20001: 12, 20002: 13}
    assert r.copy_size == 1 << 33
    assert r.resp_partitions[0].tablet_ids == [20001, 20002]


def _check_report(r):
    # Sets decode as lists in thriftpy2 and as sets in Apache Thrift.
    assert {k: set(v) for k, v in r.tasks.items()} == {11: {1, 2, 3}, 12: {4}}
    assert sorted(r.disks) == ["/data1", "/données2"]
    assert r.disks["/données2"].disk_total_capacity == 1 << 40
    assert sorted(r.tablets) == [20001, 20003]
    assert [i.tablet_id for i in r.tablets[20003].tablet_infos] == [20003, 20004]
    p = r.resource[0].s3_storage_param
    assert (p.provider, p.use_path_style, p.bucket) == (1, True, "bucket")
    assert (r.num_cores, r.pipeline_executor_size) == (8, 16)
    assert r.partitions_version == {3001: 12, 3002: 4}


def _check_restore(r):
    assert r.meta == BIG_META
    assert r.job_info == b"\xff\xfe\x00\x80{}"
    assert r.properties == {"reserve_replica": "true", "backup_timestamp": "2025-01-01-00-00-00"}
    assert [(t.table, t.alias_name) for t in r.table_refs] == [("tbl", "tbl_alias"), ("tbl2", None)]
    assert (r.clean_tables, r.clean_partitions, r.atomic_restore, r.compressed) == (True, False, True, False)


def _check_heartbeat(m):
    assert (m.network_address.hostname, m.cluster_id, m.epoch) == ("fe-hôst", 123456, 9)
    assert m.token == "cluster-token-✓"
    assert m.frontend_infos[0].process_uuid == -42
    assert m.tablet_report_inactive_duration_ms == 60000


def _check_submit_tasks(tasks):
    assert [(t.signature, t.task_type) for t in tasks] == [(7001, 8), (7002, 9), (7003, 12), (7004, 3)]
    assert tasks[0].snapshot_req.missing_version == [10, 11]
    assert tasks[1].release_snapshot_req.snapshot_path == "/snap/ä"
    d = tasks[2].download_req
    assert d.src_dest_map == {"src1": "dst1", "src2": "dst2"}
    assert d.remote_tablet_snapshots[0].remote_be_addr.hostname == "remote-be"
    c = tasks[3].clone_req
    assert (c.tablet_id, c.version, c.replica_id, c.table_id) == (20001, 12, 40001, 60001)
    assert [(b.host, b.be_port, b.id) for b in c.src_backends] == [("src-bé-1", 9060, 10001), ("src-be-2", 9061, 10002)]


CALL_EXPECT = {
    "finishTask": _check_finish_task,
    "report": _check_report,
    "snapshotLoaderReport": lambda r: (r.job_id, r.task_id, r.task_type, r.finished_num, r.total_num)
    == (9001, 9002, 12, 3, 5)
    or _fail("snapshotLoaderReport", r),
    "getSnapshot": lambda r: (r.label_name, r.snapshot_name, r.snapshot_type, r.enable_compress)
    == ("label_çcr_1", "snap_日本", 1, True)
    or _fail("getSnapshot", r),
    "restoreSnapshot": _check_restore,
    "getMasterToken": lambda r: (r.cluster, r.user) == ("default_cluster", "syncer") or _fail("getMasterToken", r),
    "getBackendMeta": lambda r: (r.user_ip, r.backend_id) == ("10.0.0.9", 10001) or _fail("getBackendMeta", r),
    "getMeta": lambda r: [t.name for t in r.db.tables] == ["t1", "t2"] or _fail("getMeta", r),
    "loadTxnBegin": lambda r: (r.label, r.request_id.hi, r.request_id.lo) == ("load_é_1", -3, 4)
    or _fail("loadTxnBegin", r),
    "loadTxnCommit": lambda r: (r.txnId, r.sync, [c.tabletId for c in r.commitInfos]) == (77, True, [20001, 20002])
    or _fail("loadTxnCommit", r),
    "loadTxnRollback": lambda r: (r.txnId, r.reason) == (78, "user cancel ✗") or _fail("loadTxnRollback", r),
    "confirmUnusedRemoteFiles": lambda r: [(c.tablet_id, c.cooldown_meta_id.lo) for c in r.confirm_list]
    == [(20001, -20001), (20002, -20002)]
    or _fail("confirmUnusedRemoteFiles", r),
    "heartbeat": _check_heartbeat,
    "submit_tasks": _check_submit_tasks,
    "make_snapshot": lambda r: (r.tablet_id, r.ref_tablet_id, r.missing_version) == (20001, 20009, [10, 11])
    or _fail("make_snapshot", r),
    "release_snapshot": lambda p: p == "/data/snapshot/ä/20001" or _fail("release_snapshot", p),
    "get_tablet_stat": lambda: None,
}


def _fail(method, r):
    raise AssertionError(f"{method} got an unexpected request: {r!r}")


class FixtureHandler:
    """Serves FrontendService, HeartbeatService and BackendService by the rules, checking
    each request against CALL_EXPECT. Failures are kept (a server thread's exception would
    only show up as a broken call on the other side)."""

    def __init__(self, ns):
        self.ns = ns
        self.calls = []
        self.failures = []

    def _serve(self, method, rule, *args):
        self.calls.append(method)
        try:
            CALL_EXPECT[method](*args)
        except AssertionError:
            self.failures.append(f"{method}: {traceback.format_exc(limit=-1)}")
            raise
        reply = rule(self.ns, *args)
        if reply is None:
            raise RuntimeError(f"{method}: the fixture asked for a failure")
        return reply


def _add_methods():
    for table in (FE_RULES, HB_RULES, BE_RULES):
        for method, rule in table.items():

            def handler(self, *args, _m=method, _r=rule):
                return self._serve(_m, _r, *args)

            setattr(FixtureHandler, method, handler)


_add_methods()
