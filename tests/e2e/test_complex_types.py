"""End-to-end: upstream's complex column types ARRAY<T>, MAP<K, V> and STRUCT<name: T, ...>
on a `doris-rs local` cluster, through pymysql and curl.

- CREATE TABLE takes them (nested too); DESC, SHOW CREATE TABLE and
  information_schema.columns show them as upstream; they cannot be key, partition or
  distribution columns (upstream's refusals).
- CSV stream loads take upstream's text (`[1, 2]`, `{"k":1}`, `{"f":1}` / `{1, "x"}`, `null`
  elements); JSON loads take JSON arrays and objects; INSERT takes array/map/struct
  expressions and upstream's `{'k': 1}` map and `{1, 'a'}` struct literals. SELECT answers them in upstream's MySQL text; functions and element access
  work on them.
- A backup restored under another name reads the same rows; CCR (`doris-rs ccr-sync
  --follow`: a full sync, then loads ingested through ingest_binlog) keeps a target
  cluster's table equal to the source's.
"""

import json
import subprocess

import pymysql
import pytest

from ccr_support import Cluster
from test_local_cluster import LocalCluster, clusters, pick_base  # noqa: F401 (fixture)
from test_table_models import backup_and_restore

DB = "cx"
TABLE = (
    "CREATE TABLE {name} (k INT NOT NULL, a ARRAY<INT>, s ARRAY<VARCHAR(8)>, m MAP<VARCHAR(8),INT>, "
    "st STRUCT<a:INT, b:VARCHAR(8)>) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 "
    'PROPERTIES ("replication_num" = "1")'
)
CSV_ROWS = [
    '1|[1, 2, 3]|["a", "b"]|{"k1":1, "k2":2}|{"a":1, "b":"x"}',
    '2|[]|[null, "c,d"]|{}|{2, "y"}',
    "3|\\N|\\N|\\N|\\N",
    '4|[1, null]|[\'e\']|{"k":null}|{"a":null, "b":null}',
]
WANT = [
    (1, "[1, 2, 3]", '["a", "b"]', '{"k1":1, "k2":2}', '{"a":1, "b":"x"}'),
    (2, "[]", '[null, "c,d"]', "{}", '{"a":2, "b":"y"}'),
    (3, None, None, None, None),
    (4, "[1, null]", '["e"]', '{"k":null}', '{"a":null, "b":null}'),
]


class Client:
    def __init__(self, lc, banner):
        import re
        self.http = int(re.search(r"^  FE: .* http 127\.0\.0\.1:(\d+)", banner, re.M).group(1))
        self.conn = lc.connect()

    def query(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]

    def fails(self, sql):
        with pytest.raises(pymysql.err.MySQLError) as e:
            self.query(sql)
        return e.value.args[1]

    def load(self, table, body, *headers):
        cmd = ["curl", "-sS", "--location-trusted", "-u", "root:", "-T", "-"]
        for h in headers:
            cmd += ["-H", h]
        cmd.append(f"http://127.0.0.1:{self.http}/api/{DB}/{table}/_stream_load")
        out = subprocess.run(cmd, input=body, capture_output=True, text=True, timeout=120, check=True).stdout
        return json.loads(out)


@pytest.fixture(scope="module")
def db(doris_rs_bin, tmp_path_factory):
    lc = LocalCluster(doris_rs_bin, tmp_path_factory.mktemp("complex_cluster"), pick_base(1), 1)
    try:
        c = Client(lc, lc.start())
        c.query(f"CREATE DATABASE {DB}")
        c.query(f"USE {DB}")
        c.query(TABLE.format(name="ct"))
        yield c
    finally:
        lc.cleanup()


