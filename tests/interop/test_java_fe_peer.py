"""Apache Thrift's Java library as the FE, against real `doris-rs be` processes.

A Java program (tests/interop/java/JavaFePeer.java, stubs generated at test time from our
thrift/ by tests/interop/peers.sh) plays the Java FE: its client, set up as the FE's client
pools (TSocket + strict TBinaryProtocol, buffered or TFramedTransport), heartbeats two BEs
and submits CREATE, MAKE_SNAPSHOT, DOWNLOAD (remote_tablet_snapshots from BE A to BE B) and
PUSH_COOLDOWN_CONF; its TThreadPoolServer FrontendService (the heartbeat's master address)
receives what our BEs send back: finishTask, report, snapshotLoaderReport. Everything is
asserted as Java decoded it (TSimpleJSONProtocol: field names, enums and bools as numbers,
map keys as strings, unset optionals absent). Also: our bench client (`doris-rs bench rpc --addr`) against a Java
TThreadPoolServer, buffered and framed.
"""

import json
import os
import pathlib
import struct
import subprocess

import pytest

from interop_procs import bench_client_against, build_peer, free_port, read_records, start_doris_rs, stop, wait_until

CLUSTER_ID = 424242
EPOCH = 7
TOKEN = "java-fe-token-0123456789"
SCHEMA_HASH = 368169781

# TTaskType / TStatusCode / TStorageMedium values (thrift/Types.thrift, Status.thrift).
CREATE, MAKE_SNAPSHOT, DOWNLOAD, PUSH_COOLDOWN_CONF = 0, 8, 12, 28
OK = 0
HDD = 0
# What every finishTask carries.
COMMON = {"backend", "task_type", "signature", "task_status"}


@pytest.fixture(scope="module")
def java_classpath():
    return (build_peer("java") / "classpath").read_text().strip()


