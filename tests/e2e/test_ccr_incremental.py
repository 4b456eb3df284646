"""End-to-end CCR incremental sync between two `doris-rs local` clusters.

`test_syncer_sequence_by_hand` plays the CCR syncer's table-sync sequence with thriftpy2 and
pymysql: job start checks, full sync (ccr-sync), then for a stream load on the source:
getBinlog -> getMeta on both sides (partitions by range, tablets by ascending id) ->
beginTxn -> BackendService ingest_binlog on the target BE -> query_ingest_binlog ->
commitTxn; rows equal after it. Bad input on the way: an ingest from a wrong source address
fails with a message and leaves nothing (the txn rolls back, the rows are unchanged), a
commit naming a foreign transaction is refused.

`test_follow_keeps_the_target_in_step` runs `doris-rs ccr-sync --follow` through stream
loads, a DELETE, ADD/DROP PARTITION and TRUNCATE on the source, restarts of the target cluster and of
the follower in the middle, and binlog GC behind the follower (TOO_OLD -> a new full sync);
the rows of both clusters are compared after each step.
"""

import json
import signal
import subprocess
import time

from ccr_support import Cluster, dat_files, fe_thrift, status_code_name
from test_local_cluster import assert_stopped, clusters, pick_base  # noqa: F401 (fixture)

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.transport import TFramedTransportFactory

from ccr_support import THRIFT_DIR

CREATE = (
    'CREATE TABLE src.t (k INT, v INT) DUPLICATE KEY(k) PARTITION BY RANGE(k) '
    '(PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200")) '
    'DISTRIBUTED BY HASH(k) BUCKETS 3 PROPERTIES ("replication_num" = "1", "binlog.enable" = "true"{extra})'
)

_be_thrift = None


def be_thrift():
    global _be_thrift
    if _be_thrift is None:
        _be_thrift = thriftpy2.load(str(THRIFT_DIR / "BackendService.thrift"), module_name="ccr_BackendService_thrift",
                                    include_dirs=[str(THRIFT_DIR)])
    return _be_thrift


def backend_client(port):
    bt = be_thrift()
    return make_client(bt.BackendService, "127.0.0.1", port, timeout=120_000,
                       proto_factory=TBinaryProtocolFactory(), trans_factory=TFramedTransportFactory())


def rows(c, db="src"):
    return [tuple(int(x) for x in r) for r in c.rows(f"SELECT k, v FROM {db}.t ORDER BY k, v")]


def load(c, tmp_path, label, keys):
    data = tmp_path / f"{label}.csv"
    data.write_text("".join(f"{k},{k * 10}\n" for k in keys))
    c.stream_load("src", "t", data, label)


