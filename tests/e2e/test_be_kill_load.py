"""End-to-end: a stream load whose BE is killed (its failpoints, as `kill -9` would stop
it: no timing) at each step, with a real FE (`doris-rs fe`) and BE (`doris-rs be`), each
an OS process.

The BE coordinates the load and holds its only replicas, so a crash ends the client's
request. Then, with the BE started again:

* killed after loadTxnBegin or after the replicas hold their pending rowsets (before
  loadTxnCommit): the FE aborts the transaction at its timeout, the BE drops the pending
  rowsets, the label is free again and the same load succeeds; nothing of the dead
  attempt is visible;
* killed in PUBLISH_VERSION, before or after the first tablet's meta commit: the load was
  committed, the FE publishes it again and its rows become visible exactly once.

After each case the BE's data dir holds exactly the segments of the visible loads (one per
tablet per load), so nothing of a dead attempt is left on disk.
"""

import json
import pathlib
import subprocess

import pytest

from cluster_support import HOST, UP_TIMEOUT_S, Cluster, log_tail, pick_base, poll

DDL = """CREATE TABLE db.t (k INT NOT NULL, v BIGINT) DUPLICATE KEY(k)
DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""
TABLETS = 2
ROWS_PER_LOAD = 200
# Seconds a load may stay open (the FE aborts it after): short, so a dead load ends soon.
LOAD_TIMEOUT_S = 2
SETTLE_S = 90


def stream_load(c, label, rows):
    """The load's JSON answer, or None when the connection died with the BE."""
    out = subprocess.run(
        ["curl", "-sS", "--location-trusted", "-u", "root:", "-H", f"label:{label}", "-H", "column_separator:,",
         "-H", f"timeout:{LOAD_TIMEOUT_S}", "-T", "-",
         f"http://{HOST}:{c.fe_ports['http']}/api/db/t/_stream_load"],
        input="".join(f"{k},{k * 3}\n" for k in rows), capture_output=True, text=True, timeout=120,
    )
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return None


def segments(c):
    return sorted(p.name for p in pathlib.Path(c.d / "storage" / "data").rglob("*.dat"))


def count(c):
    return c.values("SELECT COUNT(*) FROM db.t")[0][0]


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    base = pick_base(1)
    c = Cluster(doris_rs_bin, tmp_path_factory.mktemp("be_kill_load"), base)
    try:
        c.start_joined()
        c.run("CREATE DATABASE db")
        c.run(DDL)
        c.loads = 0
        yield c
    finally:
        c.cleanup()


def crash_in_load(c, failpoint, label, rows):
    c.restart_be({"DORIS_RS_FAILPOINT": failpoint})
    res = stream_load(c, label, rows)
    assert res is None or res.get("Status") != "Success", res
    c.be.wait_exit("the BE to abort at its failpoint")
    assert "failpoint reached" in log_tail(c.be.log, 50) and failpoint in log_tail(c.be.log, 50), log_tail(c.be.log)
    # Until its first heartbeat a started BE knows no token and refuses the FE's scans:
    # start it once the FE saw it down, so "alive" below means a heartbeat reached it.
    poll("the dead BE shown dead", UP_TIMEOUT_S, lambda: [r["Alive"] for r in c.rows("SHOW BACKENDS")] == ["false"])
    c.start_be()
    c.wait_be_alive()


def rows_of(i):
    return range(i * ROWS_PER_LOAD, (i + 1) * ROWS_PER_LOAD)


def test_a_first_load(cluster):
    c = cluster
    res = stream_load(c, "first", rows_of(0))
    assert res["Status"] == "Success", res
    c.loads = 1
    assert count(c) == ROWS_PER_LOAD
    assert len(segments(c)) == TABLETS


@pytest.mark.parametrize("failpoint", ["stream_load.after_begin", "stream_load.after_write"])
def test_killed_before_commit_the_load_is_aborted_and_can_run_again(cluster, failpoint):
    c = cluster
    label = failpoint.replace(".", "_")
    rows = rows_of(c.loads)
    crash_in_load(c, failpoint, label, rows)
    assert count(c) == c.loads * ROWS_PER_LOAD, "nothing of the dead attempt is visible"

    # While the FE still holds the open transaction the label is taken; once it aborted
    # it at its timeout the same load goes through.
    def retried():
        res = stream_load(c, label, rows)
        assert res is not None, log_tail(c.be.log)
        if res["Status"] == "Label Already Exists":
            assert res.get("ExistingJobStatus") == "RUNNING", res
            return False
        assert res["Status"] == "Success", res
        return res

    poll(f"the label {label} free again\n{log_tail(c.fe.log)}", SETTLE_S, retried, interval=0.5)
    c.loads += 1
    assert count(c) == c.loads * ROWS_PER_LOAD
    # The dead attempt's pending rowsets are dropped (the FE's clear after its abort).
    poll(f"only the visible loads' segments on disk: {segments(c)}", SETTLE_S,
         lambda: len(segments(c)) == c.loads * TABLETS)


@pytest.mark.parametrize("failpoint", ["publish_version.before_meta", "publish_version.after_meta"])
def test_killed_in_publish_the_committed_load_becomes_visible_once(cluster, failpoint):
    c = cluster
    label = failpoint.replace(".", "_")
    rows = rows_of(c.loads)
    crash_in_load(c, failpoint, label, rows)
    c.loads += 1
    poll(f"the committed load visible\n{log_tail(c.fe.log)}", SETTLE_S,
         lambda: count(c) == c.loads * ROWS_PER_LOAD)
    assert len(segments(c)) == c.loads * TABLETS, segments(c)
    res = stream_load(c, label, rows)
    assert (res["Status"], res.get("ExistingJobStatus")) == ("Label Already Exists", "FINISHED"), res
    assert count(c) == c.loads * ROWS_PER_LOAD
    got = c.values(f"SELECT COUNT(*), SUM(v) FROM db.t WHERE k >= {rows.start} AND k < {rows.stop}")[0]
    assert (got[0], int(got[1])) == (ROWS_PER_LOAD, sum(k * 3 for k in rows))
