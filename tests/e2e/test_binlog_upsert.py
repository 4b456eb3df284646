"""End-to-end: a stream load into a table that keeps binlogs writes an UPSERT binlog at
publish, and the CCR syncer's getBinlog / getBinlogLag (thriftpy2, buffered transport as its
kitex client) read it on `doris-rs local`: the next entry after the reader's commit seq
with upstream's record JSON, BINLOG_TOO_NEW_COMMIT_SEQ once read, and the refusals
(unknown database or table, binlog off, wrong password). A full sync's snapshot carries the
commit seq the log continues after. The log survives a restart.
"""

import json
import signal

from ccr_support import Cluster, fe_thrift, status_code_name
from test_local_cluster import assert_stopped, clusters, pick_base  # noqa: F401 (fixture)

CREATE = (
    'CREATE TABLE src.{name} (k INT, v INT) DUPLICATE KEY(k) PARTITION BY RANGE(k) '
    '(PARTITION p1 VALUES LESS THAN ("10"), PARTITION p2 VALUES LESS THAN ("20")) '
    'DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1"{extra})'
)


def get_binlog(cluster, prev, db="src", table="t", passwd=""):
    ft = fe_thrift()
    c = cluster.frontend()
    try:
        req = ft.TGetBinlogRequest(user="root", passwd=passwd, db=db, table=table, prev_commit_seq=prev)
        return c.getBinlog(req), c.getBinlogLag(req)
    finally:
        c.close()


def test_a_load_is_read_back_as_an_upsert_binlog(clusters, tmp_path):
    base = pick_base(1)
    lc = clusters(tmp_path / "c", base, 1)
    src = Cluster(lc, lc.start())
    src.query("CREATE DATABASE src")
    src.query(CREATE.format(name="t", extra=', "binlog.enable" = "true"'))
    src.query(CREATE.format(name="plain", extra=""))
    # Nothing yet: the reader waits.
    res, lag = get_binlog(src, -1)
    assert status_code_name(res.status) == "BINLOG_TOO_NEW_COMMIT_SEQ", res
    assert lag.lag == 0
    data = tmp_path / "rows.csv"
    data.write_text("".join(f"{k},{k * 10}\n" for k in (1, 2, 15)))
    src.stream_load("src", "t", data, "load_1")
    res, lag = get_binlog(src, -1)
    assert status_code_name(res.status) == "OK", res
    assert lag.lag == 1
    [b] = res.binlogs
    assert b.type == 0 and b.commit_seq > 0 and res.next_commit_seq == b.commit_seq
    record = json.loads(b.data)
    assert record["commitSeq"] == b.commit_seq and record["label"] == "load_1" and record["dbId"] == b.db_id
    [(tid, rec)] = record["tableRecords"].items()
    assert b.table_ids == [int(tid)]
    parts = {p["range"]: p["version"] for p in rec["partitionRecords"]}
    # Both partitions got rows; the ranges are SHOW PARTITIONS' strings (the syncer pairs by them).
    shown = {r["Range"] for r in src.dicts("SHOW PARTITIONS FROM src.t")}
    assert set(parts) == shown and all(v == 2 for v in parts.values()), (parts, shown)
    assert len(rec["indexIds"]) == 1
    # Read past it: nothing newer.
    res, lag = get_binlog(src, b.commit_seq)
    assert status_code_name(res.status) == "BINLOG_TOO_NEW_COMMIT_SEQ" and not res.binlogs
    assert lag.lag == 0
    # A second load is the next entry.
    src.stream_load("src", "t", data, "load_2")
    res, _ = get_binlog(src, b.commit_seq)
    assert status_code_name(res.status) == "OK" and json.loads(res.binlogs[0].data)["label"] == "load_2"
    second = res.binlogs[0].commit_seq
    # A full sync's snapshot stands at a point of the log: its table_commit_seq_map seq is
    # past both loads (they are in the snapshot), and the next load is what follows it.
    src.rows('BACKUP SNAPSHOT src.s1 TO __keep_on_local__ ON (t) PROPERTIES ("type" = "full")')
    src.wait_job('SHOW BACKUP FROM src WHERE SnapshotName = "s1"', "BACKUP")
    ft = fe_thrift()
    c = src.frontend()
    try:
        snap = c.getSnapshot(ft.TGetSnapshotRequest(
            user="root", passwd="", db="src", table="t", label_name="s1", snapshot_name="",
            snapshot_type=ft.TSnapshotType.LOCAL, enable_compress=False))
    finally:
        c.close()
    seqs = json.loads(snap.job_info)["table_commit_seq_map"]
    [snap_seq] = seqs.values()
    assert snap_seq > second, (snap_seq, second)
    assert status_code_name(get_binlog(src, snap_seq)[0].status) == "BINLOG_TOO_NEW_COMMIT_SEQ"
    src.stream_load("src", "t", data, "load_after_snapshot")
    res, _ = get_binlog(src, snap_seq)
    assert json.loads(res.binlogs[0].data)["label"] == "load_after_snapshot"
    # A load into a table without binlogs writes none; reading it is refused.
    src.stream_load("src", "plain", data, "load_3")
    assert status_code_name(get_binlog(src, -1, table="plain")[0].status) == "BINLOG_DISABLE"
    assert status_code_name(get_binlog(src, -1, db="nope")[0].status) == "BINLOG_NOT_FOUND_DB"
    assert status_code_name(get_binlog(src, -1, table="nope")[0].status) == "BINLOG_NOT_FOUND_TABLE"
    assert status_code_name(get_binlog(src, -1, passwd="wrong")[0].status) != "OK"
    # The log survives a restart of the cluster.
    lc.send(signal.SIGTERM)
    assert_stopped(lc)
    lc = clusters(tmp_path / "c", base, 1)
    src = Cluster(lc, lc.start())
    res, lag = get_binlog(src, b.commit_seq)
    assert status_code_name(res.status) == "OK" and res.binlogs[0].commit_seq == second
    assert get_binlog(src, -1)[1].lag == 3
    lc.send(signal.SIGTERM)
    assert_stopped(lc)


