"""End-to-end: BACKUP and RESTORE carry real rows through a `doris-rs local --bes 3` cluster.

One source table (two RANGE partitions, four buckets, replication 3, INT, BIGINT, VARCHAR,
DATE, DATETIME, DECIMAL, DOUBLE and BOOLEAN columns) gets 40,000 rows from two stream
loads (so every tablet has several versions). It is then backed up and restored under a
new name through three targets:

- a LOCAL repository (`file:///...`): BE UPLOAD / DOWNLOAD tasks against a directory;
- an S3 repository on a real moto server started here: the same tasks against S3; the
  uploaded objects are read back from the bucket, and a second cluster restores the
  snapshot through a READ ONLY repository on the same location;
- `__keep_on_local__`: the snapshot stays on the BEs and is restored the way the CCR
  syncer does it (getSnapshot, getBackendMeta, getMasterToken, restoreSnapshot over
  thrift; RESTORE FROM __keep_on_local__ is not a statement our FE takes).

Each restored table must scan exactly like the source, partition by partition, keep the
source partitions' visible versions, and have every replica on its own BE holding the
source's segment files byte for byte.
"""

import datetime
import hashlib
import json
import os
import pathlib
import random
import time
from decimal import Decimal

import boto3
import pytest
import thriftpy2
from thriftpy2.rpc import make_client

from test_load_stream import DB, Cluster, cluster, write_csv  # noqa: F401 (module-scoped cluster fixture)
from test_local_cluster import clusters, expected_ports, pick_base  # noqa: F401 (fixture)

SRC = "src"
BUCKETS = 4
PARTITIONS = {"p2023": (datetime.date(2023, 1, 1), 365), "p2024": (datetime.date(2024, 1, 1), 366)}
ROWS_PER_LOAD = 20_000
COLUMNS = ["d", "k", "bi", "v", "dt", "amt", "x", "b"]
SCAN = f"SELECT * FROM {DB}.{{}} ORDER BY {', '.join(COLUMNS)}"
# Backup and restore of 40,000 rows take seconds; generous for a loaded 2-core machine.
JOB_TIMEOUT_S = 180
ACCESS_KEY, SECRET_KEY, REGION = "rowsak", "rowssk", "us-east-1"
THRIFT_DIR = pathlib.Path(__file__).resolve().parents[2] / "thrift"


def make_rows(n, first_key, seed):
    """Rows as pymysql returns them, NULLs included. Doubles are multiples of 1/8 and
    decimals have two places, so their text form is exact either way."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        k = first_key + i
        start, days = PARTITIONS["p2023" if i % 3 else "p2024"]
        d = start + datetime.timedelta(days=rnd.randrange(days))
        dt = datetime.datetime(2020, 1, 1) + datetime.timedelta(seconds=rnd.randrange(10**8))
        rows.append((
            d,
            k,
            None if i % 101 == 0 else rnd.randrange(-(2**62), 2**62),
            None if i % 89 == 0 else f"v{rnd.randrange(10**9)}-é",
            dt,
            Decimal(rnd.randrange(-10**11, 10**11)) / 100,
            rnd.randrange(-10**9, 10**9) / 8,
            rnd.random() < 0.5,
        ))
    return rows


def csv_line(r):
    d, k, bi, v, dt, amt, x, b = r
    null = "\\N"
    return ",".join([
        d.isoformat(), str(k), null if bi is None else str(bi), null if v is None else v,
        dt.strftime("%Y-%m-%d %H:%M:%S"), str(amt), repr(x), "true" if b else "false",
    ])


def as_scanned(r):
    """BOOLEAN comes back as TINYINT 1/0."""
    return r[:7] + (int(r[7]),)


def poll(what, fn, timeout=JOB_TIMEOUT_S):
    """Call fn until it returns something truthy; polls, never asserts on time."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not done within {timeout} s")
        time.sleep(0.2)


def job_row(cluster, show, column, label):
    rows, desc = cluster.sql(f'SHOW {show} FROM {DB} WHERE {column} = "{label}"')
    names = [d[0] for d in desc]
    return [dict(zip(names, r)) for r in rows]


