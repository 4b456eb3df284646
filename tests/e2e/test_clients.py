"""End-to-end: off-the-shelf MySQL clients against a `doris-rs local` cluster, each in a
realistic session as a user root created (not root): the mysql CLI, MariaDB Connector/J
over JDBC (Debian's libmariadb-java, from a small Java program), mysql-connector-python and
pymysql (PyPI) with their commits, SQLAlchemy's ORM through pydoris' Doris dialect and
pydoris' stream-load client (PyPI). Each creates a table with upstream's types (STRING,
TEXT, JSON, LARGEINT, DATEV2, DATETIMEV2, DECIMALV3, ARRAY, MAP, STRUCT), loads CSV and JSON
by stream load, queries it with filters, aliases, grouping and aggregates, backs it up to a
repository, restores it under another name and reads the rows back. Then privileges: what
a user lacks is refused in SQL, stream load and the CCR RPCs.
"""

import datetime
import json
import pathlib
import re
import subprocess
import time

import mysql.connector
import pymysql
import pytest

from test_local_cluster import LocalCluster, pick_base

DB = "clients_db"
JDBC_JAR = pathlib.Path("/usr/share/java/mariadb-java-client.jar")
ROWS = [(1, "a", "2024-01-01 10:00:00.123", "1.50"), (2, "b", "2024-01-02 11:00:00", "2.25"),
        (3, "a", r"\N", "3.00"), (4, "c", "2024-01-04 00:00:00.5", r"\N")]
# The created user every client session logs in as: it may create, load, read, back up
# and restore in the database; the repository is root's (CREATE REPOSITORY needs ADMIN_PRIV).
APP, APP_PW = "app", "app-pw"
REPO = "clients_repo"

# A table with the types and clauses upstream's docs and client libraries write.
TYPED_DDL = ("CREATE TABLE IF NOT EXISTS {t} (id BIGINT NOT NULL COMMENT 'row id', city STRING, note TEXT, doc JSON, "
             "big LARGEINT, d DATEV2, ts DATETIMEV2(3), amt DECIMALV3(10, 2), tags ARRAY<VARCHAR(8)>, "
             "attrs MAP<VARCHAR(8), INT>, src STRUCT<host: VARCHAR(16), port: INT>) ENGINE=OLAP DUPLICATE KEY(id) "
             "COMMENT 'a client session table' DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES ('replication_num' = '1')")
TYPED_CSV = ('1|ann|first|{"a":1}|170141183460469231731687303715884105727|2024-01-01|2024-01-01 10:00:00.5|1.50|'
             '["x", "y"]|{"k":1}|{"host":"h1", "port":80}\n'
             '2|bob|\\N|\\N|-5|2024-01-02|2024-01-02 11:00:00|2.25|[]|{}|\\N\n')
TYPED_JSON = json.dumps([
    {"id": 3, "city": "ann", "note": "from json", "doc": {"b": [1, 2]}, "big": 7, "d": "2024-02-01",
     "ts": "2024-02-01 08:00:00.125", "amt": 3.0, "tags": ["z"], "attrs": {"m": 2}, "src": {"host": "h3", "port": 443}},
    {"id": 4, "city": "cy", "amt": 10.5},
])
# The filtered, grouped query every session runs, and what it reads (as strings).
GROUPED = "SELECT city, COUNT(*) AS n, SUM(amt) AS total FROM {t} WHERE amt > 2 GROUP BY city ORDER BY city"
GROUPED_ROWS = [["ann", "1", "3.00"], ["bob", "1", "2.25"], ["cy", "1", "10.50"]]
# Every column of every row, as the mysql CLI prints them (NULL for null).
TYPED_SCAN = "SELECT * FROM {t} ORDER BY id"
TYPED_ROWS = [
    ["1", "ann", "first", '{"a":1}', "170141183460469231731687303715884105727", "2024-01-01", "2024-01-01 10:00:00.500",
     "1.50", '["x", "y"]', '{"k":1}', '{"host":"h1", "port":80}'],
    ["2", "bob", "NULL", "NULL", "-5", "2024-01-02", "2024-01-02 11:00:00.000", "2.25", "[]", "{}", "NULL"],
    ["3", "ann", "from json", '{"b":[1,2]}', "7", "2024-02-01", "2024-02-01 08:00:00.125", "3.00", '["z"]', '{"m":2}',
     '{"host":"h3", "port":443}'],
    ["4", "cy", "NULL", "NULL", "NULL", "NULL", "NULL", "10.50", "NULL", "NULL", "NULL"],
]


