"""End-to-end: `doris-rs local` starts one FE and N BEs as real processes, registers the
BEs, and stops them on SIGINT/SIGTERM; a restart with the same --dir finds its data.

Needs the binary (`cargo build --bin doris-rs`, or DORIS_RS_BIN) and pymysql.
Every cluster here runs on a random --base-port far from upstream's ports, so a
developer's own `doris-rs local` (or real Doris) keeps running undisturbed.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pymysql
import pytest

HOST = "127.0.0.1"
# Start-up is a few seconds; the bound is generous for a loaded 2-core machine.
UP_TIMEOUT_S = 120
# `doris-rs local` gives its children 40 s after SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 90


def expected_ports(base, bes):
    """The documented layout: upstream's ports for the FE and BE 0, BE i adds i, all + base."""
    fe = {"query": 9030 + base, "rpc": 9020 + base, "http": 8030 + base}
    be = [
        {"be": 9060 + i + base, "heartbeat": 9050 + i + base, "http": 8040 + i + base, "brpc": 8060 + i + base}
        for i in range(bes)
    ]
    return fe, be


def bound_ports(base, bes):
    fe, be = expected_ports(base, bes)
    return list(fe.values()) + [b[k] for b in be for k in ("be", "heartbeat", "http")]


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_base(bes, neighbour=None):
    """A random base (multiple of 100, not of 1000) whose ports are all free, and, given
    `neighbour` = (offset, bes), those of a second cluster at base + offset too. Ports stay
    below Linux's ephemeral range (32768), where other tests' kernel-picked ports live."""
    for _ in range(200):
        base = 10000 + 100 * random.randrange(0, 115)
        if base % 1000 == 0:
            continue
        wanted = bound_ports(base, bes)
        if neighbour:
            wanted += bound_ports(base + neighbour[0], neighbour[1])
        if all(port_free(p) for p in wanted):
            return base
    pytest.fail("no free port range found for a test cluster")