def wait_job(cluster, show, column, label):
    def done():
        jobs = job_row(cluster, show, column, label)
        assert jobs, f"no {show} job {label}"
        job = jobs[-1]
        assert job["State"] != "CANCELLED", job
        return job if job["State"] == "FINISHED" else None

    job = poll(f"{show} {label}", done)
    assert job["Status"] == "[OK]", job
    return job


@pytest.fixture(scope="module")
def source(cluster, tmp_path_factory):
    """The loaded source table: its scan (checked against the generated rows), per-partition
    counts and versions."""
    parts = ",\n".join(
        f'PARTITION {name} VALUES LESS THAN ("{(start + datetime.timedelta(days=days)).isoformat()}")'
        for name, (start, days) in PARTITIONS.items()
    )
    cluster.sql(f"""CREATE TABLE {DB}.{SRC} (
          d DATE NOT NULL, k INT NOT NULL, bi BIGINT, v VARCHAR(32), dt DATETIME,
          amt DECIMAL(12, 2), x DOUBLE, b BOOLEAN)
        DUPLICATE KEY(d, k) PARTITION BY RANGE(d) ({parts})
        DISTRIBUTED BY HASH(k) BUCKETS {BUCKETS} PROPERTIES ("replication_num" = "3")""")
    tmp = tmp_path_factory.mktemp("rows")
    data = []
    for n in range(2):
        rows = make_rows(ROWS_PER_LOAD, n * ROWS_PER_LOAD, seed=n)
        res, code = cluster.load(SRC, write_csv(tmp / f"{n}.csv", map(csv_line, rows)), f"src_{n}")
        assert (code, res["Status"], res["NumberLoadedRows"]) == (200, "Success", ROWS_PER_LOAD), res
        data += rows
    scan = cluster.rows(SCAN.format(SRC))
    # (d, k) is unique, so the order is total.
    assert scan == sorted(map(as_scanned, data), key=lambda r: (r[0], r[1]))
    counts = {p: cluster.count(SRC, [p]) for p in PARTITIONS}
    assert sum(counts.values()) == 2 * ROWS_PER_LOAD and all(counts.values()), counts
    versions = cluster.versions(SRC)
    assert versions == {"p2023": 3, "p2024": 3}, versions
    files = replica_files(cluster, SRC)
    assert all(len(reps) == 3 and len(set(reps)) == 1 for reps in files.values()), files
    return {"scan": scan, "counts": counts, "versions": versions,
            "files": sorted(reps[0] for reps in files.values())}


def replicas(cluster, table):
    """Tablet id -> [(backend id, version)] of its replicas."""
    rows, desc = cluster.sql(f"SHOW TABLETS FROM {DB}.{table}")
    names = [d[0] for d in desc]
    out = {}
    for r in rows:
        r = dict(zip(names, r))
        out.setdefault(r["TabletId"], []).append((r["BackendId"], int(r["Version"])))
    return out


def replica_files(cluster, table):
    """Tablet id -> one entry per replica found in the BEs' storage roots: the sorted md5s
    of its segment files (`<root>/data/<shard>/<tablet_id>/<schema_hash>/*.dat`)."""
    out = {}
    for tablet in replicas(cluster, table):
        for d in pathlib.Path(cluster.lc.dir).glob(f"be*/storage/data/*/{tablet}/*"):
            segs = sorted(hashlib.md5(f.read_bytes()).hexdigest() for f in d.glob("*.dat"))
            out.setdefault(tablet, []).append(tuple(segs))
    return out


