"""Apache Thrift's C++ library as the BE, against a real `doris-rs fe` process.

tests/interop/cpp/cpp_peer.cpp (stubs generated at test time from our thrift/ by
tests/interop/peers.sh) plays the C++ BE both ways:
- `cpp_peer be`: TThreadedServer BackendService + HeartbeatService. Registered in our FE
  with ALTER SYSTEM ADD BACKEND over MySQL, it records the FE's heartbeats (TMasterInfo)
  and agent tasks field by field, does them on its own storage root and acknowledges each
  with a finishTask (TBufferedTransport + TBinaryProtocol, as the BE's FE client cache):
  the CREATE tasks of CREATE TABLE, then a whole BACKUP to an S3 repository on a moto
  server (MAKE_SNAPSHOT, UPLOAD of the snapshot files as <file>.<md5>, RELEASE_SNAPSHOT);
  a file:// repository, which a C++ BE cannot use, is refused before a job starts.
- `cpp_peer call`: the BE's FE client calling finishTask, report, getMasterToken,
  getBackendMeta, getSnapshot and restoreSnapshot, buffered and framed.
Also: our bench client (`doris-rs bench rpc --addr`) against a C++ TThreadedServer.
"""

import hashlib
import json
import pathlib
import subprocess

import boto3
import pymysql
import pytest

from interop_procs import (
    bench_client_against,
    build_peer,
    free_port,
    read_records,
    start_doris_rs,
    stop,
    wait_until,
)

ROOT_PASSWORD = "cpp-root-pw"
CLUSTER_ID = 271828

# Thrift enum values (thrift/Types.thrift, Status.thrift).
CREATE, MAKE_SNAPSHOT, RELEASE_SNAPSHOT, UPLOAD = 0, 8, 9, 11
OK, NOT_IMPLEMENTED_ERROR, NOT_FOUND, INVALID_ARGUMENT, SNAPSHOT_NOT_EXIST = 0, 3, 31, 33, 70
DUP_KEYS, UNIQUE_KEYS, COLUMN = 1, 2, 1
AGG_NONE = 5  # TAggregationType.NONE
INT, VARCHAR, BIGINT = 5, 15, 6
HDD = 0
S3 = 1  # TStorageBackendType
ACCESS_KEY, SECRET_KEY, REGION = "cppak", "cppsk", "us-east-1"


@pytest.fixture(scope="module")
def cpp_bin():
    return build_peer("cpp") / "bin"


class Fe:
    """A real `doris-rs fe` on free ports, reached over MySQL with pymysql."""

    def __init__(self, binary, root: pathlib.Path):
        self.rpc_port, self.query_port, self.http_port = free_port(), free_port(), free_port()
        meta = root / "meta"
        meta.mkdir(parents=True)
        self.proc, self.log = start_doris_rs(
            binary,
            "fe",
            root,
            f"rpc_port = {self.rpc_port}\nquery_port = {self.query_port}\nhttp_port = {self.http_port}\n"
            f"meta_dir = {meta}\npriority_networks = 127.0.0.0/8\ncluster_id = {CLUSTER_ID}\n"
            f"root_password = {ROOT_PASSWORD}\nheartbeat_interval_second = 0.2\n"
            "max_create_table_timeout_second = 30\n",
            (self.query_port, self.rpc_port),
        )
        self.db = pymysql.connect(
            host="127.0.0.1", port=self.query_port, user="root", password=ROOT_PASSWORD, autocommit=True
        )

    def rows(self, sql):
        with self.db.cursor(pymysql.cursors.DictCursor) as c:
            c.execute(sql)
            return c.fetchall()

    def run(self, sql):
        with self.db.cursor() as c:
            c.execute(sql)

    def close(self):
        self.db.close()
        stop(self.proc)


