"""End-to-end: rows read the way their table model reads them, and DELETE FROM, on a
`doris-rs local --bes 2` cluster with two replicas per tablet, through pymysql and curl.

- UNIQUE KEY: a newer load's row replaces the older row of its key; AGGREGATE KEY: values
  are folded by their aggregation (SUM, MAX, REPLACE); COUNT(*) counts merged rows.
- DELETE FROM t [PARTITION p] WHERE ...: upstream's delete job (a transaction of
  REALTIME_PUSH tasks to every replica); only rows of earlier versions are deleted, rows
  loaded afterwards stay; the OK info names the `delete_` label; upstream's refusals.
- A backup taken after a DELETE restores without the deleted rows (the predicate travels
  with the rowset in the snapshot).
"""

import json
import subprocess

import pymysql
import pytest

from test_local_cluster import LocalCluster, pick_base
from test_sql_statements import poll

DB = "models"
ER_BAD_FIELD_ERROR = 1054
ER_PARSE_ERROR = 1064
ER_UNKNOWN_ERROR = 1105
ER_SPECIFIC_ACCESS_DENIED = 1227


class Client:
    def __init__(self, lc, banner):
        import re
        self.http = int(re.search(r"^  FE: .* http 127\.0\.0\.1:(\d+)", banner, re.M).group(1))
        self.conn = lc.connect()
        self.port = lc.query_port

    def query(self, sql, conn=None):
        with (conn or self.conn).cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]

    def execute_info(self, sql):
        """The OK packet's info text of a statement. The server sends it length-encoded, as
        MySQL and Doris do; pymysql hands over the packet's rest, length byte included."""
        with self.conn.cursor() as cur:
            cur.execute(sql)
            msg = cur._result.message
        assert msg and msg[0] == len(msg) - 1, msg
        return msg[1:].decode()

    def fails(self, sql, conn=None):
        with pytest.raises(pymysql.err.MySQLError) as e:
            self.query(sql, conn)
        return e.value.args[0], e.value.args[1]

    def load(self, table, lines, user="root:"):
        cmd = [
            "curl", "-sS", "--location-trusted", "-u", user, "-H", "column_separator:,", "-T", "-",
            f"http://127.0.0.1:{self.http}/api/{DB}/{table}/_stream_load",
        ]
        out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120,
                             check=True).stdout
        res = json.loads(out)
        assert res["Status"] == "Success", res
        return res


@pytest.fixture(scope="module")
def db(doris_rs_bin, tmp_path_factory):
    lc = LocalCluster(doris_rs_bin, tmp_path_factory.mktemp("models_cluster"), pick_base(2), 2)
    try:
        c = Client(lc, lc.start())
        c.query(f"CREATE DATABASE {DB}")
        c.query(f"USE {DB}")
        yield c
    finally:
        lc.cleanup()


