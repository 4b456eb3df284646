"""End-to-end: upstream's INSERT surface on a real FE and BE (`doris-rs fe` and `doris-rs be`,
each an OS process): `INSERT INTO t [PARTITION (p, ...)] WITH LABEL l ...`,
`INSERT OVERWRITE TABLE t [PARTITION (p, ...)] ...` (also across an FE `kill -9`), and
`AUTO_INCREMENT` columns (DDL, values filled by INSERT and stream load, none handed out
twice across an FE `kill -9`, kept by backup and restore).

Every outcome is read back through the FE's MySQL port with pymysql: the rows, the OK
packet's info, SHOW TRANSACTION, SHOW PARTITIONS, and error codes and texts.
"""

import json
import re
import subprocess
import time

import pymysql
import pytest

from cluster_support import Cluster
from test_local_cluster import pick_base

DB = "ins"
ER_UNKNOWN_ERROR = 1105

RANGE_DDL = """CREATE TABLE {db}.{name} (k INT NOT NULL, v VARCHAR(16)) DUPLICATE KEY(k)
PARTITION BY RANGE(k) (
  PARTITION p1 VALUES LESS THAN ("10"),
  PARTITION p2 VALUES LESS THAN ("20"))
DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    c = Cluster(doris_rs_bin, tmp_path_factory.mktemp("insert_surface"), pick_base(1))
    try:
        c.start_joined()
        c.run(f"CREATE DATABASE {DB}")
        yield c
    finally:
        c.cleanup()


def execute(c, sql):
    """(affected rows, the OK packet's info text)."""
    with c.conn.cursor() as cur:
        n = cur.execute(sql)
        msg = cur._result.message
        return n, msg.decode() if isinstance(msg, bytes) else (msg or "")


def fails(c, sql):
    with pytest.raises(pymysql.err.MySQLError) as e:
        c.run(sql)
    return e.value.args[0], e.value.args[1]


def rows(c, table):
    return tuple(c.values(f"SELECT k, v FROM {DB}.{table} ORDER BY k"))


def partitions(c, table):
    return {r["PartitionName"]: r["PartitionId"] for r in c.rows(f"SHOW PARTITIONS FROM {DB}.{table}")}


def info_of(msg):
    # The info ends the OK packet (pymysql reads it to the end, a length byte included when
    # the server writes it length-encoded).
    m = re.search(r"\{'label':'([^']*)', 'status':'VISIBLE', 'txnId':'(\d+)'\}$", msg)
    assert m, msg
    return m.group(1), int(m.group(2))


def test_insert_with_label(cluster):
    c = cluster
    c.run(RANGE_DDL.format(db=DB, name="lab"))
    n, msg = execute(c, f"INSERT INTO {DB}.lab WITH LABEL lab_1 (k, v) VALUES (1, 'a'), (12, 'b')")
    assert n == 2
    label, txn_id = info_of(msg)
    assert label == "lab_1" and txn_id > 0
    assert rows(c, "lab") == ((1, "a"), (12, "b"))

    txn = c.rows(f'SHOW TRANSACTION FROM {DB} WHERE LABEL = "lab_1"')
    assert [(t["TransactionId"], t["Label"], t["TransactionStatus"]) for t in txn] == [(str(txn_id), "lab_1", "VISIBLE")]

    # The label is taken: upstream's text, nothing written.
    code, text = fails(c, f"INSERT INTO {DB}.lab WITH LABEL lab_1 VALUES (2, 'c')")
    assert code == ER_UNKNOWN_ERROR
    assert text == f"Label [lab_1] has already been used, relate to txn [{txn_id}]", text
    code, text = fails(c, f"INSERT INTO {DB}.lab WITH LABEL lab_1 SELECT k + 1, v FROM {DB}.lab")
    assert (code, text.startswith("Label [lab_1] has already been used")) == (ER_UNKNOWN_ERROR, True), text
    assert rows(c, "lab") == ((1, "a"), (12, "b"))

    code, text = fails(c, f"INSERT INTO {DB}.lab WITH LABEL `bad label` VALUES (2, 'c')")
    assert code == ER_UNKNOWN_ERROR and text.startswith("Label format error"), text

    # Without a label: a generated one, shown the same way.
    c.run(f"USE {DB}")
    n, msg = execute(c, "INSERT INTO lab SELECT k + 2, concat(v, '2') FROM lab")
    label, _ = info_of(msg)
    assert n == 2 and label.startswith("insert_")
    assert rows(c, "lab") == ((1, "a"), (3, "a2"), (12, "b"), (14, "b2"))


LOAD_COLUMNS = ["JobId", "Label", "State", "Progress", "Type", "EtlInfo", "TaskInfo", "ErrorMsg", "CreateTime",
                "EtlStartTime", "EtlFinishTime", "LoadStartTime", "LoadFinishTime", "URL", "JobDetails", "TransactionId",
                "ErrorTablets", "User", "Comment"]


def show_load(c, where=""):
    with c.conn.cursor() as cur:
        cur.execute(f"SHOW LOAD FROM {DB} {where}")
        names = [d[0] for d in cur.description]
        return names, [dict(zip(names, r)) for r in cur.fetchall()]


def test_show_load_lists_insert_jobs(cluster):
    # Upstream records each INSERT as a load job (Type INSERT), FINISHED or CANCELLED;
    # stream loads are not load jobs (SHOW STREAM LOAD's), so SHOW LOAD leaves them out.
    c = cluster
    c.run(RANGE_DDL.format(db=DB, name="jobs"))
    _, msg = execute(c, f"INSERT INTO {DB}.jobs WITH LABEL job_ok VALUES (1, 'a'), (12, 'b')")
    _, txn_id = info_of(msg)
    # 99 is in no partition: filtered, which fails an INSERT (strict, as upstream).
    code, text = fails(c, f"INSERT INTO {DB}.jobs WITH LABEL job_bad VALUES (99, 'x')")
    assert code == ER_UNKNOWN_ERROR, text
    out = stream_load_columns(c, "jobs", ["2,s"], "k,v", "job_stream")
    assert out["Status"] == "Success", out

    names, jobs = show_load(c, 'WHERE LABEL LIKE "job_"')
    assert names == LOAD_COLUMNS
    assert [(j["Label"], j["State"], j["Type"], j["User"]) for j in jobs] == [
        ("job_ok", "FINISHED", "INSERT", "root"), ("job_bad", "CANCELLED", "INSERT", "root")], jobs
    ok, bad = jobs
    assert int(ok["JobId"]) < int(bad["JobId"]) and ok["TransactionId"] == str(txn_id), ok
    assert ok["Progress"] == f"Unknown id: {ok['JobId']}" and ok["ErrorMsg"] == "\\N" and ok["EtlInfo"] == "\\N", ok
    assert ok["TaskInfo"] == "cluster:N/A; timeout(s):14400; max_filter_ratio:0.0; priority:NORMAL", ok
    assert ok["LoadStartTime"] == ok["CreateTime"] <= ok["LoadFinishTime"] and ok["ErrorTablets"] == "{}", ok
    assert json.loads(ok["JobDetails"])["ScannedRows"] == 0, ok
    assert bad["ErrorMsg"].startswith("type:LOAD_RUN_FAIL; msg:") and bad["URL"].startswith("http://"), bad

    assert [j["Label"] for j in show_load(c, 'WHERE STATE = "cancelled" AND LABEL = "job_bad"')[1]] == ["job_bad"]
    assert [j["Label"] for j in show_load(c, 'WHERE LABEL LIKE "job_%" LIMIT 1')[1]] == ["job_ok"]
    code, text = fails(c, f'SHOW LOAD FROM {DB} WHERE STATE = "DONE"')
    assert "Where clause should looks like" in text, text

    # A user without LOAD_PRIV on the table sees none of its jobs.
    c.run("CREATE USER 'watcher'@'%' IDENTIFIED BY 'w'")
    c.run(f"GRANT SELECT_PRIV ON {DB}.* TO 'watcher'@'%'")
    w = pymysql.connect(host="127.0.0.1", port=c.fe_ports["query"], user="watcher", password="w", autocommit=True)
    try:
        with w.cursor() as cur:
            cur.execute(f'SHOW LOAD FROM {DB} WHERE LABEL LIKE "job_"')
            assert cur.fetchall() == ()
    finally:
        w.close()

    # The jobs are durable, as upstream's edit log keeps them.
    c.crash_fe()
    c.start_fe()
    assert show_load(c, 'WHERE LABEL LIKE "job_"')[1] == jobs


def test_insert_into_partitions(cluster):
    c = cluster
    c.run(RANGE_DDL.format(db=DB, name="part"))
    n, _ = execute(c, f"INSERT INTO {DB}.part PARTITION (p1) WITH LABEL part_1 VALUES (1, 'a'), (2, 'b')")
    assert n == 2
    n, _ = execute(c, f"INSERT INTO {DB}.part PARTITIONS (p1, p2) VALUES (3, 'c'), (13, 'd')")
    assert n == 2
    # A row outside the named partitions is filtered; upstream's INSERT is strict: it fails whole.
    code, text = fails(c, f"INSERT INTO {DB}.part PARTITION (p1) VALUES (4, 'e'), (15, 'f')")
    assert code == ER_UNKNOWN_ERROR and text.startswith("Insert has filtered data in strict mode"), text
    code, text = fails(c, f"INSERT INTO {DB}.part PARTITION (p2) SELECT k, v FROM {DB}.part WHERE k < 3")
    assert code == ER_UNKNOWN_ERROR and "no partition for this tuple" in text, text
    code, text = fails(c, f"INSERT INTO {DB}.part PARTITION (p9) VALUES (5, 'g')")
    assert (code, text) == (ER_UNKNOWN_ERROR, "Unknown partition 'p9' in table 'part'")
    assert rows(c, "part") == ((1, "a"), (2, "b"), (3, "c"), (13, "d"))
    # The failed inserts' labels are free again (their transactions aborted); a failed
    # insert with a label leaves it aborted, so the label can be used once more.
    code, _ = fails(c, f"INSERT INTO {DB}.part PARTITION (p1) WITH LABEL part_2 VALUES (15, 'x')")
    assert code == ER_UNKNOWN_ERROR
    n, _ = execute(c, f"INSERT INTO {DB}.part PARTITION (p1) WITH LABEL part_2 VALUES (5, 'y')")
    assert n == 1
    assert rows(c, "part") == ((1, "a"), (2, "b"), (3, "c"), (5, "y"), (13, "d"))


def test_insert_overwrite(cluster):
    c = cluster
    c.run(RANGE_DDL.format(db=DB, name="ow"))
    execute(c, f"INSERT INTO {DB}.ow VALUES (1, 'a'), (2, 'b'), (11, 'c'), (12, 'd')")
    before = partitions(c, "ow")

    # Every partition: new partitions (ids) under the same names, only the new rows.
    n, msg = execute(c, f"INSERT OVERWRITE TABLE {DB}.ow WITH LABEL ow_1 VALUES (3, 'x'), (13, 'y'), (14, 'z')")
    assert n == 3 and info_of(msg)[0] == "ow_1"
    assert rows(c, "ow") == ((3, "x"), (13, "y"), (14, "z"))
    after = partitions(c, "ow")
    assert sorted(after) == ["p1", "p2"] and not set(after.values()) & set(before.values()), (before, after)

    # One partition, from a query over the table itself: p2 untouched.
    n, _ = execute(c, f"INSERT OVERWRITE TABLE {DB}.ow PARTITION (p1) (v, k) SELECT concat(v, '!'), k + 1 FROM {DB}.ow WHERE k < 10")
    assert n == 1
    assert rows(c, "ow") == ((4, "x!"), (13, "y"), (14, "z"))
    now = partitions(c, "ow")
    assert now["p2"] == after["p2"] and now["p1"] != after["p1"]

    # Failures leave the table as it was, and no partition behind.
    for sql, expect in [
        (f"INSERT OVERWRITE TABLE {DB}.ow VALUES (1, 'a', 'extra')", "Column count doesn't match value count"),
        (f"INSERT OVERWRITE TABLE {DB}.ow VALUES (1, 'a'), (100, 'no partition')", "no partition for this tuple"),
        (f"INSERT OVERWRITE TABLE {DB}.ow PARTITION (p2) VALUES (1, 'a')", "no partition for this tuple"),
        (f"INSERT OVERWRITE TABLE {DB}.ow PARTITION (p9) VALUES (1, 'a')", "Unknown partition 'p9' in table 'ow'"),
        (f"INSERT OVERWRITE TABLE {DB}.ow WITH LABEL ow_1 VALUES (1, 'a')", "Label [ow_1] has already been used"),
    ]:
        code, text = fails(c, sql)
        assert code == ER_UNKNOWN_ERROR and expect in text, (sql, text)
        assert rows(c, "ow") == ((4, "x!"), (13, "y"), (14, "z")), sql
        assert partitions(c, "ow") == now, sql

    # An empty source empties the partitions, as upstream.
    n, _ = execute(c, f"INSERT OVERWRITE TABLE {DB}.ow PARTITION (p2) SELECT k, v FROM {DB}.ow WHERE k > 100")
    assert n == 0
    assert rows(c, "ow") == ((4, "x!"),)

    # An unpartitioned table's one partition.
    c.run(f"CREATE TABLE {DB}.flat (k INT NOT NULL, v VARCHAR(16)) DUPLICATE KEY(k) "
          'DISTRIBUTED BY HASH(k) BUCKETS 3 PROPERTIES ("replication_num" = "1")')
    execute(c, f"INSERT INTO {DB}.flat VALUES (1, 'a'), (2, 'b')")
    execute(c, f"INSERT OVERWRITE TABLE {DB}.flat SELECT k * 10, v FROM {DB}.flat")
    assert rows(c, "flat") == ((10, "a"), (20, "b"))
    assert list(partitions(c, "flat")) == ["flat"]


def test_insert_overwrite_survives_fe_kill9(cluster):
    c = cluster
    c.run(RANGE_DDL.format(db=DB, name="crash"))
    execute(c, f"INSERT INTO {DB}.crash VALUES (1, 'old'), (11, 'old')")
    execute(c, f"INSERT OVERWRITE TABLE {DB}.crash VALUES (2, 'new'), (12, 'new')")
    ids = partitions(c, "crash")
    c.crash_fe()
    c.start_fe()
    c.wait_be_alive()
    assert rows(c, "crash") == ((2, "new"), (12, "new"))
    assert partitions(c, "crash") == ids
    # The table takes loads and overwrites as before.
    execute(c, f"INSERT INTO {DB}.crash VALUES (3, 'more')")
    execute(c, f"INSERT OVERWRITE TABLE {DB}.crash PARTITION (p2) VALUES (19, 'last')")
    assert rows(c, "crash") == ((2, "new"), (3, "more"), (19, "last"))


# --- AUTO_INCREMENT ----------------------------------------------------------------------


def ids_and_values(c, table):
    return [tuple(r) for r in c.values(f"SELECT id, v FROM {DB}.{table} ORDER BY id")]


def stream_load_columns(c, table, lines, columns, label):
    out = subprocess.run(
        ["curl", "-sS", "--location-trusted", "-u", "root:", "-H", f"label:{label}", "-H", "column_separator:,",
         "-H", f"columns:{columns}", "-T", "-", f"http://127.0.0.1:{c.fe_ports['http']}/api/{DB}/{table}/_stream_load"],
        input="".join(line + "\n" for line in lines), capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    return json.loads(out)


def test_auto_increment_ddl(cluster):
    c = cluster
    c.run(f"CREATE TABLE {DB}.ai_ddl (id BIGINT NOT NULL AUTO_INCREMENT, v VARCHAR(16)) DUPLICATE KEY(id) "
          'DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    ddl = c.values(f"SHOW CREATE TABLE {DB}.ai_ddl")[0][1]
    assert "`id` bigint NOT NULL AUTO_INCREMENT(1)" in ddl, ddl
    desc = {r["Field"]: r for r in c.rows(f"DESC {DB}.ai_ddl")}
    assert (desc["id"]["Extra"], desc["v"]["Extra"]) == ("AUTO_INCREMENT", "NONE"), desc
    c.run(f"CREATE TABLE {DB}.ai_ddl2 (k INT NOT NULL, id BIGINT NOT NULL AUTO_INCREMENT(10000)) DUPLICATE KEY(k) "
          'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    assert "`id` bigint NOT NULL AUTO_INCREMENT(10000)" in c.values(f"SHOW CREATE TABLE {DB}.ai_ddl2")[0][1]

    tail = ') DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")'
    for cols, expect in [
        ("k INT NOT NULL, id INT NOT NULL AUTO_INCREMENT", "the auto increment must be BIGINT type."),
        ("k INT NOT NULL, id BIGINT AUTO_INCREMENT", "the auto increment column should be NOT NULL."),
        ("k INT NOT NULL, id BIGINT NOT NULL AUTO_INCREMENT DEFAULT '0'", "the auto increment column can't have default value."),
        ("k INT NOT NULL, id BIGINT NOT NULL AUTO_INCREMENT(-1)", "AUTO_INCREMENT start value can not be negative."),
        ("k BIGINT NOT NULL AUTO_INCREMENT, id BIGINT NOT NULL AUTO_INCREMENT",
         "there can be at most one auto increment column in OlapTable."),
    ]:
        code, text = fails(c, f"CREATE TABLE {DB}.ai_bad ({cols}{tail}")
        assert code == ER_UNKNOWN_ERROR and text.endswith(expect), (cols, text)
    assert not c.values(f"SHOW TABLES FROM {DB} LIKE 'ai_bad'")


def test_auto_increment_values(cluster):
    c = cluster
    c.run(f"CREATE TABLE {DB}.ai (id BIGINT NOT NULL AUTO_INCREMENT(100), v VARCHAR(16)) DUPLICATE KEY(id) "
          'DISTRIBUTED BY HASH(id) BUCKETS 3 PROPERTIES ("replication_num" = "1")')
    # INSERT leaving the column out: values from the start, in row order.
    n, _ = execute(c, f"INSERT INTO {DB}.ai (v) VALUES ('a'), ('b'), ('c')")
    assert n == 3
    assert ids_and_values(c, "ai") == [(100, "a"), (101, "b"), (102, "c")]
    # A stream load without the column, then an INSERT giving NULL (filled) and a value (kept).
    res = stream_load_columns(c, "ai", ["d", "e"], "v", "ai_sl_1")
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res
    execute(c, f"INSERT INTO {DB}.ai VALUES (NULL, 'f'), (5, 'g')")
    got = ids_and_values(c, "ai")
    assert len(got) == 7 and (5, "g") in got
    generated = {v: i for i, v in got if v != "g"}
    assert len(set(generated.values())) == 6, got
    assert generated["a"] < generated["b"] < generated["c"] < generated["d"] < generated["e"] < generated["f"], got

    # kill -9: no value is handed out twice, new ones are above every old one.
    c.crash_fe()
    c.start_fe()
    c.wait_be_alive()
    assert ids_and_values(c, "ai") == got
    execute(c, f"INSERT INTO {DB}.ai (v) VALUES ('h'), ('i')")
    after = ids_and_values(c, "ai")
    new = [i for i, v in after if v in ("h", "i")]
    assert len(new) == 2 and min(new) > max(generated.values()) and new[0] != new[1], after


def wait_job(c, kind, label):
    sql = (f'SHOW BACKUP FROM {DB} WHERE SnapshotName = "{label}"' if kind == "backup"
           else f'SHOW RESTORE FROM {DB} WHERE Label = "{label}"')
    deadline = time.monotonic() + 120
    while True:
        rows = c.rows(sql)
        state = rows[0]["State"] if rows else None
        if state == "FINISHED":
            return
        assert state != "CANCELLED", rows
        assert time.monotonic() < deadline, f"{kind} {label} not FINISHED: {rows}"
        time.sleep(0.2)


def test_auto_increment_survives_backup_and_restore(cluster):
    c = cluster
    ddl = ("CREATE TABLE {db}.{name} (id BIGINT NOT NULL AUTO_INCREMENT, v VARCHAR(16)) DUPLICATE KEY(id) "
           'DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    c.run(ddl.format(db=DB, name="ai_src"))
    execute(c, f"INSERT INTO {DB}.ai_src (v) VALUES ('a'), ('b'), ('c')")
    src = ids_and_values(c, "ai_src")
    assert [v for _, v in src] == ["a", "b", "c"]
    c.run(f'CREATE REPOSITORY ai_repo WITH LOCAL ON LOCATION "file://{c.repo}"')
    c.run(f'BACKUP SNAPSHOT {DB}.ai_snap TO ai_repo ON (ai_src) PROPERTIES ("type" = "full")')
    wait_job(c, "backup", "ai_snap")
    ts = c.rows('SHOW SNAPSHOT ON ai_repo WHERE SNAPSHOT = "ai_snap"')[0]["Timestamp"]

    # Into a new table: the column comes back, and new values are above the restored ones.
    c.run(f'RESTORE SNAPSHOT {DB}.ai_snap FROM ai_repo ON (ai_src AS ai_new) '
          f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")')
    wait_job(c, "restore", "ai_snap")
    assert "`id` bigint NOT NULL AUTO_INCREMENT(1)" in c.values(f"SHOW CREATE TABLE {DB}.ai_new")[0][1]
    assert ids_and_values(c, "ai_new") == src
    execute(c, f"INSERT INTO {DB}.ai_new (v) VALUES ('d')")
    (new_id,) = [i for i, v in ids_and_values(c, "ai_new") if v == "d"]
    assert new_id > max(i for i, _ in src)

    # Into an existing table that never handed a value out: it goes on above them too.
    c.run(ddl.format(db=DB, name="ai_old"))
    c.run(f'RESTORE SNAPSHOT {DB}.ai_snap FROM ai_repo ON (ai_src AS ai_old) '
          f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")')
    # The second restore of this label: wait until both are FINISHED.
    deadline = time.monotonic() + 120
    while [r["State"] for r in c.rows(f'SHOW RESTORE FROM {DB} WHERE Label = "ai_snap"')].count("FINISHED") < 2:
        assert time.monotonic() < deadline, c.rows(f'SHOW RESTORE FROM {DB} WHERE Label = "ai_snap"')
        time.sleep(0.2)
    assert ids_and_values(c, "ai_old") == src
    execute(c, f"INSERT INTO {DB}.ai_old (v) VALUES ('e')")
    got = ids_and_values(c, "ai_old")
    (e_id,) = [i for i, v in got if v == "e"]
    assert e_id > max(i for i, _ in src), got
