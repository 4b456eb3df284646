"""End-to-end: upstream's hidden columns of a UNIQUE KEY table, on a `doris-rs local --bes 2`
cluster with two replicas per tablet, through pymysql and curl.

- CREATE TABLE of a UNIQUE KEY table adds `__DORIS_DELETE_SIGN__`, `__DORIS_VERSION_COL__`
  and, with `function_column.sequence_col` / `sequence_type`, `__DORIS_SEQUENCE_COL__`.
  DESC, SHOW CREATE TABLE, SELECT *, information_schema.columns and INSERT never see them;
  `SET show_hidden_columns = true` shows them (and the rows a delete sign removed).
- Stream load `merge_type: DELETE` deletes the keys it loads, `MERGE` with `delete: <cond>`
  deletes the rows the condition selects; a sequence column keeps the row with the larger
  sequence value whatever the load order. Upstream's refusals and texts.
- A backup and restore of such a table keeps all of it.
"""

import json
import subprocess

import pymysql
import pytest

from test_local_cluster import LocalCluster, pick_base
from test_table_models import Client, backup_and_restore

DB = "hidden"
ER_UNKNOWN_ERROR = 1105
HIDDEN = ["__DORIS_DELETE_SIGN__", "__DORIS_VERSION_COL__"]


class HiddenClient(Client):
    def stream_load(self, table, lines, headers=(), fmt="csv"):
        """A stream load into `table` with extra headers; the answer, whatever its Status."""
        cmd = ["curl", "-sS", "--location-trusted", "-u", "root:", "-T", "-"]
        if fmt == "csv":
            cmd += ["-H", "column_separator:,"]
        for h in headers:
            cmd += ["-H", h]
        cmd.append(f"http://127.0.0.1:{self.http}/api/{DB}/{table}/_stream_load")
        out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120,
                             check=True).stdout
        return json.loads(out)

    def loads(self, table, lines, *headers, fmt="csv"):
        res = self.stream_load(table, lines, headers, fmt)
        assert res["Status"] == "Success", res
        return res

    def with_hidden(self, sql):
        """Rows of `sql` on a connection with show_hidden_columns set."""
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", database=DB, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SET show_hidden_columns = true")
                cur.execute(sql)
                return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()


@pytest.fixture(scope="module")
def db(doris_rs_bin, tmp_path_factory):
    lc = LocalCluster(doris_rs_bin, tmp_path_factory.mktemp("hidden_cluster"), pick_base(2), 2)
    try:
        c = HiddenClient(lc, lc.start())
        c.query(f"CREATE DATABASE {DB}")
        c.query(f"USE {DB}")
        yield c
    finally:
        lc.cleanup()


def unique_table(db, name, props=""):
    db.query(f"CREATE TABLE {name} (k INT NOT NULL, v INT, ts INT) UNIQUE KEY(k) "
             f'DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "2"{props})')


def test_hidden_columns_are_hidden_until_asked_for(db):
    unique_table(db, "u", ', "function_column.sequence_col" = "ts"')
    assert [r[0] for r in db.query("DESC u")] == ["k", "v", "ts"]
    ddl = db.query("SHOW CREATE TABLE u")[0][1]
    assert '"enable_unique_key_merge_on_write" = "true"' in ddl, ddl
    assert '"function_column.sequence_col" = "ts"' in ddl, ddl
    assert "__DORIS_" not in ddl, ddl
    assert db.query(f"SELECT column_name FROM information_schema.columns WHERE table_schema = '{DB}' "
                    "AND table_name = 'u' ORDER BY ordinal_position") == [("k",), ("v",), ("ts",)]
    # INSERT's width is the visible columns'; SELECT * answers them only.
    db.query("INSERT INTO u VALUES (1, 10, 5), (2, 20, 5)")
    with db.conn.cursor() as cur:
        cur.execute("SELECT * FROM u ORDER BY k")
        assert [d[0] for d in cur.description] == ["k", "v", "ts"]
        assert [tuple(r) for r in cur.fetchall()] == [(1, 10, 5), (2, 20, 5)]

    names, rows = db.with_hidden("DESC u")
    assert [r[0] for r in rows] == ["k", "v", "ts"] + HIDDEN + ["__DORIS_SEQUENCE_COL__"], rows
    names, rows = db.with_hidden("SELECT * FROM u ORDER BY k")
    assert names == ["k", "v", "ts"] + HIDDEN + ["__DORIS_SEQUENCE_COL__"], names
    # Delete sign 0, version 0 (doris-rs keeps no per-row version), sequence = ts.
    assert rows == [(1, 10, 5, 0, 0, 5), (2, 20, 5, 0, 0, 5)], rows


def test_merge_type_delete_and_merge(db):
    unique_table(db, "m")
    db.loads("m", ["1,10,0", "2,20,0", "3,30,0", "4,40,0"])
    res = db.loads("m", ["2,0,0", "3,0,0"], "merge_type: DELETE")
    assert res["NumberLoadedRows"] == 2, res
    assert db.query("SELECT k, v FROM m ORDER BY k") == [(1, 10), (4, 40)]
    # MERGE: the rows `delete` selects delete their key, the others are written.
    db.loads("m", ["1,11,0", "4,99,0", "5,50,0"], "merge_type: MERGE", "delete: v > 90")
    assert db.query("SELECT k, v FROM m ORDER BY k") == [(1, 11), (5, 50)]
    assert db.query("SELECT COUNT(*) FROM m") == [(2,)]
    # JSON as well; a deleted key loaded again is back.
    db.loads("m", ['[{"k": 5, "v": 0}, {"k": 2, "v": 22}]'], "format: json", "strip_outer_array: true",
             "merge_type: MERGE", "delete: k = 5", fmt="json")
    assert db.query("SELECT k, v FROM m ORDER BY k") == [(1, 11), (2, 22)]
    # show_hidden_columns shows the deleted rows with their sign, as upstream.
    _, rows = db.with_hidden("SELECT k, __DORIS_DELETE_SIGN__ FROM m ORDER BY k")
    assert rows == [(1, 0), (2, 0), (3, 1), (4, 1), (5, 1)], rows
    # The file may carry the delete sign itself (hidden_columns).
    db.loads("m", ["1,0,0,1"], "hidden_columns: __DORIS_DELETE_SIGN__")
    assert db.query("SELECT k FROM m ORDER BY k") == [(2,)]