def assert_restored_like_source(cluster, source, table, replication):
    assert cluster.versions(table) == source["versions"]
    # Every replica was placed on its own BE and holds the backed-up version.
    placed = replicas(cluster, table)
    assert len(placed) == BUCKETS * len(PARTITIONS), placed
    for tablet, reps in placed.items():
        assert len({be for be, _ in reps}) == len(reps) == replication, (tablet, reps)
        assert {v for _, v in reps} == {3}, (tablet, reps)
    # On disk: each replica is a copy of its source tablet's segment files (one per load),
    # byte for byte.
    on_disk = replica_files(cluster, table)
    assert sorted(map(len, on_disk.values())) == [replication] * len(placed), on_disk
    assert all(len(set(reps)) == 1 and len(reps[0]) == 2 for reps in on_disk.values()), on_disk
    assert sorted(reps[0] for reps in on_disk.values()) == source["files"]
    assert {p: cluster.count(table, [p]) for p in PARTITIONS} == source["counts"]
    assert cluster.rows(SCAN.format(table)) == source["scan"]


def backup(cluster, label, repo):
    cluster.sql(f"BACKUP SNAPSHOT {DB}.{label} TO {repo} ON ({SRC})")
    job = wait_job(cluster, "BACKUP", "SnapshotName", label)
    assert job["DbName"] == DB, job
    return job


def backup_listed(cluster, repo, label):
    """BACKUP to a repository; the snapshot's timestamp as SHOW SNAPSHOT lists it."""
    backup(cluster, label, repo)
    return listed_timestamp(cluster, repo, label)


def listed_timestamp(cluster, repo, label):
    rows, desc = cluster.sql(f"SHOW SNAPSHOT ON {repo}")
    listed = [dict(zip([d[0] for d in desc], r)) for r in rows]
    assert [(s["Snapshot"], s["Status"]) for s in listed] == [(label, "OK")], listed
    return listed[0]["Timestamp"]


def restore_from(cluster, source, repo, label, timestamp, restored, replication):
    cluster.sql(
        f"RESTORE SNAPSHOT {DB}.{label} FROM {repo} ON ({SRC} AS {restored}) "
        f'PROPERTIES ("backup_timestamp" = "{timestamp}", "replication_num" = "{replication}")'
    )
    job = wait_job(cluster, "RESTORE", "Label", label)
    assert (job["Timestamp"], job["ReplicationNum"]) == (timestamp, str(replication)), job
    assert_restored_like_source(cluster, source, restored, replication)


def test_local_directory_repository(cluster, source, tmp_path):
    repo_dir = tmp_path / "repo"
    cluster.sql(f'CREATE REPOSITORY r_file WITH LOCAL ON LOCATION "file://{repo_dir}"')
    timestamp = backup_listed(cluster, "r_file", "snap_file")
    restore_from(cluster, source, "r_file", "snap_file", timestamp, "from_file", replication=3)
    # The tablet files really are in the directory: one directory per source tablet.
    content = repo_dir / "__palo_repository_r_file" / "__ss_snap_file" / "__ss_content"
    tablets = [root for root, dirs, files in os.walk(content) if files]
    assert len(tablets) == BUCKETS * len(PARTITIONS), tablets


@pytest.fixture(scope="module")
def moto(moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name=REGION)
    return moto_endpoint, s3


S3_LOCATION = "s3://backups/doris/rows"


def create_s3_repository(cluster, endpoint, read_only=False):
    cluster.sql(
        f'CREATE {"READ ONLY " if read_only else ""}REPOSITORY r_s3 WITH S3 ON LOCATION "{S3_LOCATION}" '
        f'PROPERTIES ("s3.endpoint" = "{endpoint}", "s3.access_key" = "{ACCESS_KEY}", '
        f'"s3.secret_key" = "{SECRET_KEY}", "s3.region" = "{REGION}")'
    )


@pytest.fixture(scope="module")
def s3_snapshot(cluster, source, moto):
    """snap_s3 of the source table in a fresh bucket: (endpoint, client, timestamp)."""
    endpoint, s3 = moto
    s3.create_bucket(Bucket="backups")
    create_s3_repository(cluster, endpoint)
    return endpoint, s3, backup_listed(cluster, "r_s3", "snap_s3")


