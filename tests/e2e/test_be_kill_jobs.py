"""End-to-end: BACKUP and RESTORE whose BE is killed (its failpoints, as `kill -9` would
stop it) inside MAKE_SNAPSHOT and MOVE, with a real FE and BE, each an OS process. The BE
is started again; the job must finish (FINISHED, the restored table holding exactly the
source's rows), and the BE's data dir must hold no segment beyond those of its tablets'
visible loads.

MOVE killed after its links (before the meta commit) is in tests/e2e/test_fe_kill_jobs.py,
with the FE killed too.
"""

import pathlib

import pytest

from cluster_support import UP_TIMEOUT_S, log_tail, pick_base, poll, seeded, wait_finished

DDL = """CREATE TABLE {db}.{name} (k INT NOT NULL, v BIGINT) DUPLICATE KEY(k)
DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""
ROWS = [(k, k * 7 - 3) for k in range(500)]


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    rows = "".join(f"{k},{v}\n" for k, v in ROWS)
    c = seeded(doris_rs_bin, tmp_path_factory.mktemp("be_kill_jobs"), pick_base(1), DDL, rows)
    try:
        yield c
    finally:
        c.cleanup()


def crash_and_restart(c, failpoint):
    """The BE aborts at `failpoint`; start it again once the FE saw it down."""
    c.be.wait_exit(f"the BE to abort at {failpoint}")
    assert "failpoint reached" in log_tail(c.be.log, 50) and failpoint in log_tail(c.be.log, 50), log_tail(c.be.log)
    poll("the dead BE shown dead", UP_TIMEOUT_S, lambda: [r["Alive"] for r in c.rows("SHOW BACKENDS")] == ["false"])
    c.start_be()
    c.wait_be_alive()


def segments(c):
    return len(list(pathlib.Path(c.d / "storage" / "data").rglob("*.dat")))


@pytest.mark.parametrize("failpoint", ["make_snapshot.after_link", "make_snapshot.after_rename"])
def test_backup_whose_be_dies_in_make_snapshot_finishes(cluster, failpoint):
    c = cluster
    label = failpoint.replace(".", "_")
    c.restart_be({"DORIS_RS_FAILPOINT": failpoint})
    c.run(f'BACKUP SNAPSHOT src.{label} TO repo ON (t) PROPERTIES ("type" = "full")')
    crash_and_restart(c, failpoint)
    r = wait_finished(c, "backup", "src", label)
    assert r["State"] == "FINISHED"
    snaps = c.rows(f'SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "{label}"')
    assert len(snaps) == 1 and snaps[0]["Status"] == "OK", snaps


def test_restore_whose_be_dies_after_the_move_commit_finishes(cluster):
    c = cluster
    label = "make_snapshot_after_link"
    ts = c.rows(f'SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "{label}"')[0]["Timestamp"]
    failpoint = "move_dir.after_meta"
    c.restart_be({"DORIS_RS_FAILPOINT": failpoint})
    c.run(f'RESTORE SNAPSHOT dst.{label} FROM repo ON (t AS r) '
          f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")')
    crash_and_restart(c, failpoint)
    r = wait_finished(c, "restore", "dst", label)
    assert r["State"] == "FINISHED"
    assert c.values("SELECT COUNT(*), SUM(v) FROM dst.r")[0] == (len(ROWS), sum(v for _, v in ROWS))
    # Source and restored table: one segment per tablet each, nothing left of the dead MOVE.
    poll(f"only the tables' segments on disk ({segments(c)})", UP_TIMEOUT_S, lambda: segments(c) == 4)