def http_port(cluster):
    return int(next(l for l in cluster.output().splitlines() if l.startswith("  FE:")).split("http 127.0.0.1:")[1].split()[0])


def stream_load(cluster, table, body, headers, user=f"{APP}:{APP_PW}"):
    """A stream load as curl sends it (Basic auth, following the FE's redirect); its answer."""
    cmd = ["curl", "-sS", "--location-trusted", "-u", user]
    for k, v in headers.items():
        cmd += ["-H", f"{k}:{v}"]
    out = subprocess.run(cmd + ["-T", "-", f"http://127.0.0.1:{http_port(cluster)}/api/{DB}/{table}/_stream_load"],
                         input=body, capture_output=True, text=True, check=True, timeout=60).stdout
    return json.loads(out)


def load_typed(cluster, table):
    """The session's loads: CSV with `|` between columns, then a JSON array."""
    res = stream_load(cluster, table, TYPED_CSV, {"column_separator": "|"})
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res
    res = stream_load(cluster, table, TYPED_JSON, {"format": "json", "strip_outer_array": "true"})
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res


def text(v):
    """A cell as the mysql CLI prints it, for comparing what different drivers return."""
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return str(v)


def dbapi_runner(conn):
    """run(sql) -> (column names, rows as text) over a DB-API connection."""
    def run(sql):
        cur = conn.cursor()
        try:
            cur.execute(sql)
            if cur.description is None:
                return [], []
            return [d[0] for d in cur.description], [[text(v) for v in r] for r in cur.fetchall()]
        finally:
            cur.close()
    return run


def wait_job(run, sql):
    """Poll a SHOW BACKUP/RESTORE until its job is done, as a client tool does; its row."""
    deadline = time.monotonic() + 120
    while True:
        names, rows = run(sql)
        assert rows, sql
        job = dict(zip(names, rows[-1]))
        if job["State"] in ("FINISHED", "CANCELLED") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def backup_and_restore(run, table):
    """BACKUP the table to the repository, find the snapshot's timestamp with SHOW SNAPSHOT,
    RESTORE it as `<table>_restored`; the restored table's name."""
    label, restored = f"{table}_snap", f"{table}_restored"
    run(f"BACKUP SNAPSHOT {DB}.{label} TO {REPO} ON ({table})")
    job = wait_job(run, f'SHOW BACKUP FROM {DB} WHERE SnapshotName = "{label}"')
    assert (job["State"], job["Status"]) == ("FINISHED", "[OK]"), job
    names, rows = run(f'SHOW SNAPSHOT ON {REPO} WHERE SNAPSHOT = "{label}"')
    listed = [dict(zip(names, r)) for r in rows]
    assert [(s["Snapshot"], s["Status"]) for s in listed] == [(label, "OK")], listed
    run(f"RESTORE SNAPSHOT {DB}.{label} FROM {REPO} ON ({table} AS {restored}) "
        f'PROPERTIES ("backup_timestamp" = "{listed[0]["Timestamp"]}", "replication_num" = "1")')
    job = wait_job(run, f'SHOW RESTORE FROM {DB} WHERE Label = "{label}"')
    assert (job["State"], job["Status"]) == ("FINISHED", "[OK]"), job
    return restored


def typed_session(cluster, run, table):
    """What every SQL client does once connected as the created user: create the typed table,
    load it (by curl), query it filtered and grouped, back it up and restore it."""
    run(TYPED_DDL.format(t=table))
    load_typed(cluster, table)
    assert run(GROUPED.format(t=table)) == (["city", "n", "total"], GROUPED_ROWS)
    names, rows = run(TYPED_SCAN.format(t=table))
    assert names == ["id", "city", "note", "doc", "big", "d", "ts", "amt", "tags", "attrs", "src"]
    assert rows == TYPED_ROWS, rows
    restored = backup_and_restore(run, table)
    assert run(TYPED_SCAN.format(t=restored)) == (names, TYPED_ROWS)
    assert run(GROUPED.format(t=restored))[1] == GROUPED_ROWS


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    lc = LocalCluster(doris_rs_bin, tmp_path_factory.mktemp("clients"), pick_base(1), 1)
    try:
        banner = lc.start()
        conn = lc.connect()
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DB}")
            cur.execute(f"CREATE TABLE {DB}.t (k INT, v VARCHAR(10), d DATETIME(3), amount DECIMAL(10, 2)) "
                        "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 3 PROPERTIES ('replication_num' = '1')")
            cur.execute(f"CREATE USER '{APP}'@'%' IDENTIFIED BY '{APP_PW}'")
            cur.execute(f"GRANT SELECT_PRIV, LOAD_PRIV, CREATE_PRIV, ALTER_PRIV, DROP_PRIV ON {DB}.* TO '{APP}'@'%'")
            repo = tmp_path_factory.mktemp("repo")
            cur.execute(f'CREATE REPOSITORY {REPO} WITH LOCAL ON LOCATION "file://{repo}" PROPERTIES ()')
        conn.close()
        body = "".join(",".join(map(str, r)) + "\n" for r in ROWS)
        res = stream_load(lc, "t", body, {"column_separator": ","})
        assert res["Status"] == "Success", res
        yield lc
    finally:
        lc.cleanup()