class JavaFe:
    """JavaFePeer: a recording FrontendService plus a command-driven client."""

    def __init__(self, classpath, records, server_framing="buffered"):
        self.records_path = records
        records.touch()
        self.proc = subprocess.Popen(
            ["java", "-Xmx512m", "-cp", classpath, "JavaFePeer", str(records), server_framing],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("FrontendService listening on "):
            self.proc.kill()
            pytest.fail(f"JavaFePeer did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def cmd(self, name, **kw):
        self.proc.stdin.write(name + "".join(f" {k}={v}" for k, v in kw.items()) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"JavaFePeer exited during {name}"
        r = json.loads(line)
        assert r["cmd"] == name
        assert r["ok"], f"{name} failed in Java: {r.get('error')}"
        return r["result"]

    def records(self, method=None):
        return read_records(self.records_path, method)

    def wait_record(self, method, pred, what):
        return wait_until(what, lambda: next((r for r in self.records(method) if pred(r)), None))

    def wait_finish(self, task_type, sig):
        return self.wait_record(
            "finishTask", lambda r: r["task_type"] == task_type and r["signature"] == sig, f"finishTask {task_type}/{sig}"
        )

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
        except OSError:
            pass
        stop(self.proc, close_stdin=True)


class Be:
    """A real `doris-rs be` on free ports."""

    def __init__(self, binary, root: pathlib.Path):
        self.root = root
        self.storage = root / "storage"
        self.storage.mkdir(parents=True)
        self.be_port, self.hb_port, self.http_port, self.brpc_port = (free_port() for _ in range(4))
        self.proc, self.log = start_doris_rs(
            binary,
            "be",
            root,
            f"be_port = {self.be_port}\nheartbeat_service_port = {self.hb_port}\n"
            f"webserver_port = {self.http_port}\nbrpc_port = {self.brpc_port}\n"
            f"storage_root_path = {self.storage}\npriority_networks = 127.0.0.0/8\n"
            "report_tablet_interval_seconds = 1\nreport_disk_state_interval_seconds = 1\n"
            "report_task_interval_seconds = 1\nstorage_min_left_capacity_bytes = 0\n",
            (self.hb_port, self.be_port, self.http_port),
        )

    @property
    def addr(self):
        return f"127.0.0.1:{self.be_port}"

    @property
    def hb_addr(self):
        return f"127.0.0.1:{self.hb_port}"

    def tablet_dir(self, tablet_id):
        found = list(self.storage.glob(f"data/*/{tablet_id}/{SCHEMA_HASH}"))
        assert len(found) == 1, f"tablet {tablet_id} dirs: {found}"
        return found[0]

    def close(self):
        stop(self.proc)


def hdr_rowset_ids(path):
    """Rowset ids from a snapshot's .hdr (doris-rs format: 24-byte header, JSON body)."""
    data = path.read_bytes()
    assert data[:8] == b"DRSTMETA", path
    (n,) = struct.unpack(">Q", data[12:20])
    meta = json.loads(data[24 : 24 + n])
    return [r["rowset_id"] for r in meta["rowsets"]]


@pytest.fixture
def cluster(doris_rs_bin, java_classpath, tmp_path):
    java = JavaFe(java_classpath, tmp_path / "records.jsonl")
    bes = []
    try:
        for name in ("be-a", "be-b"):
            bes.append(Be(doris_rs_bin, tmp_path / name))
        yield java, bes
    finally:
        for b in bes:
            b.close()
        java.close()


def assert_backend(b, be, backend_id):
    assert b == {
        "host": "127.0.0.1",
        "be_port": be.be_port,
        "http_port": be.http_port,
        "brpc_port": be.brpc_port,
        "id": backend_id,
    }


@pytest.mark.parametrize("framed", [0, 1], ids=["buffered", "framed"])
def test_java_fe_drives_our_bes(cluster, framed):
    java, (a, b) = cluster
    ids = {a: 10001, b: 10002}

    # -- heartbeat: TMasterInfo from Java, THeartbeatResult decoded by Java.
    for be in (a, b):
        r = java.cmd(
            "heartbeat",
            addr=be.hb_addr,
            framed=framed,
            fe_port=java.port,
            cluster_id=CLUSTER_ID,
            epoch=EPOCH,
            token=TOKEN,
            backend_id=ids[be],
            backend_ip="127.0.0.1",
        )
        assert r["status"] == {"status_code": OK}
        info = r["backend_info"]
        assert info["be_port"] == be.be_port
        assert info["http_port"] == be.http_port
        assert info["be_rpc_port"] == -1
        assert info["brpc_port"] == be.brpc_port
        assert info["version"].startswith("doris-rs-")
        assert info["be_start_time"] > 1_600_000_000_000
        assert info["be_node_role"] == "mix"
        assert info["is_shutdown"] == 0
    # A wrong cluster id is refused, and says so.
    r = java.cmd(
        "heartbeat", addr=a.hb_addr, framed=framed, fe_port=java.port, cluster_id=CLUSTER_ID + 1,
        epoch=EPOCH, token=TOKEN, backend_id=ids[a], backend_ip="127.0.0.1",
    )
    assert r["status"]["status_code"] != OK
    assert "cluster id" in " ".join(r["status"]["error_msgs"]).lower()

    # -- the first reports reach the Java FE: disks and tasks, with this BE as TBackend.
    disk_rep = java.wait_record(
        "report", lambda r: r["backend"].get("id") == ids[a] and "disks" in r, "A's disk report"
    )
    assert_backend(disk_rep["backend"], a, ids[a])
    [(root, disk)] = disk_rep["disks"].items()
    assert root == str(a.storage.resolve()) or root == str(a.storage)
    assert disk["root_path"] == root
    assert disk["disk_total_capacity"] > 0
    assert 0 < disk["disk_available_capacity"] <= disk["disk_total_capacity"]
    assert disk["data_used_capacity"] == 0
    assert disk["used"] == 1
    assert disk["storage_medium"] == HDD
    assert isinstance(disk["path_hash"], int)
    assert disk_rep["num_cores"] >= 1
    assert disk_rep["pipeline_executor_size"] == disk_rep["num_cores"]
    task_rep = java.wait_record("report", lambda r: r["backend"].get("id") == ids[a] and "tasks" in r, "A's task report")
    assert isinstance(task_rep["tasks"], dict)

    # -- CREATE on A and on B.
    def create(be, sig, tablet, replica):
        r = java.cmd(
            "create", addr=be.addr, framed=framed, sig=sig, tablet=tablet, schema_hash=SCHEMA_HASH,
            replica=replica, partition=70001, table=80001, version=1,
        )
        assert r == {"status": {"status_code": OK}}
        f = java.wait_finish(CREATE, sig)
        assert f["task_status"] == {"status_code": OK}, f
        assert set(f) == COMMON | {"report_version", "finish_tablet_infos"}
        assert_backend(f["backend"], be, ids[be])
        assert f["report_version"] > 0
        [info] = f["finish_tablet_infos"]
        assert info["tablet_id"] == tablet
        assert info["schema_hash"] == SCHEMA_HASH
        assert info["version"] == 1
        assert info["version_hash"] == 0
        assert info["row_count"] == 0
        assert info["data_size"] == 0
        assert info["storage_medium"] == HDD
        assert info["replica_id"] == replica
        assert info["partition_id"] == 70001
        assert info["total_version_count"] == 1
        assert info["used"] == 1
        assert info["cooldown_term"] == 0
        assert isinstance(info["path_hash"], int)
        return f

    create(a, 1001, 50001, 60001)
    create(b, 2001, 50002, 60002)

    # -- MAKE_SNAPSHOT on A without list_files: snapshot_path set, snapshot_files empty.
    def snapshot(be, sig, tablet, list_files):
        r = java.cmd(
            "snapshot", addr=be.addr, framed=framed, sig=sig, tablet=tablet, schema_hash=SCHEMA_HASH,
            list_files=list_files,
        )
        assert r == {"status": {"status_code": OK}}
        f = java.wait_finish(MAKE_SNAPSHOT, sig)
        assert f["task_status"] == {"status_code": OK}, f
        assert set(f) == COMMON | {"snapshot_path", "snapshot_files"}
        assert_backend(f["backend"], be, ids[be])
        path = pathlib.Path(f["snapshot_path"])
        assert path.is_dir()
        assert path.resolve().is_relative_to(be.storage.resolve()), path
        return f, path / str(tablet) / str(SCHEMA_HASH)

    f, first = snapshot(a, 1002, 50001, 0)
    assert f["snapshot_files"] == []
    # A data file of the tablet's rowset, so the DOWNLOAD moves real bytes.
    [rowset_id] = hdr_rowset_ids(first / "50001.hdr")
    data = os.urandom(300 * 1024 + 7)
    (a.tablet_dir(50001) / f"{rowset_id}_0.dat").write_bytes(data)
    f, a_snap = snapshot(a, 1003, 50001, 1)
    assert f["snapshot_files"] == sorted(["50001.hdr", f"{rowset_id}_0.dat"])
    assert (a_snap / f"{rowset_id}_0.dat").read_bytes() == data

    # -- DOWNLOAD on B from A's snapshot (remote_tablet_snapshots), into B's own snapshot dir.
    _, b_snap = snapshot(b, 2002, 50002, 1)
    r = java.cmd(
        "download", addr=b.addr, framed=framed, sig=2003, job=9001, local_tablet=50002, local_path=b_snap,
        remote_tablet=50001, remote_be_id=ids[a], remote_host="127.0.0.1", remote_port=a.http_port,
        remote_path=a_snap, token=TOKEN,
    )
    assert r == {"status": {"status_code": OK}}
    f = java.wait_finish(DOWNLOAD, 2003)
    assert f["task_status"] == {"status_code": OK}, f
    assert set(f) == COMMON | {"downloaded_tablet_ids"}
    assert_backend(f["backend"], b, ids[b])
    assert f["downloaded_tablet_ids"] == [50002]
    assert (b_snap / f"{rowset_id}_0.dat").read_bytes() == data
    assert (b_snap / "50002.hdr").is_file() and not (b_snap / "50001.hdr").exists()
    progress = [r for r in java.records("snapshotLoaderReport") if r["task_id"] == 2003]
    assert progress, "the pull reported its progress"
    for p in progress:
        assert p["job_id"] == 9001
        assert p["task_type"] == DOWNLOAD
        assert 0 <= p["finished_num"] <= p["total_num"] == 1
    assert progress[-1]["finished_num"] == 1

    # -- PUSH_COOLDOWN_CONF on A: no finishTask; the term shows in A's next tablet report.
    r = java.cmd("cooldown", addr=a.addr, framed=framed, sig=1004, tablet=50001, replica=60001, term=5)
    assert r == {"status": {"status_code": OK}}

    def cooled(rep):
        t = rep.get("tablets", {}).get("50001")
        return rep["backend"].get("id") == ids[a] and t and t["tablet_infos"][0].get("cooldown_term") == 5

    rep = java.wait_record("report", cooled, "A's tablet report with cooldown_term 5")
    assert_backend(rep["backend"], a, ids[a])
    assert rep["report_version"] > 0
    [info] = rep["tablets"]["50001"]["tablet_infos"]
    assert info["tablet_id"] == 50001
    assert info["replica_id"] == 60001
    assert info["partition_id"] == 70001
    assert info["schema_hash"] == SCHEMA_HASH
    assert info["version"] == 1
    listed = [t["tablet_infos"][0] for t in rep["tablet_list"]]
    assert [t["tablet_id"] for t in listed] == [50001]
    assert listed[0]["cooldown_term"] == 5
    assert rep["tablet_max_compaction_score"] == 0
    assert rep["storage_policy"] == [] and rep["resource"] == []
    assert not [f for f in java.records("finishTask") if f["task_type"] == PUSH_COOLDOWN_CONF]

    # -- get_tablet_stat, a synchronous call, decodes too.
    stat = java.cmd("tablet_stat", addr=b.addr, framed=framed)
    assert list(stat["tablets_stats"]) == ["50002"]
    assert stat["tablets_stats"]["50002"]["tablet_id"] == 50002
    assert [s["tablet_id"] for s in stat["tablet_stat_list"]] == [50002]


@pytest.mark.parametrize("framing", ["buffered", "framed"])
def test_our_bench_client_against_java_thread_pool_server(doris_rs_bin, java_classpath, framing):
    """`bench rpc --addr`: our client, Java's TThreadPoolServer, the bench convention."""
    bench_client_against(
        doris_rs_bin,
        ["java", "-Xmx512m", "-cp", java_classpath, "JavaBenchServer", str(2 * 1024 * 1024), framing],
        framing,
    )
