"""One FE and one BE of ours, each an OS process (`doris-rs fe|be --conf`), for the
end-to-end tests that kill, stop or restart them (test_fe_kill_jobs, test_be_kill_jobs,
test_be_kill_load, test_be_partition, test_restore_missing_partition): the processes, their
conf files, SQL over pymysql, stream loads with curl, and polls that wait for a state
(never for time to pass).
"""

import json
import os
import signal
import socket
import subprocess
import time

import pymysql
import pytest

from test_local_cluster import HOST, pick_base  # noqa: F401 (pick_base re-exported)

# Start-up and job bounds: generous for a loaded 2-core machine; polls end as soon as met.
UP_TIMEOUT_S = 60
JOB_TIMEOUT_S = 90
HEARTBEAT_S = 2
# The FE drops a tablet no table holds once its BE reported it unknown this long (the
# larger of max_create_table_timeout_second and 10 s).
ORPHAN_GRACE_S = 10


def poll(what, timeout, fn, interval=0.02):
    """fn() until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def unread_bytes_to(port):
    """Bytes unread in TCP connections to local `port` (from /proc/net/tcp*), open (01) or
    closed by the peer (CLOSE_WAIT, 08): with the BE stopped, requests the FE sent it and
    nobody read."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] in ("01", "08") and int(fields[1].rsplit(":", 1)[1], 16) == port:
                total += int(fields[4].split(":")[1], 16)
    return total


def log_tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except FileNotFoundError:
        return ""


