"""Apache Thrift's C++ library as the BE, against a real `doris-rs fe` process.

tests/interop/cpp/cpp_peer.cpp (stubs generated at test time from our thrift/ by
tests/interop/peers.sh) plays the C++ BE both ways:
- `cpp_peer be`: TThreadedServer BackendService + HeartbeatService. Registered in our FE
  with ALTER SYSTEM ADD BACKEND over MySQL, it records the FE's heartbeats (TMasterInfo) and
  the CREATE tasks of CREATE TABLE field by field, and acknowledges each task with a
  finishTask (TBufferedTransport + TBinaryProtocol, as the BE's FE client cache).
- `cpp_peer call`: the BE's FE client calling finishTask, report, getMasterToken,
  getBackendMeta, getSnapshot and restoreSnapshot, buffered and framed.
Also: our bench client (`doris-rs bench rpc --addr`) against a C++ TThreadedServer.
"""

import json
import pathlib
import socket
import subprocess
import time

import pymysql
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DEADLINE_S = 60
ROOT_PASSWORD = "cpp-root-pw"
CLUSTER_ID = 271828

# Thrift enum values (thrift/Types.thrift, Status.thrift).
CREATE = 0
OK, NOT_IMPLEMENTED_ERROR, NOT_FOUND, INVALID_ARGUMENT, SNAPSHOT_NOT_EXIST = 0, 3, 31, 33, 70
DUP_KEYS, COLUMN = 1, 1
INT, VARCHAR, BIGINT = 5, 15, 6
HDD = 0


def build_peer(lang):
    """tests/interop/peers.sh <lang>: the cached build dir of that peer."""
    proc = subprocess.run(
        ["bash", str(REPO / "tests/interop/peers.sh"), lang], capture_output=True, text=True, timeout=1200
    )
    if proc.returncode != 0:
        pytest.fail(f"building the {lang} peer failed:\n{proc.stdout}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        if line.startswith(f"{lang}="):
            return pathlib.Path(line.split("=", 1)[1])
    pytest.fail(f"peers.sh printed no {lang}= line: {proc.stdout}")


@pytest.fixture(scope="module")
def cpp_bin():
    return build_peer("cpp") / "bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(what, probe, deadline_s=DEADLINE_S):
    end = time.monotonic() + deadline_s
    while True:
        v = probe()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Fe:
    """A real `doris-rs fe` on free ports, reached over MySQL with pymysql."""

    def __init__(self, binary, root: pathlib.Path):
        self.rpc_port, self.query_port, self.http_port = free_port(), free_port(), free_port()
        meta = root / "meta"
        meta.mkdir(parents=True)
        conf = root / "fe.conf"
        conf.write_text(
            f"rpc_port = {self.rpc_port}\nquery_port = {self.query_port}\nhttp_port = {self.http_port}\n"
            f"meta_dir = {meta}\npriority_networks = 127.0.0.0/8\ncluster_id = {CLUSTER_ID}\n"
            f"root_password = {ROOT_PASSWORD}\nheartbeat_interval_second = 0.2\n"
            "max_create_table_timeout_second = 30\n"
        )
        self.log = root / "fe.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([str(binary), "fe", "--conf", str(conf)], stdout=subprocess.DEVNULL, stderr=err)

        def listening():
            if self.proc.poll() is not None:
                pytest.fail(f"FE exited with {self.proc.returncode}:\n{self.log.read_text()}")
            return accepts(self.query_port) and accepts(self.rpc_port)

        wait_until("the FE to listen", listening)
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
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class CppBe:
    """`cpp_peer be`: the C++ BE's two thrift services, recording into a file."""

    def __init__(self, bin_dir, records: pathlib.Path):
        self.records_path = records
        records.touch()
        self.http_port, self.brpc_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            [str(bin_dir / "cpp_peer"), "be", str(records), str(self.http_port), str(self.brpc_port), "buffered"],
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
        out = []
        for line in self.records_path.read_text().splitlines():
            r = json.loads(line)
            if r["method"] == method:
                out.append(r["request"])
        return out

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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
    be = CppBe(cpp_bin, root / "records.jsonl")
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

    tasks = [t for t in be.records("submit_tasks") if t["task_type"] == CREATE]
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
        assert c["in_restore_mode"] is False
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
        for col in cols:
            assert col["column_type"]["type"] in (INT, VARCHAR, BIGINT)
    # Signatures are unique, and every CREATE was acknowledged with the FE answering OK.
    assert len({t["signature"] for t in tasks}) == 3
    replies = {r["signature"]: r for r in be.records("finishTask.reply") if r["task_type"] == CREATE}
    for t in tasks:
        assert replies[t["signature"]] == {"task_type": CREATE, "signature": t["signature"], "status": {"status_code": OK}}


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


@pytest.mark.parametrize("framing", ["buffered", "framed"])
def test_our_bench_client_against_cpp_threaded_server(doris_rs_bin, cpp_bin, framing):
    """`bench rpc --addr`: our client, C++'s TThreadedServer, the bench convention."""
    server = subprocess.Popen(
        [str(cpp_bin / "cpp_bench_server"), str(2 * 1024 * 1024), framing],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("FrontendService listening on "), line
        addr = line.split()[-1]
        cmd = [str(doris_rs_bin), "bench", "rpc", "--addr", addr, "--seconds", "0.3", "--big-mib", "2", "--json"]
        if framing == "framed":
            cmd.append("--framed")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        rows = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
        small = [r for r in rows if r["case"] == "small"]
        assert [r["conns"] for r in small] == [1, 64]
        assert all(r["calls"] > 0 and r["framed"] == (framing == "framed") for r in small)
        assert {r["case"] for r in rows} == {"small", "big_reply", "big_request"}
    finally:
        server.stdin.close()
        server.wait(timeout=30)