def test_s3_repository(cluster, source, s3_snapshot):
    endpoint, s3, timestamp = s3_snapshot
    # What the BEs uploaded is in the bucket: one directory per source tablet, its files
    # named <file>.<md5>, and the segment files are the source's, byte for byte.
    prefix = "doris/rows/__palo_repository_r_s3/__ss_snap_s3/__ss_content/"
    objects = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket="backups", Prefix=prefix)
               for o in page.get("Contents", [])]
    tablets = {o["Key"].rsplit("/", 1)[0] for o in objects}
    assert len(tablets) == BUCKETS * len(PARTITIONS), sorted(tablets)
    segments = []
    for o in objects:
        name, md5 = o["Key"].rsplit("/", 1)[1].rsplit(".", 1)
        assert len(md5) == 32 and o["Size"] > 0, o
        if name.endswith(".dat"):
            body = s3.get_object(Bucket="backups", Key=o["Key"])["Body"].read()
            assert hashlib.md5(body).hexdigest() == md5, o["Key"]
            segments.append(md5)
    assert sorted(segments) == sorted(m for files in source["files"] for m in files)

    restore_from(cluster, source, "r_s3", "snap_s3", timestamp, "from_s3", replication=1)


def test_s3_snapshot_restores_on_another_cluster(doris_rs_bin, clusters, tmp_path, source, s3_snapshot):
    """Disaster recovery: a second cluster that never saw the table reads the bucket
    through a READ ONLY repository."""
    endpoint, _, timestamp = s3_snapshot
    lc = clusters(tmp_path / "other", pick_base(1), 1)
    other = Cluster(lc, lc.start())
    other.sql(f"CREATE DATABASE {DB}")
    create_s3_repository(other, endpoint, read_only=True)
    assert listed_timestamp(other, "r_s3", "snap_s3") == timestamp
    restore_from(other, source, "r_s3", "snap_s3", timestamp, SRC, replication=1)


def frontend_client(cluster):
    fe = thriftpy2.load(str(THRIFT_DIR / "FrontendService.thrift"), module_name="FrontendService_thrift",
                        include_dirs=[str(THRIFT_DIR)])
    rpc = expected_ports(cluster.lc.base, cluster.lc.bes)[0]["rpc"]
    return fe, make_client(fe.FrontendService, "127.0.0.1", rpc, timeout=60_000)


def test_keep_on_local_restored_like_the_ccr_syncer(cluster, source):
    backup(cluster, "snap_local", "__keep_on_local__")
    fe, client = frontend_client(cluster)
    try:
        ok = fe.Status.TStatusCode.OK
        snap = client.getSnapshot(fe.TGetSnapshotRequest(
            user="root", passwd="", db=DB, label_name="snap_local", snapshot_name="snap_local",
            snapshot_type=fe.TSnapshotType.LOCAL))
        assert snap.status.status_code == ok, snap.status
        # The syncer tells the restoring FE where the source BEs serve their snapshots.
        info = json.loads(snap.job_info)
        backends = client.getBackendMeta(fe.TGetBackendMetaRequest(user="root", passwd=""))
        assert backends.status.status_code == ok, backends.status
        token = client.getMasterToken(fe.TGetMasterTokenRequest(user="root", password=""))
        assert token.status.status_code == ok, token.status
        info["extra_info"] = {
            "be_network_map": {str(b.id): {"ip": b.host, "port": b.http_port} for b in backends.backends},
            "token": token.token,
        }
        res = client.restoreSnapshot(fe.TRestoreSnapshotRequest(
            user="root", passwd="", db=DB, label_name="snap_local", repo_name="__keep_on_local__",
            table_refs=[fe.TTableRef(table=SRC, alias_name="from_local")],
            properties={"reserve_replica": "true"},
            meta=snap.meta, job_info=json.dumps(info).encode(), compressed=False))
        assert res.status.status_code == ok, res.status
    finally:
        client.close()
    job = wait_job(cluster, "RESTORE", "Label", "snap_local")
    assert job["ReserveReplica"] == "true", job
    assert_restored_like_source(cluster, source, "from_local", replication=3)
