"""End-to-end CCR full sync between two `doris-rs local` clusters (3 BEs each), driven the way
selectdb/ccr-syncer drives it: BACKUP SNAPSHOT to __keep_on_local__ on the source, SHOW BACKUP
until FINISHED, getSnapshot over thrift, the syncer's extra_info (source BEs' http addresses
and the source token) put into job_info, restoreSnapshot on the target with
reserve_replica, SHOW RESTORE until FINISHED.

Checks the rows (COUNT(*) and every row), the target tablets' segment bytes against the
source snapshot's files per (partition, bucket), and that both clusters stay healthy.
"""

import datetime
import gzip
import json
import os
import random
import re
import signal
import time
from decimal import Decimal

from ccr_support import Cluster, dat_files, fe_thrift, status_code_name
from test_local_cluster import assert_backends_alive, assert_stopped, clusters, pick_base  # noqa: F401 (fixture)

BES = 3
SRC_DB, DST_DB = "ccr_src", "ccr_dst"
LABEL = "ccr_full_1"
ROWS = 100_000
PARTITIONS = ("p1", "p2", "p3")
BUCKETS = 8
NULL = "\\N"
# <rowset_id>_<segment>.dat, rowset ids as our BEs make them ("02" + 32 hex digits).
ROWSET_FILE = re.compile(r"02[0-9a-f]{32}_\d+\.dat")

CREATE = f"""CREATE TABLE {SRC_DB}.t (
  k INT NOT NULL, bi BIGINT, v VARCHAR(32), amt DECIMAL(12, 2), d DATE, dt DATETIME
) DUPLICATE KEY(k)
PARTITION BY RANGE(k) (
  PARTITION p1 VALUES LESS THAN ("30000"),
  PARTITION p2 VALUES LESS THAN ("65000"),
  PARTITION p3 VALUES LESS THAN ("200000"))
DISTRIBUTED BY HASH(k) BUCKETS {BUCKETS} PROPERTIES ("replication_num" = "3")"""


def make_rows(n, seed, start=0):
    rnd = random.Random(seed)
    out = []
    for k in range(start, start + n):
        v = None if k % 89 == 0 else f"name-{rnd.randrange(10**6)}"
        amt = Decimal(rnd.randrange(-10**9, 10**9)) / 100
        d = datetime.date(2020, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 2000))
        dt = datetime.datetime(2021, 6, 1) + datetime.timedelta(seconds=rnd.randrange(0, 10**8))
        out.append((k, rnd.randrange(-2**62, 2**62), v, amt, d, dt))
    return out


def write_csv(path, rows):
    with open(path, "w") as f:
        for k, bi, v, amt, d, dt in rows:
            f.write(f"{k},{bi},{NULL if v is None else v},{amt},{d.isoformat()},{dt.isoformat(' ')}\n")
    return path


def all_rows(c, db):
    return c.rows(f"SELECT * FROM {db}.t ORDER BY k, bi, v, amt, d, dt")


def visible_versions(c, db):
    return {r["PartitionName"]: int(r["VisibleVersion"]) for r in c.dicts(f"SHOW PARTITIONS FROM {db}.t")}