def test_unique_keys_keep_the_newest_row(db):
    db.query("CREATE TABLE u (k INT NOT NULL, v INT, s VARCHAR(8)) UNIQUE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "2")')
    db.load("u", ["1,10,a", "2,20,b", "3,30,c"])
    db.load("u", ["2,21,b2", "3,31,c2", "2,22,b3", "4,40,d"])
    assert db.query("SELECT k, v, s FROM u ORDER BY k") == [(1, 10, "a"), (2, 22, "b3"), (3, 31, "c2"), (4, 40, "d")]
    assert db.query("SELECT COUNT(*) FROM u") == [(4,)]
    # A filter on a value column sees the merged value only.
    assert db.query("SELECT k FROM u WHERE v = 20") == []
    assert db.query("SELECT SUM(v) FROM u") == [(103,)]


def test_aggregate_keys_fold_values(db):
    db.query("CREATE TABLE a (city VARCHAR(8) NOT NULL, hits BIGINT SUM DEFAULT '0', top INT MAX, last VARCHAR(8) REPLACE) "
             'AGGREGATE KEY(city) DISTRIBUTED BY HASH(city) BUCKETS 2 PROPERTIES ("replication_num" = "2")')
    db.load("a", ["x,1,5,p", "y,10,1,q", "x,2,3,r"])
    db.load("a", ["x,4,9,s"])
    assert db.query("SELECT city, hits, top, last FROM a ORDER BY city") == [("x", 7, 9, "s"), ("y", 10, 1, "q")]
    assert db.query("SELECT COUNT(*) FROM a") == [(2,)]


def test_delete_removes_matching_rows_of_earlier_versions_only(db):
    db.query("CREATE TABLE d (day DATE NOT NULL, k INT NOT NULL, v VARCHAR(8)) DUPLICATE KEY(day, k) "
             'PARTITION BY RANGE(day) (PARTITION p1 VALUES LESS THAN ("2024-01-01"), '
             'PARTITION p2 VALUES LESS THAN ("2025-01-01")) DISTRIBUTED BY HASH(k) BUCKETS 2 '
             'PROPERTIES ("replication_num" = "2")')
    db.load("d", ["2023-05-01,1,a", "2023-06-01,2,b", "2024-02-01,1,c", "2024-03-01,3,\\N", "2024-04-01,4,d"])

    info = db.execute_info("DELETE FROM d WHERE k IN (1, 9) AND v != 'zz'")
    assert info.startswith("{'label':'delete_") and info.endswith("'status':'VISIBLE'}"), info
    assert db.query("SELECT k, v FROM d ORDER BY k") == [(2, "b"), (3, None), (4, "d")]
    label = info.split("'")[3]
    txns = db.query(f"SHOW TRANSACTION FROM {DB} WHERE LABEL = '{label}'")
    assert txns and "VISIBLE" in txns[0], txns

    # Only the named partition; IS NULL matches the NULL value.
    db.query("DELETE FROM d PARTITION p2 WHERE v IS NULL")
    db.query("DELETE FROM d PARTITION (p1) WHERE k >= 4")
    assert db.query("SELECT k, v FROM d ORDER BY k") == [(2, "b"), (4, "d")]

    # Rows loaded after a delete are not touched by it.
    db.load("d", ["2024-05-01,1,again"])
    assert db.query("SELECT k, v FROM d ORDER BY k") == [(1, "again"), (2, "b"), (4, "d")]
    assert db.query("SELECT COUNT(*) FROM d") == [(3,)]


def test_delete_on_unique_and_aggregate_tables(db):
    db.query("CREATE TABLE du (k INT NOT NULL, v INT) UNIQUE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "2")')
    db.load("du", ["1,10", "2,20", "3,30"])
    db.load("du", ["2,25"])
    # On a UNIQUE table a value column may be named: the merged value decides.
    db.query("DELETE FROM du WHERE v = 20")
    assert db.query("SELECT k, v FROM du ORDER BY k") == [(1, 10), (2, 25), (3, 30)]
    db.query("DELETE FROM du WHERE v >= 25")
    assert db.query("SELECT k, v FROM du ORDER BY k") == [(1, 10)]

    db.query("CREATE TABLE da (k INT NOT NULL, n BIGINT SUM) AGGREGATE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "2")')
    db.load("da", ["1,1", "2,2"])
    code, msg = db.fails("DELETE FROM da WHERE n = 1")
    assert code == ER_UNKNOWN_ERROR and "is an Aggregate table" in msg, msg
    db.query("DELETE FROM da WHERE k = 1")
    assert db.query("SELECT k, n FROM da") == [(2, 2)]


def test_delete_refusals(db):
    db.query("CREATE TABLE r (k INT NOT NULL, f DOUBLE) DUPLICATE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "2")')
    assert db.fails("DELETE FROM r WHERE nope = 1")[0] == ER_BAD_FIELD_ERROR
    assert db.fails("DELETE FROM r")[0] == ER_PARSE_ERROR
    code, msg = db.fails("DELETE FROM r WHERE k = 1 OR k = 2")
    assert code == ER_PARSE_ERROR and "Compound predicate's op should be AND" in msg, msg
    code, msg = db.fails("DELETE FROM r WHERE f = 1")
    assert (code, msg) == (ER_UNKNOWN_ERROR, "Column[f] type is float or double."), msg
    code, msg = db.fails("DELETE FROM r WHERE k = 'abc'")
    assert code == ER_UNKNOWN_ERROR and "abc" in msg, msg
    code, msg = db.fails("DELETE FROM r PARTITION nope WHERE k = 1")
    assert (code, msg) == (ER_UNKNOWN_ERROR, "Partition does not exist. name: nope"), msg

    # DELETE needs LOAD_PRIV on the table.
    db.query("CREATE USER 'reader' IDENTIFIED BY 'pw'")
    db.query(f"GRANT SELECT_PRIV ON {DB}.* TO 'reader'")
    reader = pymysql.connect(host="127.0.0.1", port=db.port, user="reader", password="pw", database=DB, autocommit=True)
    code, msg = db.fails("DELETE FROM r WHERE k = 1", reader)
    assert code == ER_SPECIFIC_ACCESS_DENIED and "Load_priv" in msg, msg


def test_a_restored_backup_keeps_the_delete(db, tmp_path):
    db.query("CREATE TABLE b (k INT NOT NULL, v VARCHAR(8)) DUPLICATE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "2")')
    db.load("b", ["1,a", "2,b", "3,c", "4,d"])
    db.query("DELETE FROM b WHERE k <= 2")
    backup_and_restore(db.query, DB, "b", "b_restored", tmp_path, replication_num=2)
    assert db.query("SELECT k, v FROM b_restored ORDER BY k") == [(3, "c"), (4, "d")]
    assert db.query("SELECT COUNT(*) FROM b_restored") == [(2,)]


def backup_and_restore(query, db, table, target, repo_dir, replication_num=1):
    """BACKUP `db.table` to a new file:// repository in `repo_dir`, then RESTORE it as
    `target`, each polled to FINISHED (a CANCELLED job fails the test); `query` runs a
    statement and returns its rows."""
    repo, snapshot = f"repo_{target}", f"snap_{target}"
    query(f'CREATE REPOSITORY {repo} WITH LOCAL ON LOCATION "file://{repo_dir}"')
    query(f"BACKUP SNAPSHOT {db}.{snapshot} TO {repo} ON ({table})")

    def done(show, label_column, state_column):
        jobs = query(f'SHOW {show} FROM {db} WHERE {label_column} = "{snapshot}"')
        assert jobs and jobs[-1][state_column] != "CANCELLED", jobs
        return jobs[-1][state_column] == "FINISHED", jobs[-1]

    poll(f"backup {snapshot}", lambda: done("BACKUP", "SnapshotName", 3))
    ts = [r for r in query(f"SHOW SNAPSHOT ON {repo}") if r[0] == snapshot][0][1]
    query(f"RESTORE SNAPSHOT {db}.{snapshot} FROM {repo} ON ({table} AS {target}) "
          f'PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "{replication_num}")')
    poll(f"restore {snapshot}", lambda: done("RESTORE", "Label", 4))