def test_the_schema_shows_complex_types_as_upstream(db):
    desc = db.query("DESC ct")
    assert [(r[0], r[1], r[2], r[3]) for r in desc] == [
        ("k", "INT", "No", "true"),
        ("a", "ARRAY<INT>", "Yes", "false"),
        ("s", "ARRAY<VARCHAR(8)>", "Yes", "false"),
        ("m", "MAP<VARCHAR(8),INT>", "Yes", "false"),
        ("st", "STRUCT<a:INT,b:VARCHAR(8)>", "Yes", "false"),
    ]
    ddl = db.query("SHOW CREATE TABLE ct")[0][1]
    for col in ["`a` array<int> NULL", "`s` array<varchar(8)> NULL", "`m` map<varchar(8),int> NULL",
                "`st` struct<a:int,b:varchar(8)> NULL"]:
        assert col in ddl, ddl
    cols = db.query(f"SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.columns "
                    f"WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME = 'ct' ORDER BY ORDINAL_POSITION")
    assert cols[1:] == [("a", "array", "array<int>"), ("s", "array", "array<varchar(8)>"),
                        ("m", "map", "map<varchar(8),int>"), ("st", "struct", "struct<a:int,b:varchar(8)>")]
    # The SHOW CREATE TABLE text creates the same table again.
    db.query(ddl.replace("`ct`", "`ct_again`", 1))
    assert db.query("DESC ct_again") == desc
    db.query("DROP TABLE ct_again")