def test_sequence_column_keeps_the_larger_value(db):
    unique_table(db, "s", ', "function_column.sequence_col" = "ts"')
    db.loads("s", ["1,100,5", "2,200,5"])
    # An older update (smaller ts) loaded later loses; a newer one wins.
    db.loads("s", ["1,111,3", "2,222,9"])
    assert db.query("SELECT k, v, ts FROM s ORDER BY k") == [(1, 100, 5), (2, 222, 9)]
    # Within one load too.
    db.loads("s", ["3,1,7", "3,2,6"])
    assert db.query("SELECT v FROM s WHERE k = 3") == [(1,)]

    # sequence_type: the load names the column that feeds it.
    db.query("CREATE TABLE st (k INT NOT NULL, v VARCHAR(8), modify INT) UNIQUE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "2", '
             '"function_column.sequence_type" = "int")')
    ddl = db.query("SHOW CREATE TABLE st")[0][1]
    assert '"function_column.sequence_type" = "int"' in ddl, ddl
    res = db.stream_load("st", ["1,a,2"])
    assert res["Status"] == "Fail", res
    assert "Table st has sequence column, need to specify the sequence column" in res["Message"], res
    db.loads("st", ["1,new,2"], "function_column.sequence_col: modify")
    db.loads("st", ["1,old,1"], "function_column.sequence_col: modify")
    assert db.query("SELECT k, v FROM st") == [(1, "new")]


def test_refusals_with_upstreams_texts(db):
    db.query("CREATE TABLE d (k INT NOT NULL, v INT) DUPLICATE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "2")')
    res = db.stream_load("d", ["1,2"], ["merge_type: DELETE"])
    assert (res["Status"], res["Message"]) == ("Fail", "load by MERGE or DELETE is only supported in unique tables."), res
    res = db.stream_load("d", ["1,2"], ["function_column.sequence_col: v"])
    assert (res["Status"], res["Message"]) == ("Fail", "There is no sequence column in the table d"), res
    res = db.stream_load("d", ["1,2"], ["merge_type: MERGE"])
    assert res["Message"] == "Excepted DELETE ON clause when merge type is MERGE.", res
    assert db.query("SELECT COUNT(*) FROM d") == [(0,)]

    def refused(sql):
        code, msg = db.fails(sql)
        assert code == ER_UNKNOWN_ERROR, (code, msg)
        return msg

    base = "CREATE TABLE r (k INT NOT NULL, v VARCHAR(8), n INT) {keys} DISTRIBUTED BY HASH(k) BUCKETS 1 " \
           'PROPERTIES ("replication_num" = "2", {prop})'
    assert "sequence column only support UNIQUE_KEYS" in refused(
        base.format(keys="DUPLICATE KEY(k)", prop='"function_column.sequence_type" = "int"'))
    assert "The specified sequence column[nope] not exists" in refused(
        base.format(keys="UNIQUE KEY(k)", prop='"function_column.sequence_col" = "nope"'))
    assert "Sequence type only support integer types and date types" in refused(
        base.format(keys="UNIQUE KEY(k)", prop='"function_column.sequence_col" = "v"'))
    assert "sequence type only support integer types and date types" in refused(
        base.format(keys="UNIQUE KEY(k)", prop='"function_column.sequence_type" = "double"'))
    assert "enable_unique_key_merge_on_write property only support unique key table" in refused(
        base.format(keys="DUPLICATE KEY(k)", prop='"enable_unique_key_merge_on_write" = "true"'))
    assert "__DORIS_" in refused("CREATE TABLE r (k INT, __DORIS_X__ INT) DUPLICATE KEY(k) "
                                 'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "2")')


def test_backup_and_restore_keep_the_hidden_columns(db, tmp_path):
    unique_table(db, "b", ', "function_column.sequence_col" = "ts"')
    db.loads("b", ["1,10,5", "2,20,5", "3,30,5"])
    # On a sequence table a delete needs a sequence value at least the row's (upstream's rule).
    db.loads("b", ["2,0,9"], "merge_type: DELETE")
    db.loads("b", ["1,11,1"])
    backup_and_restore(db.query, DB, "b", "b_restored", tmp_path, replication_num=2)
    assert db.query("SELECT k, v, ts FROM b_restored ORDER BY k") == [(1, 10, 5), (3, 30, 5)]
    ddl = db.query("SHOW CREATE TABLE b_restored")[0][1]
    assert '"function_column.sequence_col" = "ts"' in ddl, ddl
    names, _ = db.with_hidden("SELECT * FROM b_restored")
    assert names == ["k", "v", "ts"] + HIDDEN + ["__DORIS_SEQUENCE_COL__"], names
    # The restored table deletes and orders by sequence as the original did.
    db.loads("b_restored", ["3,0,0"], "merge_type: DELETE")
    assert db.query("SELECT k FROM b_restored ORDER BY k") == [(1,), (3,)]
    db.loads("b_restored", ["3,0,6"], "merge_type: DELETE")
    db.loads("b_restored", ["1,12,4", "4,40,1"])
    assert db.query("SELECT k, v FROM b_restored ORDER BY k") == [(1, 10), (4, 40)]
