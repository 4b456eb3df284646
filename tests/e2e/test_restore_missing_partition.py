"""End-to-end: RESTORE adds a backed-up partition an existing table lacks.

One FE and one BE (`doris-rs fe` / `doris-rs be`, OS processes started here). Table
`src.t` is RANGE partitioned p1 [.., 1000), p2 [1000, 2000), p3 [2000, 3000) with rows in
each, and is backed up to a `file://` repository. Each scenario then restores
`t PARTITION (p3) AS t2` (upstream's grammar) into its own database, where `t2` has the same
schema, its own rows and only some of the partitions:

* t2 has p1, p2: the job adds p3 (new ids, the backup's two buckets, the restore's replica
  count) and fills it; afterwards t2 holds its own p1/p2 rows unchanged plus exactly the
  backed-up p3 rows, SHOW PARTITIONS lists p3 with the backed-up visible version, and a
  stream load into p3 publishes the next version.
* t2 has a partition [2000, 2500): p3 intersects it; the job is CANCELLED with upstream's
  text naming p3 and t2, and t2 is unchanged.
* Cancelled while running, held two ways (as test_fe_kill_jobs holds jobs): in PENDING with
  the BE SIGSTOPped (the new partition's CREATE tasks unanswered), and in COMMITTING with
  the BE aborted inside MOVE by its failpoint (p3's tablets created and filled). While held,
  SHOW PARTITIONS and SHOW TABLETS do not show p3 (a scan needs the held BE); after CANCEL
  RESTORE t2 scans as it was, p3's tablets disappear from the BE's disk, and a second
  RESTORE adds p3 again.
"""

import json
import signal

import pytest

from cluster_support import Cluster, log_tail, pick_base, poll, unread_bytes_to

COLS = "(k INT NOT NULL, v VARCHAR(32), amt BIGINT) DUPLICATE KEY(k)"
TAIL = 'DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")'
P1_P2 = 'PARTITION p1 VALUES LESS THAN ("1000"), PARTITION p2 VALUES LESS THAN ("2000")'
SRC_DDL = f'CREATE TABLE src.t {COLS} PARTITION BY RANGE(k) ({P1_P2}, PARTITION p3 VALUES LESS THAN ("3000")) {TAIL}'
T2_DDL = "CREATE TABLE {db}.t2 " + COLS + " PARTITION BY RANGE(k) (" + P1_P2 + "{more}) " + TAIL
# Every 7th key, so each partition and bucket has rows; NULLs included.
SRC_ROWS = [(k, None if k % 91 == 0 else f"src{k}", k * 3 - 7) for k in range(0, 3000, 7)]
# t2's own rows: other keys and values than the source's, in p1 and p2 only.
OWN_ROWS = [(k, f"own{k}", -k) for k in range(3, 2000, 11)]
P3_ROWS = [r for r in SRC_ROWS if 2000 <= r[0] < 3000]
JOB_TIMEOUT_S = 90
FAILPOINT = "move_dir.after_link"
NULL = "\\N"


def load(c, db, table, rows, label):
    csv = c.d / f"{label}.csv"
    csv.write_text("".join(f"{k},{NULL if v is None else v},{a}\n" for k, v, a in rows))
    res = json.loads(c.stream_load(db, table, csv, label))
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", len(rows)), res


def restore_rows(c, db):
    return c.rows(f"SHOW RESTORE FROM {db}")


def wait_restore(c, db, state):
    """Poll the database's last restore until it is `state` (FINISHED or CANCELLED)."""

    def done():
        rows = restore_rows(c, db)
        if not rows or rows[-1]["State"] not in ("FINISHED", "CANCELLED"):
            return False
        assert rows[-1]["State"] == state, f"{rows[-1]}\n{log_tail(c.fe.log)}"
        return rows[-1]

    return poll(f"the restore in {db} {state}", JOB_TIMEOUT_S, done)


def wait_restore_state(c, db, state):
    def seen():
        rows = restore_rows(c, db)
        if rows and rows[-1]["State"] in ("FINISHED", "CANCELLED"):
            pytest.fail(f"the restore in {db} ended before {state}: {rows[-1]}\n{log_tail(c.fe.log)}")
        return bool(rows) and rows[-1]["State"] == state

    poll(f"the restore in {db} in {state}", JOB_TIMEOUT_S, seen)


def partitions(c, db, table):
    return {r["PartitionName"]: r for r in c.rows(f"SHOW PARTITIONS FROM {db}.{table}")}