class Proc:
    """One doris-rs process of ours; stderr appended to `log`."""

    def __init__(self, binary, role, conf, log):
        self.binary, self.role, self.conf, self.log = str(binary), role, conf, log
        self.p = None

    def start(self, env=None):
        assert self.p is None or self.p.poll() is not None
        with open(self.log, "a") as log:
            self.p = subprocess.Popen(
                [self.binary, self.role, "--conf", str(self.conf)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                env={**os.environ, **(env or {})},
            )

    def running(self):
        return self.p is not None and self.p.poll() is None

    def signal(self, sig):
        self.p.send_signal(sig)

    def kill9(self):
        """SIGKILL and reap: a crash, nothing flushed or closed by the process."""
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(30)

    def wait_exit(self, what, timeout=UP_TIMEOUT_S):
        poll(what, timeout, lambda: self.p.poll() is not None)

    def stop(self):
        """SIGTERM (after SIGCONT, should it be stopped) and reap."""
        if self.running():
            self.p.send_signal(signal.SIGCONT)
            self.p.terminate()
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(30)


def listening(port):
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


class Cluster:
    def __init__(self, binary, d, base):
        self.d = d
        self.fe_ports = {"query": 9030 + base, "rpc": 9020 + base, "http": 8030 + base}
        self.be_ports = {"be": 9060 + base, "heartbeat": 9050 + base, "http": 8040 + base, "brpc": 8060 + base}
        (d / "meta").mkdir()
        (d / "storage").mkdir()
        self.repo = d / "repo"
        self.repo.mkdir()
        fe_conf = d / "fe.conf"
        fe_conf.write_text(
            f"query_port = {self.fe_ports['query']}\nrpc_port = {self.fe_ports['rpc']}\n"
            f"http_port = {self.fe_ports['http']}\nmeta_dir = {d / 'meta'}\n"
            f"priority_networks = 127.0.0.1/32\nheartbeat_interval_second = {HEARTBEAT_S}\n"
            # Every job of the test stays listed, so lost or doubled jobs show.
            "max_backup_restore_job_num_per_db = 100\n"
            # Also the grace before the FE drops tablets no table holds (ORPHAN_GRACE_S).
            f"max_create_table_timeout_second = {ORPHAN_GRACE_S}\n"
        )
        be_conf = d / "be.conf"
        be_conf.write_text(
            f"be_port = {self.be_ports['be']}\nheartbeat_service_port = {self.be_ports['heartbeat']}\n"
            f"webserver_port = {self.be_ports['http']}\nbrpc_port = {self.be_ports['brpc']}\n"
            f"storage_root_path = {d / 'storage'}\npriority_networks = 127.0.0.1/32\n"
            "report_task_interval_seconds = 1\nreport_tablet_interval_seconds = 1\n"
            "report_disk_state_interval_seconds = 1\nstorage_min_left_capacity_bytes = 0\n"
        )
        self.fe = Proc(binary, "fe", fe_conf, d / "fe.log")
        self.be = Proc(binary, "be", be_conf, d / "be.log")
        self.conn = None
        self.crashed_in = []

    # --- processes ---------------------------------------------------------------------

    def start_joined(self):
        """Start the BE and the FE, and register the BE; return once it is alive."""
        self.start_be()
        self.start_fe()
        self.run(f'ALTER SYSTEM ADD BACKEND "{HOST}:{self.be_ports["heartbeat"]}"')
        self.wait_be_alive()

    def start_fe(self):
        self.fe.start()
        self.conn = None
        poll(f"the FE to answer on {self.fe_ports['query']}\n{log_tail(self.fe.log)}", UP_TIMEOUT_S, self._connect)

    def _connect(self):
        if not self.fe.running():
            pytest.fail(f"the FE exited with {self.fe.p.returncode}:\n{log_tail(self.fe.log)}")
        try:
            self.conn = pymysql.connect(host=HOST, port=self.fe_ports["query"], user="root", password="",
                                        autocommit=True, connect_timeout=2)
            return True
        except pymysql.err.OperationalError:
            return False

    def start_be(self, env=None):
        self.be.start(env)

        def up():
            if not self.be.running():
                pytest.fail(f"the BE exited with {self.be.p.returncode}:\n{log_tail(self.be.log)}")
            return listening(self.be_ports["heartbeat"]) and listening(self.be_ports["be"])

        poll("the BE to listen", UP_TIMEOUT_S, up)

    def restart_be(self, env=None):
        """Stop and start the BE; return once a heartbeat reached the new process (the FE saw
        the BE down, then alive): until its first heartbeat a BE refuses tasks."""
        self.be.stop()
        poll("the stopped BE shown dead", UP_TIMEOUT_S,
             lambda: [r["Alive"] for r in self.rows("SHOW BACKENDS")] == ["false"])
        self.start_be(env)
        self.wait_be_alive()

    def wait_be_alive(self):
        poll("the BE alive in SHOW BACKENDS", UP_TIMEOUT_S,
             lambda: [r["Alive"] for r in self.rows("SHOW BACKENDS")] == ["true"])

    def crash_fe(self):
        self.fe.kill9()
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def cleanup(self):
        for p in (self.fe, self.be):
            p.stop()

    # --- SQL ---------------------------------------------------------------------------

    def rows(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def run(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def values(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def data(self, db, table):
        """COUNT(*) and a full scan in key order."""
        return (self.values(f"SELECT COUNT(*) FROM {db}.{table}")[0][0],
                self.values(f"SELECT k, v, amt FROM {db}.{table} ORDER BY k"))

    def stream_load(self, db, table, path, label):
        out = subprocess.run(
            ["curl", "-sS", "--location-trusted", "-u", "root:", "-H", f"label:{label}", "-H", "column_separator:,",
             "-T", str(path), f"http://{HOST}:{self.fe_ports['http']}/api/{db}/{table}/_stream_load"],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout
        return out


def job_rows(c, kind, db, label):
    if kind == "backup":
        return c.rows(f'SHOW BACKUP FROM {db} WHERE SnapshotName = "{label}"')
    return c.rows(f'SHOW RESTORE FROM {db} WHERE Label = "{label}"')


def job_state(c, kind, db, label):
    rows = job_rows(c, kind, db, label)
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def wait_state(c, kind, db, label, want, instead):
    """The job's row once it is `want`; fails at once if it ends `instead`."""
    def reached():
        r = job_state(c, kind, db, label)
        if r and r["State"] == instead:
            pytest.fail(f"{kind} {label} is {instead}, not {want}: {r}\n{log_tail(c.fe.log)}")
        return r if r and r["State"] == want else False

    return poll(f"{kind} {label} {want}\n{log_tail(c.fe.log)}", JOB_TIMEOUT_S, reached)


def wait_finished(c, kind, db, label):
    return wait_state(c, kind, db, label, "FINISHED", "CANCELLED")


def seeded(binary, d, base, ddl, rows_csv, fe_conf_extra=""):
    """A started cluster (BE registered and alive) with databases `src` and `dst`, the
    table `src.t` made by `ddl` (formatted with db and name) and stream-loaded from
    `rows_csv` (its text), and a `file://` repository `repo`. The caller cleans it up."""
    c = Cluster(binary, d, base)
    if fe_conf_extra:
        with c.fe.conf.open("a") as f:
            f.write(fe_conf_extra)
    try:
        c.start_joined()
        c.run("CREATE DATABASE src")
        c.run("CREATE DATABASE dst")
        c.run(ddl.format(db="src", name="t"))
        csv = c.d / "rows.csv"
        csv.write_text(rows_csv)
        res = json.loads(c.stream_load("src", "t", csv, "rows_1"))
        assert (res["Status"], res["NumberLoadedRows"]) == ("Success", rows_csv.count("\n")), res
        c.run(f'CREATE REPOSITORY repo WITH LOCAL ON LOCATION "file://{c.repo}"')
    except BaseException:
        c.cleanup()
        raise
    return c
