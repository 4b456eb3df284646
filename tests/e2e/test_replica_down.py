"""End-to-end: loads into a 3-replica table with a BE killed (kill -9), on
`doris-rs local --bes 3 --keep-going`, as upstream behaves:

- with one BE of three down, a stream load succeeds (its replicas are left out of the
  load; each tablet has a quorum of 2) and reads back; later loads keep working; SHOW
  TABLETS shows the dead BE's replicas lagging (LstFailedVersion);
- with two of three down, a load is refused up front with upstream's
  "alive replica num 1 < load required replica num 2";
- once the BE is started again, its lagging replicas are repaired (CLONE from a healthy
  replica): SHOW TABLETS shows them caught up, and with the two other BEs stopped the
  repaired BE alone answers a SELECT with every row.

Needs the binary (DORIS_RS_BIN or target/debug/doris-rs), curl and pymysql.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from test_local_cluster import LocalCluster, pick_base

DB = "rd"
WAIT_S = 120


class Running:
    """The cluster of one test, and the BEs the test restarted itself."""

    def __init__(self, lc, directory, binary):
        self.lc, self.dir, self.binary = lc, directory, binary
        self.restarted = {}
        banner = "\n".join(lc.out)
        self.fe_http = int(re.search(r"^  FE: .* http 127\.0\.0\.1:(\d+)", banner, re.M).group(1))

    def sql(self, sql):
        conn = self.lc.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                names = [d[0] for d in cur.description] if cur.description else []
                return [dict(zip(names, r)) for r in cur.fetchall()]
        finally:
            conn.close()

    def load(self, label, lines):
        path = self.dir / f"{label}.csv"
        path.write_text("".join(l + "\n" for l in lines))
        cmd = ["curl", "-sS", "--location-trusted", "-u", "root:", "-H", f"label:{label}",
               "-H", "column_separator:,", "-T", str(path),
               f"http://127.0.0.1:{self.fe_http}/api/{DB}/t/_stream_load"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
        return json.loads(out)

    def alive(self):
        return {int(r["BackendId"]): r["Alive"] == "true" for r in self.sql("SHOW BACKENDS")}

    def backend_id_of(self, i):
        """The id of BE i (by its heartbeat port, upstream's 9050 + i + base)."""
        port = 9050 + i + self.lc.base
        return next(int(r["BackendId"]) for r in self.sql("SHOW BACKENDS") if int(r["HeartbeatPort"]) == port)

    def wait(self, what, cond):
        deadline = time.monotonic() + WAIT_S
        while True:
            got = cond()
            if got:
                return got
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.lc.output()}")
            time.sleep(0.5)

    def kill_be(self, i):
        """kill -9 BE i: one `doris-rs local` started (it reports the exit and keeps the
        others running) or one this test started again."""
        if i in self.restarted:
            p = self.restarted.pop(i)
            p.send_signal(signal.SIGKILL)
            p.wait()
        else:
            pid = self.lc.be_pids[i]
            os.kill(pid, signal.SIGKILL)
            self.lc.wait_line(f"BE {i} (pid {pid}) exited")

    def start_be(self, i):
        home = self.dir / "c" / f"be{i}"
        log = open(self.dir / "c" / "log" / f"be{i}.log", "a")
        self.restarted[i] = subprocess.Popen(
            [self.binary, "be", "--conf", str(home / "conf" / "be.conf")], cwd=home,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
        )

    def cleanup(self):
        for p in self.restarted.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        self.lc.cleanup()


@pytest.fixture
def cluster(doris_rs_bin, tmp_path):
    base = pick_base(3)
    lc = LocalCluster(doris_rs_bin, tmp_path / "c", base, 3)
    lc.start("--keep-going", "--fe-conf", "heartbeat_interval_second=1")
    c = Running(lc, tmp_path, str(doris_rs_bin))
    try:
        yield c
    finally:
        c.cleanup()


def tablets(c):
    return c.sql(f"SHOW TABLETS FROM {DB}.t")


def rows_of(n, start):
    return [(k, f"v{k}") for k in range(start, start + n)]


def test_loads_with_a_be_down_then_its_replicas_are_repaired(cluster):
    c = cluster
    c.sql(f"CREATE DATABASE {DB}")
    c.sql(f"""CREATE TABLE {DB}.t (k INT NOT NULL, v VARCHAR(16)) DUPLICATE KEY(k)
              DISTRIBUTED BY HASH(k) BUCKETS 3 PROPERTIES ("replication_num" = "3")""")
    data = rows_of(100, 0)
    res = c.load("l1", [f"{k},{v}" for k, v in data])
    assert res["Status"] == "Success", res

    # BE 2 killed: the FE sees it dead, and loads go on with the two others.
    dead = c.backend_id_of(2)
    c.kill_be(2)
    c.wait("BE 2 dead", lambda: not c.alive()[dead])
    more = rows_of(50, 100)
    res = c.load("l2", [f"{k},{v}" for k, v in more])
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 50), res
    data += more
    last = rows_of(10, 150)
    res = c.load("l3", [f"{k},{v}" for k, v in last])
    assert res["Status"] == "Success", res
    data += last
    assert c.sql(f"SELECT COUNT(*) AS n FROM {DB}.t") == [{"n": 160}]
    assert [(r["k"], r["v"]) for r in c.sql(f"SELECT k, v FROM {DB}.t ORDER BY k")] == data
    assert [r["VisibleVersion"] for r in c.sql(f"SHOW PARTITIONS FROM {DB}.t")] == ["4"]
    shown = tablets(c)
    on_dead = [r for r in shown if int(r["BackendId"]) == dead]
    assert len(on_dead) == 3 and all(r["LstFailedVersion"] == "4" and r["Version"] == "2" for r in on_dead), on_dead
    assert all(r["LstFailedVersion"] == "-1" and r["Version"] == "4" for r in shown if int(r["BackendId"]) != dead), shown

    # BE 1 killed too: one alive replica of three is short of the quorum, the load is
    # refused before anything is written, and the table stays as it was.
    other = c.backend_id_of(1)
    c.kill_be(1)
    c.wait("BE 1 dead", lambda: not c.alive()[other])
    res = c.load("l4", ["1000,x"])
    assert res["Status"] == "Fail", res
    assert "alive replica num 1 < load required replica num 2, alive backends: [" in res["Message"], res
    assert c.sql(f"SELECT COUNT(*) AS n FROM {DB}.t") == [{"n": 160}]

    # Both back: BE 1 missed nothing; BE 2's replicas are cloned from a healthy one.
    c.start_be(1)
    c.start_be(2)
    c.wait("both BEs alive", lambda: all(c.alive().values()))

    def caught_up():
        rows = [r for r in tablets(c) if int(r["BackendId"]) == dead]
        return all(r["LstFailedVersion"] == "-1" and r["Version"] == "4" for r in rows) and rows

    repaired = c.wait("BE 2's replicas repaired", caught_up)
    assert len(repaired) == 3

    # BE 2 alone holds every row: stop the other two and read.
    keep = c.backend_id_of(0)
    c.kill_be(0)
    c.kill_be(1)
    c.wait("BE 0 and BE 1 dead", lambda: not c.alive()[keep] and not c.alive()[other])
    assert c.sql(f"SELECT COUNT(*) AS n FROM {DB}.t") == [{"n": 160}]
    assert [(r["k"], r["v"]) for r in c.sql(f"SELECT k, v FROM {DB}.t ORDER BY k")] == data