def test_mysql_cli_session(cluster):
    # The mysql CLI in batch mode (-B: tab-separated, a header line, NULL for null), as a
    # shell script runs it.
    def run(sql):
        out = subprocess.run(["mysql", "-h127.0.0.1", f"-P{cluster.query_port}", f"-u{APP}", f"-p{APP_PW}", "-D", DB,
                              "-B", "-e", sql], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        lines = [l.split("\t") for l in out.stdout.splitlines()]
        return (lines[0], lines[1:]) if lines else ([], [])
    names, rows = run("SELECT USER(), CURRENT_USER(), DATABASE()")
    assert rows == [[f"'{APP}'@'127.0.0.1'", f"'{APP}'@'%'", DB]], rows
    typed_session(cluster, run, "cli_t")


def jdbc_session(cluster, tmp_path, *statements):
    """Run JdbcSession.java as the created user; its output lines, split at tabs."""
    assert JDBC_JAR.is_file(), "Debian's libmariadb-java is needed (apt-get install libmariadb-java)"
    if not (tmp_path / "JdbcSession.class").exists():
        src = pathlib.Path(__file__).parent / "clients" / "JdbcSession.java"
        subprocess.run(["javac", "-d", str(tmp_path), str(src)], check=True, timeout=120)
    out = subprocess.run(["java", "-cp", f"{tmp_path}:{JDBC_JAR}", "JdbcSession", str(cluster.query_port), DB,
                          APP, APP_PW, *statements], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return [l.split("\t") for l in out.stdout.splitlines()]


def fraction3(cell):
    """A DATETIME's text with 3 fraction digits: JDBC's getString drops trailing zeros."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))?", cell)
    return f"{m.group(1)}.{(m.group(2) or '').ljust(3, '0')}" if m else cell


def test_jdbc_mariadb_connector(cluster, tmp_path):
    lines = jdbc_session(cluster, tmp_path,
        "SELECT @@sql_mode, @@autocommit, DATABASE()",
        "SELECT v, COUNT(*) AS n, SUM(amount) AS total FROM t WHERE k > 1 GROUP BY v ORDER BY v",
        "?2|SELECT k, d FROM t WHERE k >= ? ORDER BY k",
        "SELECT * FROM no_such_table",
        "COMMIT",
        TYPED_DDL.format(t="jdbc_t"),
    )
    assert lines[0] == ["connected", "5.7.99"], lines
    # The driver's connect-time SET appended to sql_mode; autocommit came back 1.
    assert lines[1:3] == [["columns", "@@sql_mode", "@@autocommit", "DATABASE()"],
                          ["row", "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES", "1", DB]], lines
    assert lines[3:7] == [["columns", "v", "n", "total"], ["row", "a", "1", "3.00"], ["row", "b", "1", "2.25"],
                          ["row", "c", "1", "null"]], lines
    assert lines[7:11] == [["columns", "k", "d"], ["row", "2", "2024-01-02 11:00:00.0"], ["row", "3", "null"],
                           ["row", "4", "2024-01-04 00:00:00.5"]], lines
    assert lines[11][:2] == ["error", "1051"] and "no_such_table" in lines[11][2], lines
    assert lines[12:] == [["ok", "0"], ["ok", "0"], ["tx", "ok"]], lines

    # Loaded by curl, as a Java service's HTTP client would; then queried, backed up to the
    # repository, the snapshot's timestamp read with SHOW SNAPSHOT, restored under a new
    # name and read back, all over JDBC.
    load_typed(cluster, "jdbc_t")
    lines = jdbc_session(cluster, tmp_path,
        GROUPED.format(t="jdbc_t"),
        TYPED_SCAN.format(t="jdbc_t"),
        f"BACKUP SNAPSHOT {DB}.jdbc_snap TO {REPO} ON (jdbc_t)",
        f'wait|SHOW BACKUP FROM {DB} WHERE SnapshotName = "jdbc_snap"',
        f'let|ts|Timestamp|SHOW SNAPSHOT ON {REPO} WHERE SNAPSHOT = "jdbc_snap"',
        f"RESTORE SNAPSHOT {DB}.jdbc_snap FROM {REPO} ON (jdbc_t AS jdbc_t_restored) "
        'PROPERTIES ("backup_timestamp" = "${ts}", "replication_num" = "1")',
        f'wait|SHOW RESTORE FROM {DB} WHERE Label = "jdbc_snap"',
        TYPED_SCAN.format(t="jdbc_t_restored"),
    )
    assert lines[1:5] == [["columns", "city", "n", "total"]] + [["row", *r] for r in GROUPED_ROWS], lines
    # JDBC's getString: "null" for NULL and trailing fraction zeros dropped.
    scanned = [["row", *map(fraction3, r)] for r in TYPED_ROWS]
    jdbc = lambda rows: [[r[0], *[fraction3("NULL" if c == "null" else c) for c in r[1:]]] for r in rows]  # noqa: E731
    assert lines[5][0] == "columns" and jdbc(lines[6:10]) == scanned, lines[5:10]
    assert lines[10:12] == [["ok", "0"], ["state", "FINISHED"]], lines
    assert lines[12][:2] == ["let", "ts"] and re.fullmatch(r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", lines[12][2]), lines
    assert lines[13:15] == [["ok", "0"], ["state", "FINISHED"]], lines
    assert jdbc(lines[16:20]) == scanned, lines[15:]
    assert lines[20:] == [["tx", "ok"]], lines


def test_mysql_connector_python(cluster):
    conn = mysql.connector.connect(host="127.0.0.1", port=cluster.query_port, user=APP, password=APP_PW,
                                   database=DB, use_pure=True)
    try:
        cur = conn.cursor()
        cur.execute("SELECT k, v, amount FROM t WHERE v = %s ORDER BY k", ("a",))
        assert [(k, v, str(a)) for k, v, a in cur.fetchall()] == [(1, "a", "1.50"), (3, "a", "3.00")]
        cur.execute("SELECT COUNT(*) AS n, MAX(d) AS latest FROM t")
        assert [d[0] for d in cur.description] == ["n", "latest"]
        (n, latest), = cur.fetchall()
        assert n == 4 and str(latest).startswith("2024-01-04 00:00:00.5"), latest
        conn.commit()
        conn.rollback()
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == []
        cur.close()
        typed_session(cluster, dbapi_runner(conn), "mcp_t")
        conn.commit()
    finally:
        conn.close()


def test_pymysql_without_autocommit(cluster):
    # pymysql's default: autocommit off, so the session sends SET autocommit=0 and COMMITs.
    conn = pymysql.connect(host="127.0.0.1", port=cluster.query_port, user=APP, password=APP_PW, database=DB,
                           autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM t WHERE amount IS NULL OR d IS NULL")
            assert cur.fetchall() == ((2,),) and cur.description[0][0] == "n"
            cur.execute("BEGIN")
            cur.execute("SELECT AVG(k), MIN(v) FROM t")
            assert cur.fetchall() == ((2.5, "a"),)
        conn.commit()
        conn.rollback()
        run = dbapi_runner(conn)

        def committing(sql):
            out = run(sql)
            conn.commit()
            return out
        typed_session(cluster, committing, "pymysql_t")
    finally:
        conn.close()


def test_processlist_and_kill(cluster):
    a = cluster.connect()
    b = cluster.connect()
    try:
        with a.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            (a_id,), = cur.fetchall()
            cur.execute("SHOW PROCESSLIST")
            names = [d[0] for d in cur.description]
            assert names[:4] == ["CurrentConnected", "Id", "User", "Host"] and "Info" in names, names
            rows = {r[1]: dict(zip(names, r)) for r in cur.fetchall()}
        with b.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            (b_id,), = cur.fetchall()
        assert rows[a_id]["CurrentConnected"] == "Yes" and rows[a_id]["Command"] == "Query"
        assert rows[a_id]["Info"] == "SHOW PROCESSLIST"
        assert rows[b_id]["Command"] == "Sleep" and rows[b_id]["User"] == "root"
        with a.cursor() as cur:
            with pytest.raises(pymysql.err.MySQLError) as e:
                cur.execute("KILL 999999")
            assert e.value.args[0] == 1094
            cur.execute(f"KILL {b_id}")
        with pytest.raises(pymysql.err.MySQLError):
            with b.cursor() as cur:
                cur.execute("SELECT 1")
        with a.cursor() as cur:
            cur.execute("SHOW PROCESSLIST")
            assert b_id not in [r[1] for r in cur.fetchall()]
    finally:
        a.close()
        b.close()


def test_types_insert_and_truncate(cluster):
    conn = cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"USE {DB}")
            # Column types and clauses as upstream's docs and client libraries write them.
            cur.execute("CREATE TABLE IF NOT EXISTS typed (id BIGINT NOT NULL COMMENT 'id', name TEXT COMMENT 'the name', "
                        "doc JSON, ts DATETIMEV2(3), d DATEV2, amt DECIMALV3(10, 2), big LARGEINT, s STRING) "
                        "ENGINE=OLAP UNIQUE KEY(id) COMMENT 'typed table' DISTRIBUTED BY HASH(id) BUCKETS 2 "
                        "PROPERTIES ('replication_num' = '1')")
            n = cur.execute("INSERT INTO typed VALUES (1, 'x', '{\"a\": 1}', '2024-01-01 10:00:00.5', '2024-01-01', "
                            "1.25, 170141183460469231731687303715884105727, 'hello'), (2, NULL, NULL, NULL, NULL, NULL, "
                            "NULL, NULL)")
            assert n == 2
            assert cur.execute("INSERT INTO typed (id, name) SELECT id + 10, concat(name, '!') FROM typed "
                               "WHERE name IS NOT NULL") == 1
            cur.execute("SELECT * FROM typed ORDER BY id")
            rows = cur.fetchall()
            assert [d[0] for d in cur.description] == ["id", "name", "doc", "ts", "d", "amt", "big", "s"]
            assert rows[0][:3] == (1, "x", '{"a": 1}') and str(rows[0][3]) == "2024-01-01 10:00:00.500000"
            assert (str(rows[0][4]), str(rows[0][5]), rows[0][6], rows[0][7]) == (
                "2024-01-01", "1.25", "170141183460469231731687303715884105727", "hello")
            assert rows[1] == (2,) + (None,) * 7 and rows[2][:2] == (11, "x!")
            with pytest.raises(pymysql.err.MySQLError) as e:
                cur.execute("INSERT INTO typed (id) VALUES (1, 2)")
            assert "Column count doesn't match value count" in e.value.args[1]
            cur.execute("TRUNCATE TABLE typed")
            cur.execute("SELECT COUNT(*) FROM typed")
            assert cur.fetchall() == ((0,),)
    finally:
        conn.close()


def fe_rpc_port(cluster):
    import re
    return int(re.search(r"^  FE: .* rpc 127\.0\.0\.1:(\d+)", cluster.output(), re.M).group(1))


def login(cluster, user, password, db=DB):
    return pymysql.connect(host="127.0.0.1", port=cluster.query_port, user=user, password=password, database=db,
                           autocommit=True)


def mysql_error(conn, sql):
    with pytest.raises(pymysql.err.MySQLError) as e:
        with conn.cursor() as cur:
            cur.execute(sql)
    return e.value.args[0], e.value.args[1]


def test_users_and_privileges(cluster):
    from ccr_support import fe_thrift, status_code_name
    from thriftpy2.rpc import make_client
    from thriftpy2.transport import TBufferedTransportFactory

    root = cluster.connect()
    with root.cursor() as cur:
        cur.execute("CREATE USER 'alice'@'%' IDENTIFIED BY 'pw1'")
        cur.execute(f"GRANT SELECT_PRIV ON {DB}.* TO 'alice'@'%'")
        cur.execute("SHOW GRANTS FOR 'alice'@'%'")
        names = [d[0] for d in cur.description]
        grants = dict(zip(names, cur.fetchall()[0]))
        assert grants["UserIdentity"] == "'alice'@'%'" and grants["Password"] == "Yes", grants
        assert grants["DatabasePrivs"] == f"internal.{DB}.*: Select_priv", grants
    http = http_port(cluster)

    def stream_load(user):
        out = subprocess.run(["curl", "-sS", "--location-trusted", "-u", user, "-H", "column_separator:,", "-T", "-",
                              f"http://127.0.0.1:{http}/api/{DB}/t/_stream_load"],
                             input="9,z,\\N,\\N\n", capture_output=True, text=True, check=True, timeout=60).stdout
        return json.loads(out)

    alice = login(cluster, "alice", "pw1")
    try:
        with alice.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM t WHERE k > 0")
            assert cur.fetchall() == ((len(ROWS),),)
            # Listings show what she holds a privilege in, as upstream's.
            cur.execute("SHOW DATABASES")
            assert cur.fetchall() == ((DB,), ("information_schema",))
            cur.execute("SHOW FULL TABLES FROM information_schema LIKE 'tab%'")
            assert sorted(cur.fetchall()) == [(v, "SYSTEM VIEW") for v in ("table_constraints", "table_privileges", "tables")]
        # What SELECT_PRIV alone does not allow, with upstream's code and text.
        code, msg = mysql_error(alice, f"BACKUP SNAPSHOT {DB}.s1 TO `__keep_on_local__` ON (t)")
        assert (code, msg) == (1227, "Access denied; you need (at least one of) the Load_priv privilege(s) for this operation")
        assert mysql_error(alice, "CREATE TABLE t9 (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1")[0] == 1227
        assert mysql_error(alice, "INSERT INTO t (k) VALUES (99)")[0] == 1227
        assert mysql_error(alice, "CREATE USER 'mallory'")[0] == 1227
        assert mysql_error(alice, "SHOW PROC '/dbs'")[0] == 1227
        assert stream_load("alice:pw1")["status"] == "FAILED"
        # BACKUP to a repository is refused too; so is a repository to anyone without
        # ADMIN_PRIV, even a user who may back up (app holds LOAD_PRIV, as upstream's BACKUP
        # asks).
        assert mysql_error(alice, f"BACKUP SNAPSHOT {DB}.s2 TO {REPO} ON (t)")[0] == 1227
        app = login(cluster, APP, APP_PW)
        try:
            assert mysql_error(app, 'CREATE REPOSITORY r2 WITH LOCAL ON LOCATION "file:///tmp/r2" PROPERTIES ()') == (
                1227, "Access denied; you need (at least one of) the Admin_priv privilege(s) for this operation")
            assert mysql_error(app, f"DROP REPOSITORY {REPO}")[0] == 1227
        finally:
            app.close()
        # A CCR RPC with alice's password but no LOAD_PRIV is refused too.
        ft = fe_thrift()
        c = make_client(ft.FrontendService, "127.0.0.1", fe_rpc_port(cluster), trans_factory=TBufferedTransportFactory(),
                        timeout=60_000)
        try:
            res = c.getBinlog(ft.TGetBinlogRequest(user="alice", passwd="pw1", db=DB, table="t", prev_commit_seq=-1))
            assert status_code_name(res.status) == "NOT_AUTHORIZED", res.status
        finally:
            c.close()
        # Her own password she may change.
        with alice.cursor() as cur:
            cur.execute("SET PASSWORD = PASSWORD('pw2')")
    finally:
        alice.close()
    with pytest.raises(pymysql.err.OperationalError) as e:
        login(cluster, "alice", "pw1")
    assert e.value.args[0] == 1045

    with root.cursor() as cur:
        cur.execute(f"GRANT LOAD_PRIV ON {DB}.t TO 'alice'@'%'")
    assert stream_load("alice:pw2")["Status"] == "Success"
    alice = login(cluster, "alice", "pw2")
    try:
        with alice.cursor() as cur:
            assert cur.execute("INSERT INTO t (k, v) VALUES (10, 'y')") == 1
            cur.execute("SELECT k FROM t WHERE k >= 9 ORDER BY k")
            assert cur.fetchall() == ((9,), (10,))
    finally:
        alice.close()
    with root.cursor() as cur:
        cur.execute("REVOKE LOAD_PRIV ON internal.clients_db.t FROM 'alice'@'%'")
        cur.execute("DROP USER 'alice'@'%'")
        cur.execute("SHOW ALL GRANTS")
        assert [r[0] for r in cur.fetchall()] == ["'admin'@'%'", f"'{APP}'@'%'", "'root'@'%'"]
    root.close()
    with pytest.raises(pymysql.err.OperationalError):
        login(cluster, "alice", "pw2")


def test_user_identities_by_host(cluster):
    # A user is `'name'@'host'`: the same name under several hosts is several identities,
    # and a login is checked as the first whose host pattern matches the client (upstream
    # orders a name's hosts so the specific ones come before `%`). Tests connect from
    # 127.0.0.1.
    import signal

    def whoami(conn):
        with conn.cursor() as cur:
            cur.execute("SELECT USER(), CURRENT_USER()")
            return cur.fetchall()[0]

    def refused(user, password):
        with pytest.raises(pymysql.err.OperationalError) as e:
            login(cluster, user, password)
        return e.value.args[0], e.value.args[1]

    root = cluster.connect()
    with root.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {DB}.t")
        total = cur.fetchall()
        cur.execute("CREATE USER 'loc'@'127.0.0.1' IDENTIFIED BY 'p1'")
        cur.execute(f"GRANT SELECT_PRIV ON {DB}.* TO 'loc'@'127.0.0.1'")
        cur.execute("CREATE USER 'far'@'10.%' IDENTIFIED BY 'p2'")
        cur.execute("CREATE USER 'two'@'%' IDENTIFIED BY 'wide'")
        cur.execute("CREATE USER 'two'@'127.0.0.1' IDENTIFIED BY 'near'")
        cur.execute(f"GRANT SELECT_PRIV ON {DB}.t TO 'two'@'127.0.0.1'")
    assert mysql_error(root, "CREATE USER 'two'@'127.0.0.1'") == (1105, "Operation CREATE USER failed for 'two'@'127.0.0.1'")
    with root.cursor() as cur:
        cur.execute("SHOW GRANTS FOR 'two'@'127.0.0.1'")
        assert [(r[0], r[7]) for r in cur.fetchall()] == [("'two'@'127.0.0.1'", f"internal.{DB}.t: Select_priv")]
        cur.execute("SHOW GRANTS FOR 'two'@'%'")
        assert [(r[0], r[7]) for r in cur.fetchall()] == [("'two'@'%'", None)]

    def check_logins():
        loc = login(cluster, "loc", "p1")
        try:
            assert whoami(loc) == ("'loc'@'127.0.0.1'", "'loc'@'127.0.0.1'")
            with loc.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM t")
                assert cur.fetchall() == total
        finally:
            loc.close()
        # Only for 10.x: no identity of that name matches 127.0.0.1; upstream's text.
        assert refused("far", "p2") == (1045, "Access denied for user 'far@127.0.0.1' (using password: YES)")
        # 'two'@'127.0.0.1' decides for a login from here: its password, its grants; the
        # wider identity's password does not fall through.
        two = login(cluster, "two", "near")
        try:
            assert whoami(two) == ("'two'@'127.0.0.1'", "'two'@'127.0.0.1'")
            with two.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM t")
                assert cur.fetchall() == total
        finally:
            two.close()
        assert refused("two", "wide") == (1045, "Access denied for user 'two@127.0.0.1' (using password: YES)")

    check_logins()
    root.close()
    # The identities are durable: after an FE restart they log in and are refused the same.
    cluster.send(signal.SIGTERM)
    assert cluster.wait_exit() == 0
    cluster.out, cluster.err = [], []
    cluster.start()
    check_logins()

    root = cluster.connect()
    with root.cursor() as cur:
        cur.execute("DROP USER 'two'@'127.0.0.1'")
    # Now the identity for any host is the one that matches, without the dropped one's grants.
    two = login(cluster, "two", "wide", db=None)
    try:
        assert whoami(two) == ("'two'@'127.0.0.1'", "'two'@'%'")
        assert mysql_error(two, f"SELECT COUNT(*) FROM {DB}.t") == (
            1227, "Access denied; you need (at least one of) the Select_priv privilege(s) for this operation")
    finally:
        two.close()
    with root.cursor() as cur:
        for u in ["'loc'@'127.0.0.1'", "'far'@'10.%'", "'two'@'%'"]:
            cur.execute(f"DROP USER {u}")
        cur.execute("SHOW ALL GRANTS")
        assert [r[0] for r in cur.fetchall()] == ["'admin'@'%'", f"'{APP}'@'%'", "'root'@'%'"]
    root.close()


def test_stream_load_client_from_pypi(cluster):
    # pydoris' DorisClient, written for real Doris: PUT with Expect: 100-continue and Basic
    # auth as the created user, following the FE's redirect; CSV, then JSON by line, then
    # the typed table's CSV and JSON array; the rows read back, backed up and restored with
    # pymysql as the same user.
    from pydoris.doris_client import DorisClient

    conn = login(cluster, APP, APP_PW)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {DB}.events (id INT NOT NULL, kind VARCHAR(16), payload JSON) DUPLICATE KEY(id) "
                        "DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES ('replication_num' = '1')")
            cur.execute(TYPED_DDL.format(t="pydoris_t"))
        client = DorisClient("127.0.0.1", str(http_port(cluster)), APP, APP_PW)
        client.options.set_csv_format("|").set_auto_uuid_label()
        assert client.write(DB, "events", "1|click|{\"x\": 1}\n2|view|\\N\n")
        client.options.set_auto_uuid_label()  # a label names one load
        assert client.write(DB, "pydoris_t", TYPED_CSV)
        client.options.set_json_format().set_auto_uuid_label()
        assert client.write(DB, "events", '{"id": 3, "kind": "buy", "payload": {"sku": "a-1"}}\n{"id": 4}\n')
        client.options.set_option("strip_outer_array", "true").set_option("read_json_by_line", "false")
        client.options.set_auto_uuid_label()
        assert client.write(DB, "events", '[{"id": 5, "kind": "view"}, {"id": 6, "kind": "click"}]')
        client.options.set_auto_uuid_label()
        assert client.write(DB, "pydoris_t", TYPED_JSON)
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, kind, payload FROM {DB}.events ORDER BY id")
            assert cur.fetchall() == ((1, "click", '{"x": 1}'), (2, "view", None), (3, "buy", '{"sku":"a-1"}'),
                                      (4, None, None), (5, "view", None), (6, "click", None))
        run = dbapi_runner(conn)
        assert run(GROUPED.format(t="pydoris_t"))[1] == GROUPED_ROWS
        assert run(TYPED_SCAN.format(t="pydoris_t"))[1] == TYPED_ROWS
        restored = backup_and_restore(run, "pydoris_t")
        assert run(TYPED_SCAN.format(t=restored))[1] == TYPED_ROWS
    finally:
        conn.close()


def test_sqlalchemy_with_pydoris_dialect(cluster):
    # SQLAlchemy's ORM through pydoris' Doris dialect (PyPI, over MySQLdb), as the created
    # user: create_all, a multi-row INSERT, a filtered and grouped query, get by key, and
    # reflection; then the typed table's session through the engine's connection.
    import pydoris.sqlalchemy  # noqa: F401 (registers the dialect)
    from sqlalchemy import Column, Integer, Numeric, String, create_engine, func, inspect, select
    from sqlalchemy.orm import Session, declarative_base

    engine = create_engine(f"doris://{APP}:{APP_PW}@127.0.0.1:{cluster.query_port}/{DB}")
    Base = declarative_base()

    class Order(Base):
        __tablename__ = "sa_orders"
        id = Column(Integer, primary_key=True, autoincrement=False)
        customer = Column(String(32))
        amount = Column(Numeric(10, 2))
        __table_args__ = {"pydoris_key_type": "DUPLICATE", "pydoris_distributed_by": "HASH(id)",
                          "pydoris_buckets": 2, "pydoris_properties": {"replication_num": "1"}}

    # The typed table as the ORM sees the columns it uses (the DDL creates it).
    class Typed(declarative_base()):
        __tablename__ = "sa_typed"
        id = Column(Integer, primary_key=True)
        city = Column(String)
        amt = Column(Numeric(10, 2))

    try:
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add_all([Order(id=1, customer="ann", amount=1.5), Order(id=2, customer="bob", amount=2.25),
                       Order(id=3, customer="ann", amount=4)])
            s.commit()
        with Session(engine) as s:
            rows = s.execute(select(Order.customer, func.count(Order.id).label("n"), func.sum(Order.amount).label("total"))
                             .where(Order.amount > 1).group_by(Order.customer).order_by(Order.customer)).all()
            assert [(r.customer, r.n, str(r.total)) for r in rows] == [("ann", 2, "5.50"), ("bob", 1, "2.25")]
            assert s.get(Order, 2).customer == "bob"
        insp = inspect(engine)
        assert "sa_orders" in insp.get_table_names()
        cols = [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns("sa_orders")]
        assert cols == [("id", "INTEGER", False), ("customer", "VARCHAR(32)", True), ("amount", "DECIMAL(10, 2)", True)]
        assert insp.get_indexes("sa_orders") == []

        with engine.connect() as c:
            def run(sql):
                res = c.exec_driver_sql(sql)
                if not res.returns_rows:
                    return [], []
                return list(res.keys()), [[text(v) for v in r] for r in res.fetchall()]
            typed_session(cluster, run, "sa_typed")
        with Session(engine) as s:
            rows = s.execute(select(Typed.city, func.sum(Typed.amt).label("total")).where(Typed.amt > 2)
                             .group_by(Typed.city).order_by(Typed.city)).all()
            assert [(r.city, str(r.total)) for r in rows] == [(c, t) for c, _, t in GROUPED_ROWS]
    finally:
        engine.dispose()
