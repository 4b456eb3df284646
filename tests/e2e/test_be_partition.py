"""End-to-end: a BE cut off from the FE during BACKUP and RESTORE (issue 16, item 5).

One FE and one BE, each an OS process. The partition is real: the BE is SIGSTOPped, so
the FE's connections to it stay open and its calls hang (heartbeats time out, task
submissions sit unread in the BE's socket), as behind a network partition; SIGCONT ends
it. The FE's `max_backend_down_time_second` is set in fe.conf (60 s while the BE comes
back within it, 3 s while it does not):

* back within the bound: the job waits, then finishes; the BE ran each task once
  (its received-task counters), and the restore holds the source's rows;
* FE killed (-9) and restarted while the BE is away, BE back within the bound: the job
  resumes under its JobId and finishes; the re-sent tasks carry their stored signatures;
* BE away past the bound (with or without an FE restart): the job is CANCELLED with a
  message naming the backend, how long it has been down and the config key; once the BE
  is back, the tasks the FE had sent run once and their snapshots are released.

Nothing waits for time to pass: every wait polls for the state it needs.
"""

import re
import signal
import urllib.request

import pytest

from cluster_support import (
    JOB_TIMEOUT_S, UP_TIMEOUT_S, job_rows, job_state, log_tail, pick_base, poll, seeded, unread_bytes_to, wait_finished, wait_state,
)