def test_complex_columns_cannot_be_keys_partitions_or_distribution(db):
    msg = db.fails("CREATE TABLE bad1 (a ARRAY<INT>, k INT) DUPLICATE KEY(a) DISTRIBUTED BY HASH(k) BUCKETS 1 "
                   'PROPERTIES ("replication_num" = "1")')
    assert "Array can only be used in the non-key column of the duplicate table at present." in msg, msg
    msg = db.fails("CREATE TABLE bad2 (k INT, m MAP<INT,INT>) DUPLICATE KEY(k) DISTRIBUTED BY HASH(m) BUCKETS 1 "
                   'PROPERTIES ("replication_num" = "1")')
    assert "Map Type should not be used in distribution column[m]." in msg, msg
    msg = db.fails("CREATE TABLE bad3 (k INT, a ARRAY<VARCHAR(64)>) DUPLICATE KEY(k) PARTITION BY LIST(a) () "
                   'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    assert "Complex type column can't be partition column: ARRAY<VARCHAR(64)>" in msg, msg
    msg = db.fails("CREATE TABLE bad4 (k INT, a ARRAY<INT> SUM) AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) "
                   'BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    assert "ARRAY column can't support aggregation SUM" in msg, msg
    msg = db.fails("DELETE FROM ct WHERE a IS NULL")
    assert "Can not apply delete condition to column type: array<int>" in msg, msg


def test_csv_and_json_loads_read_back_as_upstream_text(db):
    res = db.load("ct", "\n".join(CSV_ROWS) + "\n", "column_separator:|")
    assert res["Status"] == "Success" and res["NumberLoadedRows"] == 4, res
    assert db.query("SELECT k, a, s, m, st FROM ct ORDER BY k") == WANT

    # A value that does not fit its type filters the row.
    res = db.load("ct", "9|[1, x]|[]|{}|{1, \"z\"}\n", "column_separator:|", "max_filter_ratio:1")
    assert (res["NumberLoadedRows"], res["NumberFilteredRows"]) == (0, 1), res

    rows = [
        {"k": 10, "a": [5, None, 6], "s": ["q\"t", "u"], "m": {"x": 7}, "st": {"b": "j", "a": 8}},
        {"k": 11, "a": "[9]", "s": None, "m": {}, "st": None},
    ]
    res = db.load("ct", json.dumps(rows), "format:json", "strip_outer_array:true")
    assert res["Status"] == "Success" and res["NumberLoadedRows"] == 2, res
    assert db.query("SELECT k, a, s, m, st FROM ct WHERE k >= 10 ORDER BY k") == [
        (10, "[5, null, 6]", '["q\\"t", "u"]', '{"x":7}', '{"a":8, "b":"j"}'),
        (11, "[9]", None, "{}", None),
    ]


def test_functions_and_element_access(db):
    assert db.query("SELECT k, array_length(a), a[1], m['k1'], st['b'] FROM ct WHERE k IN (1, 2) ORDER BY k") == [
        (1, 3, 1, 1, "x"),
        (2, 0, None, None, "y"),
    ]
    assert db.query("SELECT COUNT(*) FROM ct WHERE array_length(a) > 2") == [(2,)]
    # Upstream's names: element_at, struct_element, size, array(...); a LARGEINT element whole.
    assert db.query("SELECT element_at(a, 2), size(a), element_at(m, 'k2'), struct_element(st, 'b'), array(k, 2) "
                    "FROM ct WHERE k = 1") == [(2, 3, 2, "x", "[1, 2]")]
    assert db.query("SELECT [170141183460469231731687303715884105727, -1]") == [
        ("[170141183460469231731687303715884105727, -1]",)]


def test_insert_values_with_complex_literals(db):
    db.query(TABLE.format(name="ins"))
    db.query("INSERT INTO ins VALUES (1, [1, 2], ['a', NULL], map('k', 3), named_struct('a', 4, 'b', 'z'))")
    db.query("INSERT INTO ins (k, a, st) VALUES (2, [], struct(5, 'y'))")
    assert db.query("SELECT * FROM ins ORDER BY k") == [
        (1, "[1, 2]", '["a", null]', '{"k":3}', '{"a":4, "b":"z"}'),
        (2, "[]", None, None, '{"a":5, "b":"y"}'),
    ]
    # INSERT ... SELECT carries the values as they are.
    db.query("INSERT INTO ins SELECT k + 100, a, s, m, st FROM ct WHERE k <= 4")
    assert db.query("SELECT k - 100, a, s, m, st FROM ins WHERE k > 100 ORDER BY k") == WANT
    # A column added later (light schema change) reads its default, or NULL, in older rows.
    db.query("ALTER TABLE ins ADD COLUMN x MAP<INT,INT> NULL")
    db.query('ALTER TABLE ins ADD COLUMN y ARRAY<INT> NULL DEFAULT "[]"')
    db.query("INSERT INTO ins (k, x, y) VALUES (3, map(1, 2), [3])")
    assert db.query("SELECT k, x, y FROM ins WHERE k <= 3 ORDER BY k") == [
        (1, None, "[]"), (2, None, "[]"), (3, "{1:2}", "[3]")]


def test_upstream_brace_literals_for_maps_and_structs(db):
    # Upstream's `{k: v}` map and `{a, b}` struct literals: a colon at the top level makes a
    # map, `{}` is an empty one; they nest, NULL is a value; a struct's fields go by position.
    db.query(TABLE.format(name="braces"))
    db.query("INSERT INTO braces VALUES (1, [1], ['a'], {'k1': 1, 'k2': 2}, {3, 'x'}), "
             "(2, [], [], {}, {NULL, NULL}), (3, NULL, NULL, {'n': NULL}, {4, 'y'})")
    db.query("INSERT INTO braces (k, m, st) VALUES (4, {'z': 9}, {5, 'w'})")
    assert db.query("SELECT k, m, st FROM braces ORDER BY k") == [
        (1, '{"k1":1, "k2":2}', '{"a":3, "b":"x"}'),
        (2, "{}", '{"a":null, "b":null}'),
        (3, '{"n":null}', '{"a":4, "b":"y"}'),
        (4, '{"z":9}', '{"a":5, "b":"w"}'),
    ]
    assert db.query("SELECT k FROM braces WHERE m['k2'] = 2") == [(1,)]
    # In a SELECT, an unnamed struct's fields are upstream's col1, col2, ...
    assert db.query("SELECT {'k': 1, 'j': 2}, {1, 'a'}, {'a': {1, [2, 3]}}") == [
        ('{"k":1, "j":2}', '{"col1":1, "col2":"a"}', '{"a":{"col1":1, "col2":[2, 3]}}')]
    assert db.query("SELECT '{1}', {'a', 'b'}") == [("{1}", '{"col1":"a", "col2":"b"}')]
    msg = db.fails("SELECT {'a': 1, 'b'}")
    assert "map can't be odd parameters, need even parameters" in msg, msg


def test_unique_and_aggregate_tables_replace_complex_values(db):
    db.query("CREATE TABLE u (k INT NOT NULL, a ARRAY<INT>, st STRUCT<x:INT>) UNIQUE KEY(k) "
             'DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    db.query("CREATE TABLE g (k INT NOT NULL, a ARRAY<INT> REPLACE, m MAP<INT,INT> REPLACE_IF_NOT_NULL, n INT SUM) "
             'AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")')
    for body in ["1|[1]|{1}\n2|[2]|{2}\n", "1|[1, 1]|\\N\n"]:
        assert db.load("u", body, "column_separator:|")["Status"] == "Success"
    assert db.query("SELECT * FROM u ORDER BY k") == [(1, "[1, 1]", None), (2, "[2]", '{"x":2}')]
    for body in ["1|[1]|{1:1}|1\n", "1|[2]|\\N|2\n"]:
        assert db.load("g", body, "column_separator:|")["Status"] == "Success"
    assert db.query("SELECT * FROM g") == [(1, "[2]", "{1:1}", 3)]


def test_a_backup_restores_the_same_rows(db, tmp_path):
    backup_and_restore(db.query, DB, "ct", "ct_restored", tmp_path)
    assert db.query("DESC ct_restored") == db.query("DESC ct")
    assert db.query("SELECT * FROM ct_restored ORDER BY k") == db.query("SELECT * FROM ct ORDER BY k")


def test_ccr_follow_carries_complex_columns(clusters, doris_rs_bin, tmp_path):
    base = pick_base(1, neighbour=(100, 1))
    src_lc = clusters(tmp_path / "src", base, 1)
    src = Cluster(src_lc, src_lc.start())
    dst_lc = clusters(tmp_path / "dst", base + 100, 1)
    dst = Cluster(dst_lc, dst_lc.start())
    src.query("CREATE DATABASE src")
    src.query(TABLE.format(name="src.t").replace('"1")', '"1", "binlog.enable" = "true")'))

    def load(lines):
        cmd = ["curl", "-sS", "--location-trusted", "-u", "root:", "-H", "column_separator:|", "-T", "-",
               f"http://127.0.0.1:{src.fe_http}/api/src/t/_stream_load"]
        out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120,
                             check=True).stdout
        assert json.loads(out)["Status"] == "Success", out

    def follow():
        cmd = [doris_rs_bin, "ccr-sync", "--src", f"127.0.0.1:{src.lc.query_port}", "--src-rpc",
               f"127.0.0.1:{src.fe_rpc}", "--dst", f"127.0.0.1:{dst.lc.query_port}", "--dst-rpc",
               f"127.0.0.1:{dst.fe_rpc}", "--db", "src", "--table", "t", "--timeout", "300", "--follow",
               "--exit-when-caught-up", "--poll-ms", "100", "--state", str(tmp_path / "follow.redb")]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def rows(c):
        return [tuple(r) for r in c.rows("SELECT k, a, s, m, st FROM src.t ORDER BY k")]

    load(CSV_ROWS[:2])
    out = follow()
    assert "full sync" in out, out
    assert rows(dst) == rows(src) == WANT[:2]
    load(CSV_ROWS[2:])
    out = follow()
    assert out.count("UPSERT: txn") == 1, out
    assert rows(dst) == rows(src) == WANT
    assert dst.rows("DESC src.t") == src.rows("DESC src.t")