def ccr_sync(doris_rs_bin, src, dst, tmp_path, *extra):
    cmd = [doris_rs_bin, "ccr-sync", "--src", f"127.0.0.1:{src.lc.query_port}", "--src-rpc", f"127.0.0.1:{src.fe_rpc}",
           "--dst", f"127.0.0.1:{dst.lc.query_port}", "--dst-rpc", f"127.0.0.1:{dst.fe_rpc}", "--db", "src",
           "--table", "t", "--timeout", "300", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def follow(doris_rs_bin, src, dst, tmp_path):
    return ccr_sync(doris_rs_bin, src, dst, tmp_path, "--follow", "--exit-when-caught-up", "--poll-ms", "100",
                    "--state", str(tmp_path / "follow.redb"))


def start_pair(clusters, tmp_path):
    base = pick_base(1, neighbour=(100, 1))
    src_lc = clusters(tmp_path / "src", base, 1)
    src = Cluster(src_lc, src_lc.start())
    dst_lc = clusters(tmp_path / "dst", base + 100, 1)
    dst = Cluster(dst_lc, dst_lc.start())
    return base, src, dst


def meta(cluster, db, table):
    ft = fe_thrift()
    c = cluster.frontend()
    try:
        r = c.getMeta(ft.TGetMetaRequest(user="root", passwd="", db=ft.TGetMetaDB(
            name=db, tables=[ft.TGetMetaTable(name=table)])))
        assert status_code_name(r.status) == "OK", r
        return r.db_meta.tables[0]
    finally:
        c.close()


def test_syncer_sequence_by_hand(clusters, doris_rs_bin, tmp_path):
    _, src, dst = start_pair(clusters, tmp_path)
    src.query("CREATE DATABASE src")
    src.query(CREATE.format(extra=""))
    load(src, tmp_path, "l1", range(0, 150, 3))
    ccr_sync(doris_rs_bin, src, dst, tmp_path)
    assert rows(dst) == rows(src)
    # The full sync's point: the last binlog its snapshot includes is the load above.
    ft = fe_thrift()
    sfe, dfe = src.frontend(), dst.frontend()
    try:
        first = sfe.getBinlog(ft.TGetBinlogRequest(user="root", passwd="", db="src", table="t", prev_commit_seq=-1))
        snap_seq = first.binlogs[0].commit_seq
        load(src, tmp_path, "l2", [7, 150, 151])
        got = sfe.getBinlog(ft.TGetBinlogRequest(user="root", passwd="", db="src", table="t", prev_commit_seq=snap_seq))
        assert status_code_name(got.status) == "OK"
        [b] = got.binlogs
        assert b.type == 0
        record = json.loads(b.data)
        [(src_tid, trec)] = record["tableRecords"].items()
        sm, dm = meta(src, "src", "t"), meta(dst, "src", "t")
        by_range = {p.range: p for p in dm.partitions}
        src_be = {int(r["BackendId"]): r for r in src.dicts("SHOW BACKENDS")}
        dst_be = {int(r["BackendId"]): r for r in dst.dicts("SHOW BACKENDS")}

        def begin(label):
            r = dfe.beginTxn(ft.TBeginTxnRequest(user="root", passwd="", db="src", table_ids=[dm.id], label=label))
            assert status_code_name(r.status) == "OK", r
            return r.txn_id

        def plan(txn_id, remote_port=None):
            """(backend client port, TIngestBinlogRequest, commit info) for every target replica."""
            bt = be_thrift()
            out = []
            for pr in trec["partitionRecords"]:
                sp = next(p for p in sm.partitions if p.id == pr["partitionId"])
                dp = by_range[pr["range"]]
                assert sp.range == dp.range
                st = sorted(sp.indexes[0].tablets, key=lambda t: t.id)
                dt = sorted(dp.indexes[0].tablets, key=lambda t: t.id)
                assert len(st) == len(dt) == 3
                for s, d in zip(st, dt):
                    remote = src_be[s.replicas[0].backend_id]
                    for r in d.replicas:
                        req = bt.TIngestBinlogRequest(
                            txn_id=txn_id, remote_tablet_id=s.id, binlog_version=pr["version"], remote_host="127.0.0.1",
                            remote_port=str(remote_port or remote["HttpPort"]), partition_id=dp.id, local_tablet_id=d.id,
                            load_id=bt.Types.TUniqueId(hi=-1, lo=-1))
                        out.append((int(dst_be[r.backend_id]["BePort"]), req,
                                    ft.Types.TTabletCommitInfo(tabletId=d.id, backendId=r.backend_id)))
            return out

        def ingest(reqs):
            bt = be_thrift()
            statuses = []
            for port, req, _ in reqs:
                c = backend_client(port)
                try:
                    r = c.ingest_binlog(req)
                    assert r.status.status_code == 0, r
                    q = bt.TQueryIngestBinlogRequest(txn_id=req.txn_id, partition_id=req.partition_id,
                                                     tablet_id=req.local_tablet_id, load_id=req.load_id)
                    deadline = time.time() + 120
                    while True:
                        res = c.query_ingest_binlog(q)
                        if res.status != bt.TIngestBinlogStatus.DOING or time.time() > deadline:
                            break
                        time.sleep(0.05)
                    statuses.append((res.status, res.err_msg))
                finally:
                    c.close()
            return statuses

        bt = be_thrift()
        # A wrong source address: every ingest fails with a message; rolled back, nothing shows.
        bad = begin("ccr_bad")
        statuses = ingest(plan(bad, remote_port=1))
        assert statuses and all(s == bt.TIngestBinlogStatus.FAILED and m for s, m in statuses), statuses
        r = dfe.rollbackTxn(ft.TRollbackTxnRequest(user="root", passwd="", db="src", txn_id=bad, reason="ingest failed"))
        assert status_code_name(r.status) == "OK"
        assert rows(dst) != rows(src) and len(rows(dst)) == 50
        # The syncer's sequence: begin, ingest every replica, commit.
        txn = begin(f"ccr_{b.commit_seq}")
        reqs = plan(txn)
        assert all(s == bt.TIngestBinlogStatus.OK for s, _ in ingest(reqs))
        # A foreign transaction id is refused; the real one commits.
        r = dfe.commitTxn(ft.TCommitTxnRequest(user="root", passwd="", db="src", txn_id=txn + 999_999,
                                               commit_infos=[c for _, _, c in reqs]))
        assert status_code_name(r.status) != "OK" and "not found" in " ".join(r.status.error_msgs)
        r = dfe.commitTxn(ft.TCommitTxnRequest(user="root", passwd="", db="src", txn_id=txn,
                                               commit_infos=[c for _, _, c in reqs]))
        assert status_code_name(r.status) == "OK", r
        assert rows(dst) == rows(src) and len(rows(src)) == 53
        [row] = dst.dicts(f"SHOW TRANSACTION FROM src WHERE id = {txn}")
        assert row["TransactionStatus"] == "VISIBLE"
        # The target's partitions moved one version, as the source's did.
        assert [p.visible_version for p in meta(dst, "src", "t").partitions] == [3, 3]
        # Tablets paired by ascending id hold the same bucket: each target tablet's segment
        # files (restored, then ingested) are byte for byte its source tablet's.
        si, di = src.be_index(), dst.be_index()
        sm, dm = meta(src, "src", "t"), meta(dst, "src", "t")
        ingested = 0
        for sp in sm.partitions:
            dp = next(p for p in dm.partitions if p.range == sp.range)
            pairs = zip(sorted(sp.indexes[0].tablets, key=lambda t: t.id), sorted(dp.indexes[0].tablets, key=lambda t: t.id))
            for s, d in pairs:
                src_files = dat_files(src.tablet_dir(si[s.replicas[0].backend_id], s.id))
                dst_files = dat_files(dst.tablet_dir(di[d.replicas[0].backend_id], d.id))
                assert sorted(src_files.values()) == sorted(dst_files.values()), (s.id, d.id)
                ingested += len(src_files) == 2
        assert ingested >= 2, "some tablets got rows of both loads"
    finally:
        sfe.close()
        dfe.close()


def test_follow_keeps_the_target_in_step(clusters, doris_rs_bin, tmp_path):
    base, src, dst = start_pair(clusters, tmp_path)
    src.query("CREATE DATABASE src")
    src.query(CREATE.format(extra=""))
    load(src, tmp_path, "l1", range(0, 150, 3))
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert "full sync" in out and "caught up" in out, out
    assert rows(dst) == rows(src)

    # Loads: applied as UPSERTs through ingest_binlog.
    load(src, tmp_path, "l2", [1, 2, 160])
    load(src, tmp_path, "l3", [4, 199])
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert out.count("UPSERT: txn") == 2, out
    assert rows(dst) == rows(src)

    # A DELETE: its predicate rowset is ingested as a load's rowsets are.
    src.query("DELETE FROM src.t WHERE k IN (1, 4, 160)")
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert out.count("UPSERT: txn") == 1, out
    assert rows(dst) == rows(src) and not {1, 4, 160} & {k for k, _ in rows(dst)}

    # Partition DDL replayed from the records' sql.
    src.query('ALTER TABLE src.t ADD PARTITION p3 VALUES LESS THAN ("300")')
    load(src, tmp_path, "l4", [250, 251, 5])
    src.query("ALTER TABLE src.t DROP PARTITION p1")
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert "ADD_PARTITION: ALTER TABLE `t` ADD PARTITION `p3`" in out and "DROP_PARTITION" in out, out
    assert rows(dst) == rows(src) and min(k for k, _ in rows(dst)) >= 100
    parts = lambda c: {r["PartitionName"]: r["Range"] for r in c.dicts("SHOW PARTITIONS FROM src.t")}  # noqa: E731
    assert parts(dst) == parts(src)

    # The target cluster restarts in the middle: nothing is lost.
    load(src, tmp_path, "l5", [120, 121])
    dst.lc.send(signal.SIGTERM)
    assert_stopped(dst.lc)
    dst_lc = clusters(tmp_path / "dst", base + 100, 1)
    dst = Cluster(dst_lc, dst_lc.start())
    src.query("TRUNCATE TABLE src.t PARTITIONS (p2)")
    load(src, tmp_path, "l6", [130])
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert "TRUNCATE_TABLE: TRUNCATE TABLE `t` PARTITIONS (`p2`)" in out, out
    assert rows(dst) == rows(src) and (130, 1300) in rows(dst)

    # The source cluster restarts with entries still unread: its log is durable.
    load(src, tmp_path, "l6b", [131, 132])
    src.lc.send(signal.SIGTERM)
    assert_stopped(src.lc)
    src_lc = clusters(tmp_path / "src", base, 1)
    src = Cluster(src_lc, src_lc.start())
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert out.count("UPSERT: txn") == 1, out
    assert rows(dst) == rows(src) and (132, 1320) in rows(dst)

    # The follower is killed mid-way and resumes from its store: applied once, no gaps.
    load(src, tmp_path, "l7", [140])
    load(src, tmp_path, "l8", [141])
    cmd = [doris_rs_bin, "ccr-sync", "--src", f"127.0.0.1:{src.lc.query_port}", "--src-rpc", f"127.0.0.1:{src.fe_rpc}",
           "--dst", f"127.0.0.1:{dst.lc.query_port}", "--dst-rpc", f"127.0.0.1:{dst.fe_rpc}", "--db", "src",
           "--table", "t", "--follow", "--poll-ms", "100", "--state", str(tmp_path / "follow.redb")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    first = p.stdout.readline()
    assert "resuming" in first, first
    p.kill()
    p.wait()
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert rows(dst) == rows(src)

    # Binlog GC behind the follower: TOO_OLD, and a new full sync catches up.
    src.query('ALTER TABLE src.t SET ("binlog.max_history_nums" = "1")')
    load(src, tmp_path, "l9", [142])
    load(src, tmp_path, "l10", [143])
    ft = fe_thrift()
    deadline = time.time() + 60
    while True:
        c = src.frontend()
        try:
            r = c.getBinlog(ft.TGetBinlogRequest(user="root", passwd="", db="src", table="t", prev_commit_seq=0))
        finally:
            c.close()
        if status_code_name(r.status) == "BINLOG_TOO_OLD_COMMIT_SEQ":
            assert r.binlogs[0].type == 7
            break
        assert time.time() < deadline, "binlogs were not collected"
        time.sleep(0.5)
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert "was collected on the source: new full sync" in out, out
    assert rows(dst) == rows(src) and (143, 1430) in rows(dst)


def test_follow_db_sync_creates_and_drops_tables(clusters, doris_rs_bin, tmp_path):
    """Db sync (no --table): the database's log, with CREATE_TABLE and DROP_TABLE replayed."""
    _, src, dst = start_pair(clusters, tmp_path)
    src.query('CREATE DATABASE src PROPERTIES ("binlog.enable" = "true")')
    src.query(CREATE.format(extra=""))
    load(src, tmp_path, "a1", range(0, 200, 7))
    cmd = [doris_rs_bin, "ccr-sync", "--src", f"127.0.0.1:{src.lc.query_port}", "--src-rpc", f"127.0.0.1:{src.fe_rpc}",
           "--dst", f"127.0.0.1:{dst.lc.query_port}", "--dst-rpc", f"127.0.0.1:{dst.fe_rpc}", "--db", "src",
           "--follow", "--exit-when-caught-up", "--poll-ms", "100", "--state", str(tmp_path / "db.redb")]

    def follow_db():
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    follow_db()
    assert rows(dst) == rows(src)
    src.query(CREATE.format(extra="").replace("src.t ", "src.t2 "))
    data = tmp_path / "t2.csv"
    data.write_text("5,50\n105,1050\n")
    src.stream_load("src", "t2", data, "b1")
    load(src, tmp_path, "a2", [3, 4])
    src.query("DROP TABLE src.t")
    out = follow_db()
    assert "CREATE_TABLE: CREATE_TABLE t2" in out and "DROP_TABLE: DROP_TABLE t" in out, out
    assert [r[0] for r in dst.rows("SHOW TABLES FROM src")] == ["t2"]
    assert sorted(tuple(int(x) for x in r) for r in dst.rows("SELECT k, v FROM src.t2")) == [(5, 50), (105, 1050)]
    # A rename is replayed; a load from before it, applied after the source renamed the
    # table, still finds its target table (tables are followed by id).
    data.write_text("7,70\n")
    src.stream_load("src", "t2", data, "b1b")
    src.query("ALTER TABLE src.t2 RENAME t3")
    data.write_text("6,60\n")
    src.stream_load("src", "t3", data, "b2")
    out = follow_db()
    assert "RENAME_TABLE: ALTER TABLE `t2` RENAME `t3`" in out, out
    assert [r[0] for r in dst.rows("SHOW TABLES FROM src")] == ["t3"]
    assert sorted(tuple(int(x) for x in r) for r in dst.rows("SELECT k, v FROM src.t3")) == [(5, 50), (6, 60), (7, 70), (105, 1050)]


def test_light_schema_change_is_read_and_replayed(clusters, doris_rs_bin, tmp_path):
    """ADD COLUMN / DROP COLUMN change only the schema: rows loaded before read the new
    column's default, rows after carry it; the follower replays the statement from the
    MODIFY_TABLE_ADD_OR_DROP_COLUMNS record and ingests rowsets of both schemas."""
    _, src, dst = start_pair(clusters, tmp_path)
    src.query("CREATE DATABASE src")
    src.query(CREATE.format(extra=""))
    load(src, tmp_path, "s1", [1, 150])
    follow(doris_rs_bin, src, dst, tmp_path)

    def all_rows(c):
        return [tuple(None if x is None else int(x) for x in r) for r in c.rows("SELECT * FROM src.t ORDER BY k")]

    src.query('ALTER TABLE src.t ADD COLUMN c INT DEFAULT "7"')
    assert [r[0] for r in src.rows("SHOW CREATE TABLE src.t")] == ["t"]
    assert all_rows(src) == [(1, 10, 7), (150, 1500, 7)], "rows from before read the default"
    data = tmp_path / "c.csv"
    data.write_text("2,20,200\n160,1600,\\N\n")
    src.stream_load("src", "t", data, "s2")
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert "MODIFY_TABLE_ADD_OR_DROP_COLUMNS: ALTER TABLE `t` ADD COLUMN `c` int NULL DEFAULT \"7\"" in out, out
    assert all_rows(src) == [(1, 10, 7), (2, 20, 200), (150, 1500, 7), (160, 1600, None)]
    assert all_rows(dst) == all_rows(src)

    src.query("ALTER TABLE src.t DROP COLUMN v")
    data.write_text("3,300\n")
    src.stream_load("src", "t", data, "s3")
    out = follow(doris_rs_bin, src, dst, tmp_path)
    assert "DROP COLUMN `v`" in out, out
    assert all_rows(src) == [(1, 7), (2, 200), (3, 300), (150, 7), (160, None)]
    assert all_rows(dst) == all_rows(src)