# Set from the BEs' tablet reports, which arrive on their own schedule: a report of the
# loads made before a test may land while it runs.
REPORTED = ("DataSize", "RowCount")


def partition_shapes(c, db, table):
    """SHOW PARTITIONS without what tablet reports set."""
    return {name: {k: v for k, v in row.items() if k not in REPORTED} for name, row in partitions(c, db, table).items()}


def scan(c, db, table="t2"):
    """COUNT(*) and every row in key order."""
    return c.data(db, table)


def known_tablets(c):
    """The tablets of every table of every database, as SHOW TABLETS lists them."""
    ids = set()
    for db in [r["Database"] for r in c.rows("SHOW DATABASES")]:
        if db == "information_schema":
            continue
        for table in [list(r.values())[0] for r in c.rows(f"SHOW TABLES FROM {db}")]:
            ids |= {int(r["TabletId"]) for r in c.rows(f"SHOW TABLETS FROM {db}.{table}")}
    return ids


def tablets_on_be(c):
    """The BE's tablet directories: <root>/data/<shard>/<tablet id>."""
    return {int(p.name) for p in (c.d / "storage" / "data").glob("*/*") if p.is_dir()}


def assert_be_holds_only_known_tablets(c):
    """A cancelled restore's tablets go from the BE (dropped by the cancel, or by the FE
    once reports showed them unknown for the grace period); no table's tablet ever does."""
    known = known_tablets(c)

    def only_known():
        now = tablets_on_be(c)
        assert known <= now, f"tablets of tables dropped from the BE: {sorted(known - now)}"
        return now == known

    poll(f"the BE to hold only the tables' tablets\n{log_tail(c.fe.log)}", JOB_TIMEOUT_S, only_known, interval=0.5)


def be_shown(c, alive):
    poll(f"the BE shown alive={alive}", JOB_TIMEOUT_S,
         lambda: [r["Alive"] for r in c.rows("SHOW BACKENDS")] == [alive])


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    c = Cluster(doris_rs_bin, tmp_path_factory.mktemp("restore_part"), pick_base(1))
    try:
        c.start_joined()
        c.run("CREATE DATABASE src")
        c.run(SRC_DDL)
        load(c, "src", "t", SRC_ROWS, "src_rows")
        c.run(f'CREATE REPOSITORY repo WITH LOCAL ON LOCATION "file://{c.repo}"')
        c.run("BACKUP SNAPSHOT src.snap TO repo ON (t)")
        poll("the backup FINISHED", JOB_TIMEOUT_S,
             lambda: [r["State"] for r in c.rows("SHOW BACKUP FROM src")] == ["FINISHED"])
        c.ts = c.rows('SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "snap"')[0]["Timestamp"]
        yield c
    finally:
        c.cleanup()


def with_t2(c, db, more=""):
    """Database `db` with its own t2 (p1, p2 and `more`) holding OWN_ROWS."""
    c.run(f"CREATE DATABASE {db}")
    c.run(T2_DDL.format(db=db, more=more))
    load(c, db, "t2", OWN_ROWS, f"{db}_own")
    assert scan(c, db) == (len(OWN_ROWS), sorted(OWN_ROWS))


def restore_p3(c, db):
    c.run(f"RESTORE SNAPSHOT {db}.snap FROM repo ON (t PARTITION (p3) AS t2) "
          f'PROPERTIES ("backup_timestamp" = "{c.ts}", "replication_num" = "1")')


def test_restore_adds_the_partition_the_table_lacks(cluster):
    c = cluster
    assert scan(c, "src", "t") == (len(SRC_ROWS), sorted(SRC_ROWS))
    with_t2(c, "added")
    restore_p3(c, "added")
    wait_restore(c, "added", "FINISHED")

    want = sorted(OWN_ROWS + P3_ROWS)
    assert scan(c, "added") == (len(want), want)
    src, got = partitions(c, "src", "t"), partitions(c, "added", "t2")
    assert list(got) == ["p1", "p2", "p3"]
    p3 = got["p3"]
    assert p3["PartitionId"] != src["p3"]["PartitionId"]
    assert p3["PartitionId"] not in (got["p1"]["PartitionId"], got["p2"]["PartitionId"])
    assert (p3["Range"], p3["Buckets"], p3["ReplicationNum"]) == (src["p3"]["Range"], "2", "1")
    assert p3["VisibleVersion"] == src["p3"]["VisibleVersion"]
    # Its own partitions are untouched (no new version).
    assert [got[p]["VisibleVersion"] for p in ("p1", "p2")] == ["2", "2"]
    ddl = c.rows("SHOW CREATE TABLE added.t2")[0]["Create Table"]
    assert 'PARTITION p3 VALUES [("2000"), ("3000"))' in ddl, ddl
    assert len(c.rows("SHOW TABLETS FROM added.t2")) == 6

    # The partition takes loads like any other: the next version is published.
    load(c, "added", "t2", [(2999, "late", 1)], "added_late")
    want = sorted(want + [(2999, "late", 1)])
    assert scan(c, "added") == (len(want), want)
    assert partitions(c, "added", "t2")["p3"]["VisibleVersion"] == str(int(src["p3"]["VisibleVersion"]) + 1)