def pid_gone(pid):
    """No such process (a zombie, not yet reaped, still counts as there)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "X"
    except FileNotFoundError:
        return True


def ppid_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class LocalCluster:
    """One `doris-rs local` process, its output collected line by line."""

    def __init__(self, binary, directory, base, bes):
        self.binary, self.dir, self.base, self.bes = str(binary), directory, base, bes
        self.proc = None
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self.fe_pid, self.be_pids = None, []
        self.query_port = None

    def _pump(self, stream, sink):
        for line in stream:
            with self.cond:
                sink.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def launch(self, *extra):
        cmd = [self.binary, "local", "--bes", str(self.bes), "--dir", str(self.dir), "--base-port", str(self.base)]
        self.proc = subprocess.Popen(
            cmd + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
        )
        self.threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self.threads:
            t.start()
        return self

    def output(self):
        with self.cond:
            return "\n".join(self.out) + "\n--- stderr ---\n" + "\n".join(self.err)

    def start(self, *extra):
        """Launch and wait for the whole banner (it ends with the `logs:` line)."""
        self.launch(*extra)
        deadline = time.monotonic() + UP_TIMEOUT_S
        with self.cond:
            while not any(l.startswith("logs: ") for l in self.out):
                if self.proc.poll() is not None:
                    self.cond.wait(1)  # let the pumps drain what it printed
                    pytest.fail(f"doris-rs local exited with {self.proc.returncode} before it was up:\n{self.output()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"doris-rs local was not up within {UP_TIMEOUT_S} s:\n{self.output()}")
                self.cond.wait(min(left, 0.5))
            banner = list(self.out)
        text = "\n".join(banner)
        assert f"doris-rs local cluster is up (1 FE, {self.bes} BE" in text, text
        self.query_port = int(re.search(r"mysql -h127\.0\.0\.1 -P(\d+) -uroot", text).group(1))
        self.fe_pid = int(re.search(r"^  FE: .* pid (\d+)$", text, re.M).group(1))
        self.be_pids = [int(m) for m in re.findall(r"^  BE \d+: .* pid (\d+)$", text, re.M)]
        assert len(self.be_pids) == self.bes, text
        return text

    def wait_line(self, needle):
        """Wait until stdout or stderr has a line containing `needle`."""
        deadline = time.monotonic() + UP_TIMEOUT_S
        with self.cond:
            while not any(needle in l for l in self.out + self.err):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not any(t.is_alive() for t in self.threads)):
                    pytest.fail(f"no line with {needle!r} from doris-rs local:\n{self.output()}")
                self.cond.wait(min(max(left, 0.01), 0.5))

    def pids(self):
        return [self.fe_pid, *self.be_pids]

    def connect(self):
        return pymysql.connect(host=HOST, port=self.query_port, user="root", password="", autocommit=True)

    def send(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self):
        rc = self.proc.wait(STOP_TIMEOUT_S)
        for t in self.threads:
            t.join(10)
        return rc

    def cleanup(self):
        """Teardown after a failed test: only the processes this test started."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.pids():
            if pid is not None and not pid_gone(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture
def clusters(doris_rs_bin):
    started = []

    def make(directory, base, bes):
        c = LocalCluster(doris_rs_bin, directory, base, bes)
        started.append(c)
        return c

    yield make
    for c in started:
        c.cleanup()


def rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def run(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)


def assert_backends_alive(cluster, base):
    _, be = expected_ports(base, cluster.bes)
    with cluster.connect() as conn:
        shown = rows(conn, "SHOW BACKENDS")
    assert len(shown) == cluster.bes, shown
    assert all(r["Alive"] == "true" for r in shown), shown
    assert {int(r["HeartbeatPort"]) for r in shown} == {b["heartbeat"] for b in be}
    assert {int(r["BePort"]) for r in shown} == {b["be"] for b in be}
    assert {int(r["HttpPort"]) for r in shown} == {b["http"] for b in be}
    return shown


def assert_stopped(cluster):
    """Exit 0 and every child reaped."""
    rc = cluster.wait_exit()
    assert rc == 0, cluster.output()
    for pid in cluster.pids():
        assert pid_gone(pid), f"child {pid} still running after doris-rs local exited"


CREATE_TABLE = """
CREATE TABLE e2e.t1 (k1 INT, v1 VARCHAR(32)) DUPLICATE KEY(k1)
PARTITION BY RANGE(k1) (
  PARTITION p1 VALUES LESS THAN ("10"),
  PARTITION p2 VALUES LESS THAN ("20"),
  PARTITION p3 VALUES LESS THAN ("30"))
DISTRIBUTED BY HASH(k1) BUCKETS 2
PROPERTIES ("replication_num" = "3")
"""


def assert_table(conn, backend_ids):
    assert "e2e" in {r["Database"] for r in rows(conn, "SHOW DATABASES")}
    run(conn, "USE e2e")
    assert [r["Tables_in_e2e"] for r in rows(conn, "SHOW TABLES")] == ["t1"]
    assert [r["PartitionName"] for r in rows(conn, "SHOW PARTITIONS FROM t1")] == ["p1", "p2", "p3"]
    tablets = rows(conn, "SHOW TABLETS FROM t1")
    # 3 partitions x 2 buckets x 3 replicas, one replica of each tablet on every BE.
    assert len(tablets) == 18, tablets
    assert len({r["TabletId"] for r in tablets}) == 6
    per_be = {}
    for r in tablets:
        per_be.setdefault(str(r["BackendId"]), set()).add(r["TabletId"])
    assert set(per_be) == set(backend_ids)
    assert all(len(t) == 6 for t in per_be.values()), per_be


def test_start_create_table_stop_and_restart(clusters, tmp_path):
    base = pick_base(3)
    var = tmp_path / "var"
    c = clusters(var, base, 3)
    banner = c.start()

    # The documented layout, printed as it is.
    fe, be = expected_ports(base, 3)
    assert f"mysql -h127.0.0.1 -P{fe['query']} -uroot" in banner
    assert f"query 127.0.0.1:{fe['query']}  rpc 127.0.0.1:{fe['rpc']}  http 127.0.0.1:{fe['http']}" in banner
    for i, b in enumerate(be):
        assert f"BE {i}:   be 127.0.0.1:{b['be']}  heartbeat 127.0.0.1:{b['heartbeat']}  http 127.0.0.1:{b['http']}" in banner
    assert f"logs: {var}/log/" in banner
    # Separate processes, children of `doris-rs local`, with their confs, data and logs under --dir.
    assert len(set(c.pids())) == 4
    assert all(ppid_of(pid) == c.proc.pid for pid in c.pids())
    assert (var / "fe/conf/fe.conf").is_file() and (var / "fe/meta").is_dir() and (var / "log/fe.log").is_file()
    for i in range(3):
        assert (var / f"be{i}/conf/be.conf").is_file() and (var / f"be{i}/storage").is_dir()
        assert (var / f"log/be{i}.log").stat().st_size > 0
    assert f"query_port = {fe['query']}" in (var / "fe/conf/fe.conf").read_text()

    shown = assert_backends_alive(c, base)
    backend_ids = {str(r["BackendId"]) for r in shown}
    with c.connect() as conn:
        run(conn, "CREATE DATABASE e2e")
        run(conn, CREATE_TABLE)
        assert_table(conn, backend_ids)

    # Ctrl-C: exit 0, every child gone.
    c.send(signal.SIGINT)
    assert_stopped(c)
    assert "SIGINT, stopping the cluster" in c.output()

    # Same --dir: the FE meta and the BE storage are found again; nothing is re-registered.
    again = clusters(var, base, 3)
    again.start()
    assert "registered BE" not in again.output()
    assert not set(again.pids()) & set(c.pids())
    shown = assert_backends_alive(again, base)
    assert {str(r["BackendId"]) for r in shown} == backend_ids
    with again.connect() as conn:
        assert_table(conn, backend_ids)
    again.send(signal.SIGTERM)
    assert_stopped(again)


def test_two_clusters_side_by_side_and_a_dying_child(clusters, tmp_path):
    base_a = pick_base(2, neighbour=(100, 1))
    base_b = base_a + 100
    a = clusters(tmp_path / "a", base_a, 2)
    b = clusters(tmp_path / "b", base_b, 1)
    a.start()
    b.start()
    # Both answer at once, each with its own BEs only.
    assert_backends_alive(a, base_a)
    assert_backends_alive(b, base_b)
    with a.connect() as conn_a, b.connect() as conn_b:
        run(conn_a, "CREATE DATABASE only_in_a")
        assert "only_in_a" not in {r["Database"] for r in rows(conn_b, "SHOW DATABASES")}

    # A child that dies is named with its log, the others are stopped, the exit is non-zero.
    os.kill(b.be_pids[0], signal.SIGKILL)
    rc = b.wait_exit()
    assert rc != 0
    err = b.output().split("--- stderr ---", 1)[1]
    assert f"BE 0 (pid {b.be_pids[0]}) exited unexpectedly" in err, err
    assert "last " in err and "be0.log ---" in err, err
    assert pid_gone(b.fe_pid)

    # The neighbour is untouched.
    assert_backends_alive(a, base_a)

    # A child that cannot act on SIGTERM (stopped) is killed on a second Ctrl-C.
    os.kill(a.be_pids[1], signal.SIGSTOP)
    a.send(signal.SIGINT)
    a.wait_line("SIGINT, stopping the cluster")
    a.send(signal.SIGINT)
    assert_stopped(a)
    assert "SIGINT again, killing what is still running" in a.output(), a.output()
    assert f"BE 1 (pid {a.be_pids[1]}) killed" in a.output(), a.output()


@pytest.mark.parametrize("which", ["FE query_port", "BE 1 heartbeat_service_port"])
def test_a_taken_port_is_named(clusters, tmp_path, which):
    base = pick_base(2)
    fe, be = expected_ports(base, 2)
    port = fe["query"] if which.startswith("FE") else be[1]["heartbeat"]
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", port))
    holder.listen()
    try:
        c = clusters(tmp_path / "var", base, 2).launch()
        rc = c.wait_exit()
    finally:
        holder.close()
    assert rc != 0
    assert f"port {port} ({which}) is not free" in c.output(), c.output()
    assert "--base-port" in c.output()
    # Nothing was started or written.
    assert not (tmp_path / "var").exists()


def test_a_backend_that_never_becomes_alive_is_named(clusters, tmp_path):
    """BE storage of another cluster (a mixed-up --dir): the BE refuses the FE's
    heartbeats, so start-up fails naming the BE, the FE's reason and the BE's log."""
    base = pick_base(1)
    for name in ("x", "y"):
        c = clusters(tmp_path / name, base, 1)
        c.start()
        c.send(signal.SIGINT)
        assert_stopped(c)
    shutil.rmtree(tmp_path / "y/be0/storage")
    shutil.copytree(tmp_path / "x/be0/storage", tmp_path / "y/be0/storage")

    c = clusters(tmp_path / "y", base, 1).launch("--timeout", "3")
    rc = c.wait_exit()
    assert rc != 0
    err = c.output().split("--- stderr ---", 1)[1]
    m = re.search(r"BE 0 \(pid (\d+)\) is not Alive in SHOW BACKENDS after 3 s \((.*)\)", err)
    assert m, err
    assert "cluster id" in m.group(2), err
    assert "be0.log ---" in err and "heartbeat refused" in err, err
    assert "doris-rs local cluster is up" not in c.output()
    # Stopped on the way out, FE included.
    fe_pid = int(re.search(r"FE \(pid (\d+)\) stopped", err).group(1))
    assert pid_gone(int(m.group(1))) and pid_gone(fe_pid)


def test_extra_conf_keys_reach_the_services(clusters, tmp_path):
    """`--fe-conf`/`--be-conf` add keys to the generated confs: here upstream's table-level
    backup scheduler, so two backups of one database run side by side."""
    base = pick_base(1)
    var = tmp_path / "var"
    c = clusters(var, base, 1)
    c.start("--fe-conf", "enable_table_level_backup_concurrency=true",
            "--fe-conf", "max_backup_restore_concurrent_num_per_db=4",
            "--be-conf", "download_parallelism=4")
    assert "enable_table_level_backup_concurrency = true" in (var / "fe/conf/fe.conf").read_text()
    assert "download_parallelism = 4" in (var / "be0/conf/be.conf").read_text()
    with c.connect() as conn:
        shown = rows(conn, "SHOW FRONTEND CONFIG LIKE 'enable_table_level%'")
        assert [(r["Key"], r["Value"]) for r in shown] == [("enable_table_level_backup_concurrency", "true")]
        run(conn, "CREATE DATABASE e2e")
        for t in ("t1", "t2"):
            run(conn, f"CREATE TABLE e2e.{t} (k INT, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 "
                      'PROPERTIES ("replication_num" = "1")')
        # The default scheduler would refuse the second while the first runs.
        run(conn, "BACKUP SNAPSHOT e2e.s1 TO __keep_on_local__ ON (t1)")
        run(conn, "BACKUP SNAPSHOT e2e.s2 TO __keep_on_local__ ON (t2)")
        deadline = time.monotonic() + UP_TIMEOUT_S
        while True:
            jobs = rows(conn, "SHOW BACKUP FROM e2e")
            if {r["SnapshotName"]: r["State"] for r in jobs} == {"s1": "FINISHED", "s2": "FINISHED"}:
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.2)
        assert list(jobs[0])[-2:] == ["QueuePos", "BlockReason"], list(jobs[0])
    c.send(signal.SIGTERM)
    assert_stopped(c)
    # A key the services do not know is refused before anything starts.
    bad = clusters(tmp_path / "bad", pick_base(1), 1).launch("--fe-conf", "no_such_key=1")
    assert bad.wait_exit() != 0
    assert "--fe-conf no_such_key: not a key doris-rs reads" in bad.output()
    assert not (tmp_path / "bad").exists()
