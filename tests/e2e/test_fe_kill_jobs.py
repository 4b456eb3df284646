"""End-to-end: durable backup and restore jobs survive a real `kill -9` of the FE.

One FE (`doris-rs fe --conf fe.conf`) and one BE (`doris-rs be --conf be.conf`), each an OS
process started here. A table is stream-loaded through the FE's http port; then, for every
state a BACKUP to a `file://` repository and a RESTORE from it pass through, the FE is
SIGKILLed while the job is in that state and started again on the same meta_dir. Each job
must finish (FINISHED, its snapshot listed by SHOW SNAPSHOT), keep its JobId, and each
restored table must hold exactly the source's rows; SHOW BACKUP/RESTORE list every job once.

How a job is held in a state, so the kill lands there (no timing):

* BE SIGSTOPped: its `submit_tasks` stays unanswered, the FE waits in the state whose
  tasks it is sending (backup SNAPSHOTING; restore PENDING while the target table's CREATE
  tasks wait, restore SNAPSHOTING when restoring into an existing table). The kill comes
  once the request sits unread in the BE's socket (/proc/net/tcp), so tasks are in flight.
* BE failpoint (`DORIS_RS_FAILPOINT=move_dir.after_link`, the BE's own crash hook): the BE
  aborts inside the restore's MOVE and the FE waits in COMMITTING.

The other states are FE-internal steps of a few milliseconds (backup PENDING,
UPLOAD_SNAPSHOT, SAVE_META, UPLOAD_INFO; restore DOWNLOAD, COMMIT) or BE work the test
cannot pause without timing (backup UPLOADING, restore DOWNLOADING): for those the FE is
killed at the first sight of the state or a later one, when the poll catches it.

Which state the kill really hit is read back, not assumed: the FE is restarted while the BE
is unreachable, and a resumed job waits for its backends before running, so SHOW
BACKUP/RESTORE then shows exactly the state the crash left on disk. The deterministic
scenarios assert it; the module prints the states every scenario crashed in.
"""

import signal
import time

import pytest

from cluster_support import (
    JOB_TIMEOUT_S, ORPHAN_GRACE_S, job_rows, job_state, log_tail, pick_base, poll, seeded, unread_bytes_to,
    wait_finished,
)