DDL = """CREATE TABLE {db}.{name} (k INT NOT NULL, v BIGINT) DUPLICATE KEY(k)
PARTITION BY RANGE(k) (
  PARTITION p1 VALUES LESS THAN ("100"),
  PARTITION p2 VALUES LESS THAN ("200"),
  PARTITION p3 VALUES LESS THAN ("300"))
DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""
ROWS = [(k, k * 31 - 7) for k in range(300)]
TABLETS = 6
# The bound while the BE comes back: far above how long it stays stopped (until the FE
# has seen it down: a heartbeat interval and a heartbeat timeout).
LONG_BOUND_S = 60
# The bound while it does not; below the 5 heartbeat intervals (10 s) a restarted FE
# waits for its backends before resuming jobs.
SHORT_BOUND_S = 3


def tasks_received(c):
    """Task type -> tasks the BE accepted (duplicates of a held signature not counted)."""
    url = f"http://127.0.0.1:{c.be_ports['http']}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {m[1]: int(m[2]) for m in re.finditer(r'doris_be_agent_tasks_total\{type="(\w+)",state="received"\} (\d+)', text)}


def received_since(c, before):
    now = tasks_received(c)
    return {t: n - before.get(t, 0) for t, n in now.items() if n != before.get(t, 0)}


def wait_received(c, before, expected):
    """Poll the BE's counters until the tasks received since `before` are `expected`
    (releases go out after the job's end); fail showing what it got."""
    got = {}

    def check():
        nonlocal got
        got = received_since(c, before)
        return got == expected

    poll(f"the BE to receive {expected} (got {got})", UP_TIMEOUT_S, check)
    print(f"\n  tasks the BE received: {got}")


def snapshots_on_be(c):
    d = c.d / "storage" / "snapshot"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def backend_id(c):
    return c.rows("SHOW BACKENDS")[0]["BackendId"]


def set_bound(c, secs):
    """Restart the FE with `max_backend_down_time_second = secs`."""
    conf = c.fe.conf
    lines = [ln for ln in conf.read_text().splitlines() if not ln.startswith("max_backend_down_time_second")]
    conf.write_text("\n".join(lines + [f"max_backend_down_time_second = {secs}"]) + "\n")
    c.fe.stop()
    c.start_fe()
    c.wait_be_alive()


def partition(c, kind, db, label, state, submit):
    """Stop the BE, submit the job, and return once it waits in `state` with its tasks
    unread at the BE and the FE shows the BE dead. The BE stays stopped."""
    c.be.signal(signal.SIGSTOP)
    submit()

    def in_state():
        r = job_state(c, kind, db, label)
        if r and r["State"] not in ("PENDING", state):
            pytest.fail(f"{kind} {label} is {r['State']}, not waiting in {state}: {r}\n{log_tail(c.fe.log)}")
        return r if r and r["State"] == state else False

    job = poll(f"{kind} {label} in {state}", JOB_TIMEOUT_S, in_state)
    poll("the job's tasks queued at the stopped BE", JOB_TIMEOUT_S, lambda: unread_bytes_to(c.be_ports["be"]) > 0)
    return job


def wait_dead(c):
    poll("the stopped BE shown dead", UP_TIMEOUT_S, lambda: [r["Alive"] for r in c.rows("SHOW BACKENDS")] == ["false"])


def wait_cancelled(c, kind, db, label):
    # FINISHED instead would mean the job went on while its BE was away.
    return wait_state(c, kind, db, label, "CANCELLED", "FINISHED")


def assert_down_message(c, status, down_at_least):
    be = backend_id(c)
    m = re.search(
        rf"backend {be} \(127\.0\.0\.1:{c.be_ports['be']}\) has been unreachable for (\d+) s, "
        rf"longer than max_backend_down_time_second \({SHORT_BOUND_S} s\); {TABLETS} of its task\(s\) unfinished",
        status)
    assert m, status
    assert int(m[1]) >= down_at_least, status
    print(f"\n  status: {status}")


def backup_sql(label):
    return f'BACKUP SNAPSHOT src.{label} TO repo ON (t) PROPERTIES ("type" = "full")'


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    rows = "".join(f"{k},{v}\n" for k, v in ROWS)
    c = seeded(doris_rs_bin, tmp_path_factory.mktemp("be_partition"), pick_base(1), DDL, rows,
               fe_conf_extra=f"max_backend_down_time_second = {LONG_BOUND_S}\n")
    try:
        yield c
    finally:
        c.cleanup()


def test_backup_waits_for_a_be_back_within_the_bound(cluster):
    c = cluster
    before = tasks_received(c)
    try:
        partition(c, "backup", "src", "b_back", "SNAPSHOTING", lambda: c.run(backup_sql("b_back")))
        wait_dead(c)
    finally:
        c.be.signal(signal.SIGCONT)
    wait_finished(c, "backup", "src", "b_back")
    wait_received(c, before, {"MAKE_SNAPSHOT": TABLETS, "UPLOAD": 1, "RELEASE_SNAPSHOT": TABLETS})
    snaps = c.rows('SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "b_back"')
    assert len(snaps) == 1 and snaps[0]["Status"] == "OK", snaps


def test_restore_waits_for_a_be_back_within_the_bound(cluster):
    c = cluster
    ts = c.rows('SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "b_back"')[0]["Timestamp"]
    c.wait_be_alive()
    # Into an existing table: PENDING needs no BE, so the stopped BE holds SNAPSHOTING.
    c.run(DDL.format(db="dst", name="r_back"))
    before = tasks_received(c)
    try:
        partition(c, "restore", "dst", "b_back", "SNAPSHOTING", lambda: c.run(
            f'RESTORE SNAPSHOT dst.b_back FROM repo ON (t AS r_back) '
            f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")'))
        wait_dead(c)
    finally:
        c.be.signal(signal.SIGCONT)
    wait_finished(c, "restore", "dst", "b_back")
    c.wait_be_alive()
    wait_received(c, before, {"MAKE_SNAPSHOT": TABLETS, "DOWNLOAD": 1, "MOVE": TABLETS, "RELEASE_SNAPSHOT": TABLETS})
    assert c.values("SELECT k, v FROM dst.r_back ORDER BY k") == ROWS


def test_fe_restart_while_the_be_is_away_resumes_the_job(cluster):
    """The FE is killed with the job's snapshot tasks unread at the stopped BE, and started
    again while the BE is still stopped. The resumed job sends the same tasks again (same
    signatures, on a new connection); once the BE runs, the job finishes under its JobId.
    The BE de-duplicates a signature it still holds; a task it ran twice made a second
    snapshot, which the FE releases: none is left on the BE."""
    c = cluster
    before = tasks_received(c)
    try:
        job = partition(c, "backup", "src", "b_fe_back", "SNAPSHOTING", lambda: c.run(backup_sql("b_fe_back")))
        c.crash_fe()
        c.start_fe()
        stored = job_state(c, "backup", "src", "b_fe_back")
        assert (stored["JobId"], stored["State"]) == (job["JobId"], "SNAPSHOTING"), stored
        # The resumed job's submission, on a connection of the new FE, sits at the BE too.
        old = unread_bytes_to(c.be_ports["be"])
        poll("the resumed job's tasks queued at the stopped BE", JOB_TIMEOUT_S,
             lambda: unread_bytes_to(c.be_ports["be"]) > old)
    finally:
        c.be.signal(signal.SIGCONT)
    c.wait_be_alive()
    done = wait_finished(c, "backup", "src", "b_fe_back")
    assert done["JobId"] == job["JobId"]
    assert [r["State"] for r in job_rows(c, "backup", "src", "b_fe_back")] == ["FINISHED"]
    got = received_since(c, before)
    print(f"\n  tasks the BE received: {got}")
    # Each tablet's task was sent once per FE, under one signature: run at most twice.
    assert TABLETS <= got["MAKE_SNAPSHOT"] <= 2 * TABLETS, got
    assert got["UPLOAD"] == 1, got
    poll(f"no snapshot left on the BE: {snapshots_on_be(c)}", UP_TIMEOUT_S, lambda: snapshots_on_be(c) == [])


def test_backup_is_cancelled_when_the_be_stays_away_past_the_bound(cluster):
    c = cluster
    set_bound(c, SHORT_BOUND_S)
    before = tasks_received(c)
    try:
        partition(c, "backup", "src", "b_gone", "SNAPSHOTING", lambda: c.run(backup_sql("b_gone")))
        r = wait_cancelled(c, "backup", "src", "b_gone")
    finally:
        c.be.signal(signal.SIGCONT)
    assert_down_message(c, r["Status"], SHORT_BOUND_S)
    c.wait_be_alive()
    # The submission the BE read late ran once; nobody waits for its snapshots any more.
    wait_received(c, before, {"MAKE_SNAPSHOT": TABLETS, "RELEASE_SNAPSHOT": TABLETS})
    poll(f"no snapshot left on the BE: {snapshots_on_be(c)}", UP_TIMEOUT_S, lambda: snapshots_on_be(c) == [])


def test_fe_restart_while_the_be_stays_away_cancels_the_job(cluster):
    """Killed and restarted while the BE is stopped, the FE counts the BE's down time from
    its own start at the latest; the resumed job, run once the FE gave up waiting for its
    backends, finds the BE down past the bound, sends nothing and is cancelled."""
    c = cluster
    before = tasks_received(c)
    try:
        job = partition(c, "backup", "src", "b_fe_gone", "SNAPSHOTING", lambda: c.run(backup_sql("b_fe_gone")))
        c.crash_fe()
        c.start_fe()
        r = wait_cancelled(c, "backup", "src", "b_fe_gone")
    finally:
        c.be.signal(signal.SIGCONT)
    assert r["JobId"] == job["JobId"]
    assert_down_message(c, r["Status"], SHORT_BOUND_S)
    c.wait_be_alive()
    # Sent once (by the first FE), run once, released once: the restarted FE sent nothing.
    wait_received(c, before, {"MAKE_SNAPSHOT": TABLETS, "RELEASE_SNAPSHOT": TABLETS})
    poll(f"no snapshot left on the BE: {snapshots_on_be(c)}", UP_TIMEOUT_S, lambda: snapshots_on_be(c) == [])


def test_jobs_run_again_once_the_be_is_back(cluster):
    c = cluster
    c.wait_be_alive()
    c.run(backup_sql("b_after"))
    wait_finished(c, "backup", "src", "b_after")
    ts = c.rows('SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "b_after"')[0]["Timestamp"]
    c.run(f'RESTORE SNAPSHOT dst.b_after FROM repo ON (t AS r_after) '
          f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")')
    wait_finished(c, "restore", "dst", "b_after")
    assert c.values("SELECT k, v FROM dst.r_after ORDER BY k") == ROWS
    # Every job listed once, in the state its fault led to.
    states = sorted((r["SnapshotName"], r["State"]) for r in c.rows("SHOW BACKUP FROM src"))
    assert states == [("b_after", "FINISHED"), ("b_back", "FINISHED"), ("b_fe_back", "FINISHED"),
                      ("b_fe_gone", "CANCELLED"), ("b_gone", "CANCELLED")]