def test_ccr_full_sync_between_two_local_clusters(clusters, tmp_path):
    base = pick_base(BES, neighbour=(100, BES))
    src = Cluster(*_start(clusters, tmp_path / "src", base))
    dst = Cluster(*_start(clusters, tmp_path / "dst", base + 100))

    # --- source: a table of 3 partitions x 8 buckets x 3 replicas, 100k rows by stream load.
    src.rows(f"CREATE DATABASE {SRC_DB}")
    src.rows(CREATE)
    data = make_rows(ROWS, 7)
    shuffled = data[:]
    random.Random(8).shuffle(shuffled)
    res = src.stream_load(SRC_DB, "t", write_csv(tmp_path / "load.csv", shuffled), "load_1")
    assert (res["NumberLoadedRows"], res["NumberFilteredRows"]) == (ROWS, 0), res
    assert src.rows(f"SELECT COUNT(*) FROM {SRC_DB}.t") == [(ROWS,)]
    src_versions = visible_versions(src, SRC_DB)
    assert src_versions == {p: 2 for p in PARTITIONS}, src_versions

    # --- BACKUP to __keep_on_local__, polled as the syncer polls it.
    src.rows(f'BACKUP SNAPSHOT {SRC_DB}.{LABEL} TO __keep_on_local__ ON (t) PROPERTIES ("type" = "full")')
    shown = src.wait_job(f'SHOW BACKUP FROM {SRC_DB} WHERE SnapshotName = "{LABEL}"', "BACKUP")
    assert len(shown) == 1 and shown[0]["Status"] == "[OK]" and shown[0]["DbName"] == SRC_DB, shown

    # --- getSnapshot, plain and gzip'ed.
    ft = fe_thrift()
    # As the syncer sends it: the label names the snapshot, snapshot_name is left empty.
    req = dict(user="root", passwd="", db=SRC_DB, table="t", label_name=LABEL, snapshot_name="",
               snapshot_type=ft.TSnapshotType.LOCAL)
    fe1 = src.frontend()
    try:
        before_ms = int(time.time() * 1000)
        plain = fe1.getSnapshot(ft.TGetSnapshotRequest(enable_compress=False, **req))
        zipped = fe1.getSnapshot(ft.TGetSnapshotRequest(enable_compress=True, **req))
        token = fe1.getMasterToken(ft.TGetMasterTokenRequest(user="root", password="")).token
    finally:
        fe1.close()
    assert status_code_name(plain.status) == "OK", plain.status
    assert status_code_name(zipped.status) == "OK", zipped.status
    assert not plain.compressed and zipped.compressed is True
    assert plain.meta and plain.job_info
    assert gzip.decompress(zipped.meta) == plain.meta and gzip.decompress(zipped.job_info) == plain.job_info
    # Kept for local_snapshot_ttl_second (a day by default) from the backup's start.
    assert plain.expiredAt > before_ms + 3600 * 1000, plain.expiredAt
    assert token

    info = json.loads(plain.job_info)
    assert info["name"] == LABEL and info["database"] == SRC_DB, {k: info[k] for k in ("name", "database")}
    parts = info["backup_objects"]["t"]["partitions"]
    assert {p: parts[p]["version"] for p in parts} == src_versions
    assert len(info["tablet_be_map"]) == len(PARTITIONS) * BUCKETS
    assert len(info["tablet_snapshot_path_map"]) == len(PARTITIONS) * BUCKETS

    # The source snapshot's segment files per (partition, bucket), found on disk where
    # job_info says (the BE of tablet_be_map, the path of tablet_snapshot_path_map).
    src_be = src.be_index()
    src_tablets = src.tablets_by_bucket(SRC_DB, "t")
    snap_files = {}
    for p in PARTITIONS:
        [index] = parts[p]["indexes"].values()
        assert len(index["tablets_order"]) == BUCKETS
        for bucket, tablet_id in enumerate(index["tablets_order"]):
            assert src_tablets[(p, bucket)][0] == tablet_id
            be_id = int(info["tablet_be_map"][str(tablet_id)])
            assert be_id in src_tablets[(p, bucket)][1], (tablet_id, be_id)
            be_i = src_be[be_id]
            snap_path = os.path.realpath(info["tablet_snapshot_path_map"][str(tablet_id)])
            assert snap_path.startswith(str(src.storage_root(be_i) / "snapshot") + "/"), snap_path
            tdir = os.path.join(snap_path, str(tablet_id), str(index["schema_hash"]))
            files = dat_files(tdir)
            listed = {f for f in index["tablets"][str(tablet_id)] if f.endswith(".dat")}
            assert set(files) == listed, (tdir, sorted(files), sorted(listed))
            snap_files[(p, bucket)] = files
    # 100k rows hashed over 24 tablets: every one has a segment.
    assert all(snap_files.values()), snap_files

    # --- the syncer's edit: extra_info with the source BEs' http addresses and its token.
    info["extra_info"] = {
        "be_network_map": {str(b["BackendId"]): {"ip": b["Host"], "port": int(b["HttpPort"])} for b in src.backends()},
        "token": token,
    }
    job_info = json.dumps(info).encode()

    # --- restoreSnapshot on the target, gzip'ed, every field set as the syncer sets it.
    dst.rows(f"CREATE DATABASE {DST_DB}")
    fe2 = dst.frontend()
    try:
        r = fe2.restoreSnapshot(ft.TRestoreSnapshotRequest(
            user="root", passwd="", db=DST_DB, table="t", label_name=LABEL, repo_name="__keep_on_local__",
            table_refs=[ft.TTableRef(table="t")], properties={"reserve_replica": "true"},
            meta=gzip.compress(plain.meta), job_info=gzip.compress(job_info),
            clean_tables=False, clean_partitions=False, atomic_restore=False, compressed=True,
        ))
    finally:
        fe2.close()
    assert status_code_name(r.status) == "OK", r.status
    shown = dst.wait_job(f'SHOW RESTORE FROM {DST_DB} WHERE Label = "{LABEL}"', "RESTORE")
    assert shown[-1]["Status"] == "[OK]" and shown[-1]["ReserveReplica"] == "true", shown

    # (1) The same rows, every one of them, and the same versions.
    assert dst.rows(f"SELECT COUNT(*) FROM {DST_DB}.t") == [(ROWS,)]
    for p in PARTITIONS:
        q = f"SELECT COUNT(*) FROM {{db}}.t PARTITION ({p})"
        assert dst.rows(q.format(db=DST_DB)) == src.rows(q.format(db=SRC_DB)), p
    src_rows = all_rows(src, SRC_DB)
    assert src_rows == data
    assert all_rows(dst, DST_DB) == src_rows
    assert visible_versions(dst, DST_DB) == src_versions

    # (2) Every replica of every target tablet holds exactly the snapshot's segment bytes.
    dst_be = dst.be_index()
    dst_tablets = dst.tablets_by_bucket(DST_DB, "t")
    assert set(dst_tablets) == set(snap_files)
    for key, (tablet_id, replicas) in sorted(dst_tablets.items()):
        assert sorted(dst_be[b] for b in replicas) == list(range(BES)), (key, replicas)
        want = snap_files[key]
        for b in replicas:
            got = dat_files(dst.tablet_dir(dst_be[b], tablet_id))
            where = f"{key}: tablet {tablet_id} on target BE {dst_be[b]}"
            assert sorted(got.values()) == sorted(want.values()), where
            # MOVE installs the download under new rowset ids (upstream's restore does too).
            assert all(ROWSET_FILE.fullmatch(n) for n in got) and not set(got) & set(want), (where, got, want)
    replicas = dst.dicts(f"SHOW TABLETS FROM {DST_DB}.t")
    assert len(replicas) == len(PARTITIONS) * BUCKETS * BES
    assert all(r["State"] == "NORMAL" and int(r["Version"]) == 2 for r in replicas), replicas

    # (3) Both clusters stay healthy: all BEs Alive, the source still loads, the target answers.
    assert_backends_alive(src.lc, base)
    assert_backends_alive(dst.lc, base + 100)
    more = make_rows(1000, 9, start=ROWS)
    res = src.stream_load(SRC_DB, "t", write_csv(tmp_path / "more.csv", more), "load_2")
    assert res["NumberLoadedRows"] == 1000, res
    assert src.rows(f"SELECT COUNT(*) FROM {SRC_DB}.t") == [(ROWS + 1000,)]
    assert src.rows(f"SELECT * FROM {SRC_DB}.t ORDER BY k DESC LIMIT 3") == more[::-1][:3]
    assert dst.rows(f"SELECT k, v FROM {DST_DB}.t ORDER BY k LIMIT 2") == [(r[0], r[2]) for r in data[:2]]
    # The restored table is a normal table: it takes a load at the next version.
    extra = make_rows(500, 10, start=ROWS + 1000)
    res = dst.stream_load(DST_DB, "t", write_csv(tmp_path / "extra.csv", extra), "dst_load_1")
    assert res["NumberLoadedRows"] == 500, res
    assert dst.rows(f"SELECT COUNT(*) FROM {DST_DB}.t") == [(ROWS + 500,)]
    assert visible_versions(dst, DST_DB) == {"p1": 2, "p2": 2, "p3": 3}

    # Clean stops: exit 0, every child reaped.
    src.lc.send(signal.SIGINT)
    dst.lc.send(signal.SIGTERM)
    for c in (src, dst):
        assert_stopped(c.lc)


def _start(clusters, directory, base):
    lc = clusters(directory, base, BES)
    return lc, lc.start()