DDL = """CREATE TABLE {db}.{name} (k INT NOT NULL, v VARCHAR(32), amt BIGINT) DUPLICATE KEY(k)
PARTITION BY RANGE(k) (
  PARTITION p1 VALUES LESS THAN ("1000"),
  PARTITION p2 VALUES LESS THAN ("2000"),
  PARTITION p3 VALUES LESS THAN ("3000"))
DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""
ROWS = [(k, None if k % 53 == 0 else f"v{k * 7919 % 10007}", k * k - 1_000_000) for k in range(3000)]

BACKUP_STATES = ["PENDING", "SNAPSHOTING", "UPLOAD_SNAPSHOT", "UPLOADING", "SAVE_META", "UPLOAD_INFO", "FINISHED"]
RESTORE_STATES = ["PENDING", "SNAPSHOTING", "DOWNLOAD", "DOWNLOADING", "COMMIT", "COMMITTING", "FINISHED"]
FAILPOINT = "move_dir.after_link"
NULL = "\\N"


def wait_state_at_or_after(c, kind, db, label, target, order):
    """Poll the job (tightly: FE-internal states last milliseconds) until it is in `target`
    or a later state; that state, or None when it finished before a poll saw it unfinished."""
    want = order.index(target)

    def seen():
        r = job_state(c, kind, db, label)
        if r is None:
            return False
        if r["State"] == "CANCELLED":
            pytest.fail(f"{kind} {label} cancelled: {r['Status']}\n{log_tail(c.fe.log)}")
        if order.index(r["State"]) >= want:
            return r
        return False

    r = poll(f"{kind} {label} to reach {target}", JOB_TIMEOUT_S, seen, interval=0.001)
    return None if r["State"] == "FINISHED" else r


def restart_and_read_stored_state(c, kind, db, label, be_mode):
    """The FE is dead. Start it while the BE cannot answer (stopped or exited): a resumed job
    waits for its backends before it runs, so the state shown is the one the crash left on
    disk. Then let the BE run again."""
    if be_mode == "running":
        c.be.signal(signal.SIGSTOP)
    c.start_fe()
    stored = job_state(c, kind, db, label)
    assert stored is not None, f"{kind} {label} is lost after the restart"
    if be_mode == "exited":
        c.start_be()
    else:
        c.be.signal(signal.SIGCONT)
    return stored


def crash_during(c, kind, db, label, target, submit, hold):
    """Submit a job, SIGKILL the FE while the job is in `target` (held by `hold`, or at first
    sight), restart the FE and wait for the job to finish. The state the crash left."""
    order = BACKUP_STATES if kind == "backup" else RESTORE_STATES
    if hold == "sigstop":
        c.be.signal(signal.SIGSTOP)
    submit()
    seen = wait_state_at_or_after(c, kind, db, label, target, order)
    if hold == "sigstop":
        # The state's tasks are on their way: the kill leaves them in flight.
        poll("the FE's submit_tasks queued at the stopped BE", JOB_TIMEOUT_S,
             lambda: unread_bytes_to(c.be_ports["be"]) > 0)
    if hold == "failpoint":
        # The BE aborted inside MOVE: nothing will answer the FE's tasks.
        c.be.wait_exit("the BE to abort at its failpoint")
        assert "failpoint reached" in log_tail(c.be.log, 50), log_tail(c.be.log)
    if seen is None:
        # Finished before a poll saw it unfinished: no crash in this state this time.
        if hold == "sigstop":
            c.be.signal(signal.SIGCONT)
        c.crashed_in.append((kind, target, hold or "at sight", None))
        return None
    job_id = seen["JobId"]
    c.crash_fe()
    be_mode = {"sigstop": "stopped", "failpoint": "exited", None: "running"}[hold]
    stored = restart_and_read_stored_state(c, kind, db, label, be_mode)
    assert stored["JobId"] == job_id, (stored, seen)
    c.crashed_in.append((kind, target, hold or "at sight", stored["State"]))
    if hold:
        # Held: the crash is in exactly this state.
        assert stored["State"] == target, stored
    else:
        assert order.index(stored["State"]) >= order.index(seen["State"]), (stored, seen)
    c.wait_be_alive()
    finished = wait_finished(c, kind, db, label)
    assert finished["JobId"] == job_id
    return stored["State"]


# (state, how it is held): a hold makes the crash land in the state every time.
BACKUP_CASES = [
    ("PENDING", None),
    ("SNAPSHOTING", "sigstop"),
    ("UPLOAD_SNAPSHOT", None),
    ("UPLOADING", None),
    ("SAVE_META", None),
    ("UPLOAD_INFO", None),
]
RESTORE_CASES = [
    ("PENDING", "sigstop"),
    ("SNAPSHOTING", "sigstop"),
    ("DOWNLOAD", None),
    ("DOWNLOADING", None),
    ("COMMIT", None),
    ("COMMITTING", "failpoint"),
]


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    rows = "".join(f"{k},{NULL if v is None else v},{a}\n" for k, v, a in ROWS)
    c = seeded(doris_rs_bin, tmp_path_factory.mktemp("fe_kill"), pick_base(1), DDL, rows)
    try:
        yield c
    finally:
        print("\ncrash states (kind, target, how held, state the crash left; None = finished before seen):")
        for x in c.crashed_in:
            print("  ", x)
        c.cleanup()


def test_source_rows_are_loaded(cluster):
    n, rows = cluster.data("src", "t")
    assert n == len(ROWS)
    assert rows == ROWS


@pytest.mark.parametrize("target,hold", BACKUP_CASES, ids=[s for s, _ in BACKUP_CASES])
def test_backup_survives_fe_kill(cluster, target, hold):
    c = cluster
    label = f"b_{target.lower()}"
    crash_during(c, "backup", "src", label, target,
                 lambda: c.run(f'BACKUP SNAPSHOT src.{label} TO repo ON (t) PROPERTIES ("type" = "full")'), hold)
    snaps = c.rows(f'SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "{label}"')
    assert len(snaps) == 1 and snaps[0]["Status"] == "OK", snaps
    # Once per label, none lost, none doubled.
    assert [r["State"] for r in job_rows(c, "backup", "src", label)] == ["FINISHED"]


@pytest.mark.parametrize("target,hold", RESTORE_CASES, ids=[s for s, _ in RESTORE_CASES])
def test_restore_survives_fe_kill(cluster, target, hold):
    c = cluster
    # Each restore reads back the backup whose FE was killed in the matching position.
    i = [s for s, _ in RESTORE_CASES].index(target)
    label = f"b_{BACKUP_CASES[i][0].lower()}"
    snaps = c.rows(f'SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "{label}"')
    assert len(snaps) == 1, f"backup {label} (from the backup test) is not in the repository: {snaps}"
    ts = snaps[0]["Timestamp"]
    table = f"r_{target.lower()}"
    if target == "SNAPSHOTING":
        # Into an existing (empty) table: PENDING needs no BE, so a stopped BE holds the job
        # in SNAPSHOTING rather than in PENDING's CREATE.
        c.run(DDL.format(db="dst", name=table))
    if hold == "failpoint":
        c.restart_be({"DORIS_RS_FAILPOINT": FAILPOINT})
    crash_during(c, "restore", "dst", label, target, lambda: c.run(
        f'RESTORE SNAPSHOT dst.{label} FROM repo ON (t AS {table}) '
        f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")'), hold)
    assert [r["State"] for r in job_rows(c, "restore", "dst", label)] == ["FINISHED"]
    n, rows = c.data("dst", table)
    assert n == len(ROWS)
    assert rows == ROWS


def test_every_job_listed_once(cluster):
    c = cluster
    backups = c.rows("SHOW BACKUP FROM src")
    assert sorted(r["SnapshotName"] for r in backups) == sorted(f"b_{s.lower()}" for s, _ in BACKUP_CASES)
    assert {r["State"] for r in backups} == {"FINISHED"}
    assert len({r["JobId"] for r in backups}) == len(backups)
    restores = c.rows("SHOW RESTORE FROM dst")
    assert sorted(r["Label"] for r in restores) == sorted(f"b_{s.lower()}" for s, _ in BACKUP_CASES)
    assert {r["State"] for r in restores} == {"FINISHED"}
    tables = {r["Tables_in_dst"] for r in c.rows("SHOW TABLES FROM dst")}
    assert tables == {f"r_{s.lower()}" for s, _ in RESTORE_CASES}


def test_no_tablets_the_catalog_does_not_know_stay_on_the_be(cluster):
    """CREATE tasks in flight when the FE was killed in restore PENDING still made their
    tablets on the BE; the restarted job created the table anew. The FE drops such tablets
    once the BE's tablet reports showed them unknown for the grace period."""
    c = cluster
    known = set()
    for db, table in [("src", "t")] + [("dst", f"r_{s.lower()}") for s, _ in RESTORE_CASES]:
        known |= {int(r["TabletId"]) for r in c.rows(f"SHOW TABLETS FROM {db}.{table}")}
    assert len(known) == 6 * (1 + len(RESTORE_CASES))

    def on_be():
        # The BE's tablet directories: <root>/data/<shard>/<tablet id>.
        return {int(p.name) for p in (c.d / "storage" / "data").glob("*/*") if p.is_dir()}

    # A tablet of a table must never go, whenever we look.
    def only_orphans_left():
        now = on_be()
        assert known <= now, f"tablets of tables dropped from the BE: {sorted(known - now)}"
        return now == known

    # Gone once reported unknown for the grace, then a tablet report (every second) and
    # the DROP: bounded generously.
    deadline = time.monotonic() + ORPHAN_GRACE_S + JOB_TIMEOUT_S
    while not only_orphans_left():
        if time.monotonic() > deadline:
            pytest.fail(f"tablets on the BE the FE does not know: {sorted(on_be() - known)}\n{log_tail(c.fe.log)}")
        time.sleep(0.2)