class CppBe:
    """`cpp_peer be`: the C++ BE's two thrift services, recording into a file, its
    snapshots under a storage root of its own."""

    def __init__(self, bin_dir, root: pathlib.Path):
        self.records_path = root / "records.jsonl"
        self.records_path.touch()
        self.storage = root / "storage"
        self.http_port, self.brpc_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            [
                str(bin_dir / "cpp_peer"), "be", str(self.records_path), str(self.http_port), str(self.brpc_port),
                "buffered", str(self.storage),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ports = {}
        for _ in range(2):
            line = self.proc.stdout.readline()
            assert " listening on " in line, f"cpp_peer be did not start: {line!r}"
            ports[line.split()[0]] = int(line.rsplit(":", 1)[1])
        self.be_port, self.hb_port = ports["BackendService"], ports["HeartbeatService"]

    def records(self, method):
        return read_records(self.records_path, method)

    def tasks(self, task_type):
        return [t for t in self.records("submit_tasks") if t["task_type"] == task_type]

    def finish(self, what, task_type, signature):
        """The `finishTask` (what the peer sent) or `finishTask.reply` (the FE's answer) of a task."""
        return next((r for r in self.records(what) if (r["task_type"], r["signature"]) == (task_type, signature)), None)

    def close(self):
        stop(self.proc, close_stdin=True)


def cpp_call(cpp_bin, fe, framing, password, backend_id, be, db=None):
    """`cpp_peer call`: {method: result} of every call (getMeta of `db` too when given)."""
    proc = subprocess.run(
        [
            str(cpp_bin / "cpp_peer"), "call", f"127.0.0.1:{fe.rpc_port}", framing, "root", password,
            str(backend_id), "127.0.0.1", str(be.be_port), str(be.http_port),
        ]
        + ([db] if db else []),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        assert "error" not in r, f"{r['method']} failed in C++: {r['error']}"
        out[r["method"]] = r["result"]
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, cpp_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("cpp-be-peer")
    be = CppBe(cpp_bin, root)
    fe = None
    try:
        fe = Fe(doris_rs_bin, root / "fe")
        yield fe, be
    finally:
        if fe:
            fe.close()
        be.close()


@pytest.fixture(scope="module")
def registered(cluster):
    """The C++ BE added to our FE and alive; its backend id."""
    fe, be = cluster
    fe.run(f'ALTER SYSTEM ADD BACKEND "127.0.0.1:{be.hb_port}"')

    def alive():
        rows = fe.rows("SHOW BACKENDS")
        return rows if rows and rows[0]["Alive"] == "true" else None

    [row] = wait_until("the C++ BE to be alive", alive)
    assert int(row["HeartbeatPort"]) == be.hb_port
    assert int(row["BePort"]) == be.be_port
    assert int(row["HttpPort"]) == be.http_port
    assert int(row["BrpcPort"]) == be.brpc_port
    assert row["Version"] == "cpp-be-peer-1.0"
    return int(row["BackendId"])


def test_our_fe_heartbeats_the_cpp_be(cluster, registered):
    fe, be = cluster
    beats = be.records("heartbeat")
    assert beats
    for m in beats:
        assert m["network_address"] == {"hostname": "127.0.0.1", "port": fe.rpc_port}
        assert m["cluster_id"] == CLUSTER_ID
        assert m["epoch"] > 0
        assert len(m["token"]) >= 16
        assert m["backend_ip"] == "127.0.0.1"
        assert m["http_port"] == fe.http_port
        assert m["heartbeat_flags"] == 0
        assert m["backend_id"] == registered
    # One master: the same epoch and token in every heartbeat.
    assert len({(m["epoch"], m["token"]) for m in beats}) == 1


def test_create_table_sends_create_tasks_to_the_cpp_be(cluster, registered, cpp_bin):
    fe, be = cluster
    fe.run("CREATE DATABASE cpp_db")
    fe.run(
        "CREATE TABLE cpp_db.t1 (k1 INT, v1 VARCHAR(32), v2 BIGINT) DUPLICATE KEY(k1) "
        'DISTRIBUTED BY HASH(k1) BUCKETS 3 PROPERTIES ("replication_num" = "1")'
    )
    assert [r["Tables_in_cpp_db"] for r in fe.rows("SHOW TABLES FROM cpp_db")] == ["t1"]
    tablets = fe.rows("SHOW TABLETS FROM cpp_db.t1")
    assert len(tablets) == 3
    [part] = fe.rows("SHOW PARTITIONS FROM cpp_db.t1")
    # The table's id, from getMeta through the C++ client.
    meta = cpp_call(cpp_bin, fe, "buffered", ROOT_PASSWORD, registered, be, db="cpp_db")["getMeta"]
    assert meta["status"] == {"status_code": OK}
    [table] = meta["db_meta"]["tables"]
    assert table["name"] == "t1"
    [mpart] = table["partitions"]
    assert mpart["id"] == int(part["PartitionId"]) and mpart["visible_version"] == 1
    [index] = mpart["indexes"]
    assert sorted(t["id"] for t in index["tablets"]) == sorted(int(t["TabletId"]) for t in tablets)
    for t in index["tablets"]:
        [rep] = t["replicas"]
        assert rep["backend_id"] == registered and rep["version"] == 1

    tasks = [t for t in be.tasks(CREATE) if t["create_tablet_req"]["table_id"] == table["id"]]
    by_tablet = {t["create_tablet_req"]["tablet_id"]: t for t in tasks}
    assert sorted(by_tablet) == sorted(int(t["TabletId"]) for t in tablets)
    assert len(tasks) == 3, "one CREATE per tablet, none repeated"
    for row in tablets:
        t = by_tablet[int(row["TabletId"])]
        assert t["protocol_version"] == 0
        assert t["signature"] > 0
        assert t["recv_time"] > 1_600_000_000_000
        assert set(t) == {"protocol_version", "task_type", "signature", "recv_time", "create_tablet_req"}
        c = t["create_tablet_req"]
        assert c["version"] == int(part["VisibleVersion"]) == 1
        assert c["storage_medium"] == HDD
        # As the Java FE's CreateReplicaTask: restore mode only when restoring; V2 segments,
        # LZ4F, a disk tablet, size-based compaction; no hidden columns in a DUPLICATE table.
        assert "in_restore_mode" not in c
        assert (c["storage_format"], c["tablet_type"], c["compression_type"]) == (2, 0, 5)
        assert (c["enable_unique_key_merge_on_write"], c["compaction_policy"]) == (False, "size_based")
        assert c["binlog_config"]["enable"] is False
        assert c["table_id"] == table["id"]
        assert c["partition_id"] == int(part["PartitionId"])
        assert c["replica_id"] == int(row["ReplicaId"])
        assert int(row["BackendId"]) == registered
        s = c["tablet_schema"]
        assert s["schema_hash"] == int(row["SchemaHash"])
        assert s["short_key_column_count"] == 1
        assert s["keys_type"] == DUP_KEYS
        assert s["storage_type"] == COLUMN
        cols = s["columns"]
        assert [col["column_name"] for col in cols] == ["k1", "v1", "v2"]
        assert [col["column_type"]["type"] for col in cols] == [INT, VARCHAR, BIGINT]
        assert cols[1]["column_type"]["len"] == 32
        assert [col.get("is_key") for col in cols] == [True, False, False]
        assert [col["visible"] for col in cols] == [True, True, True]
        assert (s["delete_sign_idx"], s["sequence_col_idx"], s["version_col_idx"]) == (-1, -1, -1)
        for col in cols:
            assert col["column_type"]["type"] in (INT, VARCHAR, BIGINT)
    # Signatures are unique, and every CREATE was acknowledged with the FE answering OK.
    assert len({t["signature"] for t in tasks}) == 3
    replies = {r["signature"]: r for r in be.records("finishTask.reply") if r["task_type"] == CREATE}
    for t in tasks:
        assert replies[t["signature"]] == {"task_type": CREATE, "signature": t["signature"], "status": {"status_code": OK}}


def test_unique_table_create_tasks_carry_hidden_columns(cluster, registered):
    """A UNIQUE KEY table's CREATE, decoded by the C++ BE: the hidden delete sign, version
    and sequence columns last and invisible, their indexes, merge-on-write (upstream's
    default) with NONE aggregation for value columns, the short key rule, bloom filter."""
    fe, be = cluster
    fe.run("CREATE DATABASE IF NOT EXISTS cpp_db")
    fe.run(
        "CREATE TABLE cpp_db.u (k BIGINT NOT NULL, s VARCHAR(20) NOT NULL, v INT, ts DATE) UNIQUE KEY(k, s) "
        'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1", '
        '"function_column.sequence_col" = "ts", "bloom_filter_columns" = "v")'
    )
    [tablet] = fe.rows("SHOW TABLETS FROM cpp_db.u")
    [t] = [t for t in be.tasks(CREATE) if t["create_tablet_req"]["tablet_id"] == int(tablet["TabletId"])]
    c = t["create_tablet_req"]
    assert c["enable_unique_key_merge_on_write"] is True
    s = c["tablet_schema"]
    assert s["keys_type"] == UNIQUE_KEYS and s["short_key_column_count"] == 2
    cols = s["columns"]
    assert [col["column_name"] for col in cols] == [
        "k", "s", "v", "ts", "__DORIS_DELETE_SIGN__", "__DORIS_VERSION_COL__", "__DORIS_SEQUENCE_COL__"]
    assert [col["visible"] for col in cols] == [True] * 4 + [False] * 3
    assert (s["delete_sign_idx"], s["version_col_idx"], s["sequence_col_idx"]) == (4, 5, 6)
    assert [col.get("aggregation_type") for col in cols[2:]] == [AGG_NONE] * 5
    assert cols[4]["default_value"] == "0" and cols[6]["column_type"]["type"] == cols[3]["column_type"]["type"]
    assert cols[2]["is_bloom_filter_column"] is True and s["bloom_filter_fpp"] == 0.05


@pytest.mark.parametrize("framing", ["buffered", "framed"])
def test_cpp_fe_client_calls_our_fe(cluster, registered, cpp_bin, framing):
    fe, be = cluster
    r = cpp_call(cpp_bin, fe, framing, ROOT_PASSWORD, registered, be)
    master = {"hostname": "127.0.0.1", "port": fe.rpc_port}
    # finishTask of a task nobody waits for (a late reply) and report: accepted.
    assert r["finishTask"] == {"status": {"status_code": OK}}
    assert r["report"] == {"status": {"status_code": OK}}
    # The report's disk reached the FE.
    [row] = fe.rows("SHOW BACKENDS")
    assert row["TotalCapacity"] == "1000.000 GB"
    assert row["AvailCapacity"] == "600.000 GB"
    assert row["CpuCores"] == "12"

    token = be.records("heartbeat")[-1]["token"]
    assert r["getMasterToken"] == {"status": {"status_code": OK}, "token": token, "master_address": master}

    meta = r["getBackendMeta"]
    assert meta["status"] == {"status_code": OK}
    assert meta["master_address"] == master
    assert meta["backends"] == [
        {
            "host": "127.0.0.1",
            "be_port": be.be_port,
            "http_port": be.http_port,
            "brpc_port": be.brpc_port,
            "is_alive": True,
            "id": registered,
        }
    ]

    # No snapshot of that label exists: SNAPSHOT_NOT_EXIST naming it (NOT_IMPLEMENTED_ERROR
    # from an FE without backup jobs), and the master's address.
    snap = r["getSnapshot"]
    assert snap["status"]["status_code"] in (SNAPSHOT_NOT_EXIST, NOT_IMPLEMENTED_ERROR), snap
    if snap["status"]["status_code"] == SNAPSHOT_NOT_EXIST:
        assert "cpp_label" in " ".join(snap["status"]["error_msgs"])
    assert snap["status"]["error_msgs"] and all(snap["status"]["error_msgs"])
    assert snap["master_address"] == master
    assert "meta" not in snap and "job_info" not in snap
    # A meta that is not a backup meta: INVALID_ARGUMENT saying so (or NOT_IMPLEMENTED_ERROR).
    restore = r["restoreSnapshot"]
    assert restore["status"]["status_code"] in (INVALID_ARGUMENT, NOT_IMPLEMENTED_ERROR), restore
    assert restore["status"]["error_msgs"] and all(restore["status"]["error_msgs"])
    assert restore["master_address"] == master


def test_cpp_fe_client_with_a_wrong_password(cluster, registered, cpp_bin):
    fe, be = cluster
    r = cpp_call(cpp_bin, fe, "buffered", "not-the-password", registered, be)
    assert r["getMasterToken"]["status"]["status_code"] != OK
    assert "token" not in r["getMasterToken"]
    assert r["getBackendMeta"]["status"]["status_code"] != OK
    assert "backends" not in r["getBackendMeta"]
    for m in ("getSnapshot", "restoreSnapshot"):
        assert r[m]["status"]["status_code"] != OK


def test_cpp_fe_client_as_an_unknown_backend(cluster, registered, cpp_bin):
    """finishTask and report from a BE the FE does not know: NOT_FOUND, saying what to do."""
    fe, be = cluster

    class Stranger:
        be_port, http_port = free_port(), free_port()

    r = cpp_call(cpp_bin, fe, "framed", ROOT_PASSWORD, registered + 1000, Stranger)
    for m in ("finishTask", "report"):
        assert r[m]["status"]["status_code"] == NOT_FOUND, r[m]
        assert "ALTER SYSTEM ADD BACKEND" in " ".join(r[m]["status"]["error_msgs"])
    # The known backend is untouched.
    [row] = fe.rows("SHOW BACKENDS")
    assert int(row["BackendId"]) == registered and row["Alive"] == "true"


def md5_named(key: str, body: bytes):
    """(name, md5) of an object named <name>.<md5>, after checking the md5 is its content's."""
    name, _, md5 = key.rpartition("/")[2].rpartition(".")
    assert hashlib.md5(body).hexdigest() == md5, key
    return name, md5


class Bucket:
    """A bucket of the moto server, read back with boto3."""

    def __init__(self, endpoint, name):
        self.endpoint, self.name = endpoint, name
        self.s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                               aws_secret_access_key=SECRET_KEY, region_name=REGION)
        self.s3.create_bucket(Bucket=name)

    def keys(self, prefix):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(o["Key"] for p in pages for o in p.get("Contents", []))

    def get(self, key):
        return self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()


def create_s3_repository(fe, name, bucket: Bucket, prefix):
    fe.run(
        f'CREATE REPOSITORY {name} WITH S3 ON LOCATION "s3://{bucket.name}/{prefix}" '
        f'PROPERTIES ("s3.endpoint" = "{bucket.endpoint}", "s3.access_key" = "{ACCESS_KEY}", '
        f'"s3.secret_key" = "{SECRET_KEY}", "s3.region" = "{REGION}")'
    )


def test_backup_to_an_s3_repository_through_the_cpp_be(cluster, registered, cpp_bin, moto_endpoint):
    """BACKUP driven by our FE, done by the C++ BE: MAKE_SNAPSHOT per tablet, one UPLOAD
    into the S3 repository, the meta and job info written by the FE, FINISHED, then
    RELEASE_SNAPSHOT of every snapshot."""
    fe, be = cluster
    fe.run("CREATE DATABASE cpp_bk")
    fe.run(
        "CREATE TABLE cpp_bk.events (id BIGINT, name VARCHAR(16)) DUPLICATE KEY(id) "
        'DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES ("replication_num" = "1")'
    )
    tablets = {int(t["TabletId"]): int(t["SchemaHash"]) for t in fe.rows("SHOW TABLETS FROM cpp_bk.events")}
    assert len(tablets) == 2
    [part] = fe.rows("SHOW PARTITIONS FROM cpp_bk.events")
    db_meta = cpp_call(cpp_bin, fe, "buffered", ROOT_PASSWORD, registered, be, db="cpp_bk")["getMeta"]["db_meta"]
    [table] = db_meta["tables"]
    bucket = Bucket(moto_endpoint, "cppbk")
    location = "s3://cppbk/doris"
    create_s3_repository(fe, "cpp_repo", bucket, "doris")
    fe.run("BACKUP SNAPSHOT cpp_bk.snap1 TO cpp_repo ON (events)")

    def finished():
        rows = fe.rows("SHOW BACKUP FROM cpp_bk")
        if rows and rows[-1]["State"] == "CANCELLED":
            pytest.fail(f"the backup was cancelled: {rows[-1]}")
        return rows[-1] if rows and rows[-1]["State"] == "FINISHED" else None

    job = wait_until("the backup to finish", finished)
    assert (job["SnapshotName"], job["DbName"], job["Status"]) == ("snap1", "cpp_bk", "[OK]"), job
    assert job["UnfinishedTasks"] in ("", "[]"), job

    # -- MAKE_SNAPSHOT: one per tablet, at the partition's visible version, files listed.
    common = {"protocol_version", "task_type", "signature", "recv_time"}
    snaps = {t["snapshot_req"]["tablet_id"]: t for t in be.tasks(MAKE_SNAPSHOT)}
    assert sorted(snaps) == sorted(tablets)
    paths = {}
    for tablet_id, t in snaps.items():
        assert set(t) == common | {"snapshot_req"}
        assert t["protocol_version"] == 0 and t["signature"] > 0 and t["recv_time"] > 1_600_000_000_000
        req = t["snapshot_req"]
        assert req["timeout"] > 0
        # What upstream's SnapshotTask sends: 4 is TPREFER_SNAPSHOT_REQ_VERSION.
        assert req == {
            "tablet_id": tablet_id,
            "schema_hash": tablets[tablet_id],
            "version": int(part["VisibleVersion"]),
            "timeout": req["timeout"],
            "list_files": True,
            "preferred_snapshot_version": 4,
            "is_copy_tablet_task": False,
        }
        sent = be.finish("finishTask", MAKE_SNAPSHOT, t["signature"])
        assert sent["task_status"] == {"status_code": OK}
        assert sent["backend"]["id"] == registered and sent["backend"]["be_port"] == be.be_port
        assert sent["snapshot_path"].startswith(f"{be.storage}/snapshot/")
        assert sent["snapshot_path"].endswith(f".{req['timeout']}")
        assert sent["snapshot_files"] == [f"0200000000000000{tablet_id}_0.dat", f"{tablet_id}.hdr"]
        assert be.finish("finishTask.reply", MAKE_SNAPSHOT, t["signature"])["status"] == {"status_code": OK}
        paths[tablet_id] = sent["snapshot_path"]
    assert len(set(paths.values())) == len(paths), "one snapshot dir per tablet"

    # -- the job info the FE wrote into the repository, named <file>.<md5>.
    snap_prefix = "doris/__palo_repository_cpp_repo/__ss_snap1/"
    [info_key] = [k for k in bucket.keys(snap_prefix + "__info_")]
    info_body = bucket.get(info_key)
    assert md5_named(info_key, info_body)[0].startswith("__info_")
    info = json.loads(info_body)
    assert (info["name"], info["database"], info["id"]) == ("snap1", "cpp_bk", db_meta["id"])
    [(pname, pinfo)] = info["backup_objects"]["events"]["partitions"].items()
    assert (pname, pinfo["id"]) == (part["PartitionName"], int(part["PartitionId"]))
    [(_, index)] = pinfo["indexes"].items()
    assert info["tablet_be_map"] == {str(t): registered for t in tablets}
    assert info["tablet_snapshot_path_map"] == {str(t): p for t, p in paths.items()}
    metas = [k for k in bucket.keys(snap_prefix + "__meta")]
    assert [md5_named(k, bucket.get(k))[0] for k in metas] == ["__meta"], metas

    # -- UPLOAD: one task for the one BE, each snapshot dir to its tablet dir in the repository.
    content = (
        f"{location}/__palo_repository_cpp_repo/__ss_snap1/__ss_content/"
        f"__db_{db_meta['id']}/__tbl_{table['id']}/__part_{pinfo['id']}/__idx_{index['id']}"
    )
    [up] = be.tasks(UPLOAD)
    assert set(up) == common | {"upload_req"}
    assert up["upload_req"] == {
        "job_id": int(job["JobId"]),
        "src_dest_map": {f"{paths[t]}/{t}/{h}": f"{content}/__{t}" for t, h in tablets.items()},
        "broker_addr": {"hostname": "", "port": 0},
        "broker_prop": {
            "AWS_ENDPOINT": moto_endpoint,
            "AWS_ACCESS_KEY": ACCESS_KEY,
            "AWS_SECRET_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        },
        "storage_backend": S3,
        "location": location,
    }
    sent = be.finish("finishTask", UPLOAD, up["signature"])
    assert sent["task_status"] == {"status_code": OK}
    assert be.finish("finishTask.reply", UPLOAD, up["signature"])["status"] == {"status_code": OK}
    # What the BE reported uploading is in the bucket, each object named by its md5, and
    # it is what the job info lists for the tablet.
    assert sorted(sent["tablet_files"]) == sorted(str(t) for t in tablets)
    for tablet_id in tablets:
        files = sent["tablet_files"][str(tablet_id)]
        assert index["tablets"][str(tablet_id)] == files
        tablet_prefix = f"{content}/__{tablet_id}/".removeprefix("s3://cppbk/")
        keys = bucket.keys(tablet_prefix)
        assert sorted(k.removeprefix(tablet_prefix) for k in keys) == sorted(files)
        names = sorted(md5_named(k, bucket.get(k))[0] for k in keys)
        assert names == [f"0200000000000000{tablet_id}_0.dat", f"{tablet_id}.hdr"]
        [hdr_key] = [k for k in keys if k.removeprefix(tablet_prefix).startswith(f"{tablet_id}.hdr.")]
        hdr = json.loads(bucket.get(hdr_key))
        assert hdr == {"tablet_id": tablet_id, "schema_hash": tablets[tablet_id], "version": int(part["VisibleVersion"])}
    assert sorted(int(t) for t in index["tablets_order"]) == sorted(tablets)

    # -- SHOW SNAPSHOT lists it.
    [listed] = fe.rows("SHOW SNAPSHOT ON cpp_repo")
    assert (listed["Snapshot"], listed["Status"]) == ("snap1", "OK")

    # -- after FINISHED every snapshot is released, and the C++ BE deleted it.
    def released():
        got = {t["release_snapshot_req"]["snapshot_path"]: t for t in be.tasks(RELEASE_SNAPSHOT)}
        done = [be.finish("finishTask", RELEASE_SNAPSHOT, t["signature"]) for t in got.values()]
        return got if set(got) == set(paths.values()) and all(done) else None

    for path, t in wait_until("RELEASE_SNAPSHOT of every snapshot", released).items():
        assert set(t) == common | {"release_snapshot_req"}
        assert be.finish("finishTask", RELEASE_SNAPSHOT, t["signature"])["task_status"] == {"status_code": OK}
        assert not pathlib.Path(path).exists()


def test_a_wrong_upload_answer_is_sent_again_then_fails_the_backup(cluster, registered, moto_endpoint):
    """An UPLOAD answer whose tablet_files do not match the snapshot (a file missing) is
    not taken: the FE sends the task again, as upstream's check refuses it; three wrong
    answers cancel the backup with upstream's message."""
    fe, be = cluster
    fe.run("CREATE DATABASE cpp_up")
    fe.run(
        "CREATE TABLE cpp_up.t (id BIGINT, name VARCHAR(16)) DUPLICATE KEY(id) "
        'DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES ("replication_num" = "1")'
    )
    create_s3_repository(fe, "cpp_repo_up", Bucket(moto_endpoint, "cppup"), "up")
    counter = be.storage / "short_uploads"
    uploads_before = len(be.tasks(UPLOAD))

    def job(label):
        rows = [r for r in fe.rows("SHOW BACKUP FROM cpp_up") if r["SnapshotName"] == label]
        return rows[-1] if rows and rows[-1]["State"] in ("FINISHED", "CANCELLED") else None

    # One wrong answer: sent again, then FINISHED.
    counter.write_text("1")
    fe.run("BACKUP SNAPSHOT cpp_up.once TO cpp_repo_up ON (t)")
    done = wait_until("the backup to end", lambda: job("once"))
    assert (done["State"], done["Status"]) == ("FINISHED", "[OK]"), done["Status"]
    assert len(be.tasks(UPLOAD)) - uploads_before == 2
    assert counter.read_text() == "0"

    # Always wrong: three tries, then CANCELLED with upstream's words.
    counter.write_text("3")
    fe.run("BACKUP SNAPSHOT cpp_up.never TO cpp_repo_up ON (t)")
    done = wait_until("the backup to end", lambda: job("never"))
    assert done["State"] == "CANCELLED", done
    assert "upload snapshot files failed because file num is wrong. expect: 2, actual:1" in done["Status"], done
    assert len(be.tasks(UPLOAD)) - uploads_before == 5


def test_a_file_repository_is_refused_before_a_job_starts(cluster, registered, tmp_path):
    """A C++ BE takes no LOCAL storage: BACKUP and RESTORE on a file:// repository are
    refused at the statement, naming the backend and what to use instead, and no task
    reaches the BE."""
    fe, be = cluster
    fe.run("CREATE DATABASE cpp_file")
    fe.run(
        "CREATE TABLE cpp_file.t (id BIGINT) DUPLICATE KEY(id) "
        'DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES ("replication_num" = "1")'
    )
    fe.run(f'CREATE REPOSITORY cpp_file_repo WITH LOCAL ON LOCATION "file://{tmp_path / "repo"}"')
    snapshots_before = len(be.tasks(MAKE_SNAPSHOT))
    why = (
        "its location file://{dir} is a local directory (storage type LOCAL), which only doris-rs "
        "BEs read and write, and backend {id} (127.0.0.1:{hb}, version cpp-be-peer-1.0) is not a "
        "doris-rs BE; use an S3 repository"
    ).format(dir=tmp_path / "repo", id=registered, hb=be.hb_port)
    with pytest.raises(pymysql.MySQLError) as e:
        fe.run("BACKUP SNAPSHOT cpp_file.s1 TO cpp_file_repo ON (t)")
    assert f"BACKUP on repository cpp_file_repo: {why}" in str(e.value), e.value
    assert not fe.rows("SHOW BACKUP FROM cpp_file")
    with pytest.raises(pymysql.MySQLError) as e:
        fe.run(
            'RESTORE SNAPSHOT cpp_file.s1 FROM cpp_file_repo ON (t) '
            'PROPERTIES ("backup_timestamp" = "2026-12-07-10-00-00")'
        )
    assert f"RESTORE on repository cpp_file_repo: {why}" in str(e.value), e.value
    assert not fe.rows("SHOW RESTORE FROM cpp_file")
    assert len(be.tasks(MAKE_SNAPSHOT)) == snapshots_before


@pytest.mark.parametrize("framing", ["buffered", "framed"])
def test_our_bench_client_against_cpp_threaded_server(doris_rs_bin, cpp_bin, framing):
    """`bench rpc --addr`: our client, C++'s TThreadedServer, the bench convention."""
    bench_client_against(doris_rs_bin, [str(cpp_bin / "cpp_bench_server"), str(2 * 1024 * 1024), framing], framing)