def test_an_intersecting_partition_is_refused(cluster):
    c = cluster
    with_t2(c, "overlap", more=', PARTITION p2b VALUES [("2000"), ("2500"))')
    before = partition_shapes(c, "overlap", "t2")
    restore_p3(c, "overlap")
    job = wait_restore(c, "overlap", "CANCELLED")
    assert ("Partition p3 in table t2 has conflict partition item with existing items (partition p2b)"
            in job["Status"]), job
    assert partition_shapes(c, "overlap", "t2") == before
    assert scan(c, "overlap") == (len(OWN_ROWS), sorted(OWN_ROWS))


def held_restore_is_cancelled(c, db):
    """p3 is being added (the job held by the caller, the BE not answering, so no scan):
    the FE shows neither it nor its tablets; then CANCEL RESTORE."""
    assert list(partitions(c, db, "t2")) == ["p1", "p2"]
    tablets = c.rows(f"SHOW TABLETS FROM {db}.t2")
    assert len(tablets) == 4, tablets
    c.run(f"CANCEL RESTORE FROM {db}")


def assert_cancelled_and_restorable_again(c, db):
    assert list(partitions(c, db, "t2")) == ["p1", "p2"]
    assert scan(c, db) == (len(OWN_ROWS), sorted(OWN_ROWS))
    assert_be_holds_only_known_tablets(c)
    # Nothing of the cancelled job stays in the way: the partition is added again.
    restore_p3(c, db)
    wait_restore(c, db, "FINISHED")
    want = sorted(OWN_ROWS + P3_ROWS)
    assert scan(c, db) == (len(want), want)
    assert list(partitions(c, db, "t2")) == ["p1", "p2", "p3"]


def test_cancel_while_creating_the_partition_leaves_the_table_as_it_was(cluster):
    c = cluster
    with_t2(c, "cancel_create")
    c.be.signal(signal.SIGSTOP)
    try:
        restore_p3(c, "cancel_create")
        # The CREATE tasks of p3's tablets sit unread at the stopped BE.
        poll("submit_tasks queued at the stopped BE", JOB_TIMEOUT_S,
             lambda: unread_bytes_to(c.be_ports["be"]) > 0)
        assert restore_rows(c, "cancel_create")[-1]["State"] == "PENDING"
        held_restore_is_cancelled(c, "cancel_create")
    finally:
        c.be.signal(signal.SIGCONT)
    job = wait_restore(c, "cancel_create", "CANCELLED")
    assert "cancelled by user" in job["Status"], job
    c.wait_be_alive()
    assert_cancelled_and_restorable_again(c, "cancel_create")


def test_cancel_in_committing_leaves_the_table_as_it_was(cluster):
    c = cluster
    with_t2(c, "cancel_commit")
    c.restart_be({"DORIS_RS_FAILPOINT": FAILPOINT})
    restore_p3(c, "cancel_commit")
    # The BE aborts inside the MOVE of p3's first tablet: the job waits in COMMITTING.
    c.be.wait_exit("the BE to abort at its failpoint")
    assert "failpoint reached" in log_tail(c.be.log, 50), log_tail(c.be.log)
    wait_restore_state(c, "cancel_commit", "COMMITTING")
    held_restore_is_cancelled(c, "cancel_commit")
    job = wait_restore(c, "cancel_commit", "CANCELLED")
    assert "cancelled by user" in job["Status"], job
    be_shown(c, "false")
    c.start_be()
    c.wait_be_alive()
    assert_cancelled_and_restorable_again(c, "cancel_commit")