def test_partition_ddl_is_logged_with_the_sql_to_replay(clusters, tmp_path):
    """ADD PARTITION, DROP PARTITION and TRUNCATE of a table that keeps binlogs each write
    their entry in order (upstream's type numbers and records), and do what they say:
    rows of a dropped or truncated partition are gone, a new partition takes loads."""
    lc = clusters(tmp_path / "c", pick_base(1), 1)
    src = Cluster(lc, lc.start())
    src.query("CREATE DATABASE src")
    src.query(CREATE.format(name="t", extra=', "binlog.enable" = "true"'))
    data = tmp_path / "rows.csv"
    data.write_text("".join(f"{k},{k * 10}\n" for k in (1, 2, 15)))
    src.stream_load("src", "t", data, "load_1")
    res, _ = get_binlog(src, -1)
    seq = res.binlogs[0].commit_seq

    def next_entry():
        nonlocal seq
        res, _ = get_binlog(src, seq)
        assert status_code_name(res.status) == "OK", res
        [b] = res.binlogs
        seq = b.commit_seq
        return b, json.loads(b.data)

    src.query('ALTER TABLE src.t ADD PARTITION p3 VALUES LESS THAN ("30") ("version_info" = "5")')
    b, rec = next_entry()
    assert b.type == 1 and rec["sql"] == 'ADD PARTITION `p3` VALUES [("20"), ("30")) ("version_info" = "5");', rec
    assert rec["partition"]["distributionInfo"]["bucketNum"] == 2 and not rec["isTempPartition"]
    parts = {r["PartitionName"]: r for r in src.dicts("SHOW PARTITIONS FROM src.t")}
    assert parts["p3"]["VisibleVersion"] == "5" and parts["p3"]["Range"].startswith("[types: [INT]; keys: [20]")
    data.write_text("25,250\n")
    src.stream_load("src", "t", data, "load_p3")
    b, rec = next_entry()
    assert b.type == 0 and [p["version"] for p in rec["tableRecords"][str(b.table_ids[0])]["partitionRecords"]] == [6]
    assert int(src.rows("SELECT COUNT(*) FROM src.t")[0][0]) == 4
    src.query("ALTER TABLE src.t DROP PARTITION p1")
    b, rec = next_entry()
    assert b.type == 3 and rec["sql"] == "DROP PARTITION `p1`" and rec["tableId"] == b.table_ids[0]
    assert sorted(r["PartitionName"] for r in src.dicts("SHOW PARTITIONS FROM src.t")) == ["p2", "p3"]
    src.query("TRUNCATE TABLE src.t PARTITIONS (p2)")
    b, rec = next_entry()
    assert b.type == 13 and rec["rawSql"] == "PARTITIONS (`p2`)" and rec["table"] == "t" and not rec["isEntireTable"]
    count = src.rows("SELECT COUNT(*) FROM src.t")[0][0]
    assert int(count) == 1, "only p3's row is left"
    src.query("TRUNCATE TABLE src.t")
    b, rec = next_entry()
    assert b.type == 13 and rec["isEntireTable"] and rec["rawSql"] == ""
    assert int(src.rows("SELECT COUNT(*) FROM src.t")[0][0]) == 0
    assert status_code_name(get_binlog(src, seq)[0].status) == "BINLOG_TOO_NEW_COMMIT_SEQ"
    # The database's log (db sync) also has the table's creation and, last, its drop.
    src.query("ALTER DATABASE src SET PROPERTIES (\"binlog.enable\" = \"true\")")
    res, _ = get_binlog(src, -1, table="")
    [created] = res.binlogs
    rec = json.loads(created.data)
    assert created.type == 2 and rec["tableName"] == "t" and rec["sql"].startswith("CREATE TABLE `t`"), rec
    src.query("DROP TABLE src.t")
    res, _ = get_binlog(src, seq, table="")
    [dropped] = res.binlogs
    assert dropped.type == 4 and json.loads(dropped.data)["tableName"] == "t"
