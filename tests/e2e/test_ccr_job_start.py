"""End-to-end: the checks the CCR syncer runs against both clusters when a job is created
(selectdb/ccr-syncer `Meta.CheckBinlogFeature`), played against `doris-rs local`:

* `ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%"`: one row whose `Value`
  parses as true (older syncers scan the second of exactly six columns);
* for every BE of SHOW BACKENDS, `GET http://<Host>:<HttpPort>/api/show_config?conf_item=
  enable_feature_binlog`: a JSON array with exactly one `[name, type, value, mutable]` row,
  value "true" (or "1").

`doris-rs local` turns the switch on in both confs; with `--fe-conf` / `--be-conf
enable_feature_binlog=false` the same checks see it off, as the syncer would.

Then the binlog settings a job needs: a table sync checks that `SHOW CREATE TABLE db.t`
contains `"binlog.enable" = "true"`, a db sync that `SHOW CREATE DATABASE db` does; set by
CREATE ... PROPERTIES, `ALTER TABLE t SET (...)` and `ALTER DATABASE db SET PROPERTIES (...)`.
"""

import json
import signal
import urllib.request

import pymysql
import pytest

from test_local_cluster import assert_stopped, clusters, pick_base, rows  # noqa: F401 (fixture)

SYNCER_FE_QUERY = 'ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%"'


def fe_binlog_rows(conn):
    with conn.cursor() as cur:
        cur.execute(SYNCER_FE_QUERY)
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()


def be_binlog_rows(host, http_port):
    url = f"http://{host}:{http_port}/api/show_config?conf_item=enable_feature_binlog"
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def syncer_sees(conn):
    """(FE enabled, [per BE enabled]) as the syncer decides them."""
    names, got = fe_binlog_rows(conn)
    assert names == ["Key", "Value", "Type", "IsMutable", "MasterOnly", "Comment"], names
    assert len(got) == 1, got
    assert got[0][0] == "enable_feature_binlog"
    fe_on = got[0][1] == "true"
    assert got[0][1] in ("true", "false"), got
    bes = []
    for b in rows(conn, "SHOW BACKENDS"):
        configs = be_binlog_rows(b["Host"], b["HttpPort"])
        assert len(configs) == 1 and len(configs[0]) == 4, configs
        assert configs[0][:2] == ["enable_feature_binlog", "bool"], configs
        assert configs[0][3] == "false", "nothing is changeable at run time"
        bes.append(configs[0][2] in ("true", "1"))
    return fe_on, bes


def test_syncer_job_start_checks_pass_on_a_local_cluster(clusters, tmp_path):
    c = clusters(tmp_path / "on", pick_base(2), 2)
    c.start()
    with c.connect() as conn:
        assert syncer_sees(conn) == (True, [True, True])
        # The whole be.conf is listed without conf_item, in the same row shape.
        b = rows(conn, "SHOW BACKENDS")[0]
        with urllib.request.urlopen(f"http://{b['Host']}:{b['HttpPort']}/api/show_config", timeout=10) as resp:
            every = json.loads(resp.read())
        by_name = {r[0]: r for r in every}
        assert by_name["be_port"] == ["be_port", "int32_t", str(b["BePort"]), "false"]
        assert all(len(r) == 4 for r in every)
        # A key the BE does not have: no row (the syncer then reports the BE as refusing).
        with urllib.request.urlopen(
            f"http://{b['Host']}:{b['HttpPort']}/api/show_config?conf_item=no_such_key", timeout=10
        ) as resp:
            assert json.loads(resp.read()) == []
    c.send(signal.SIGTERM)
    assert_stopped(c)


def test_syncer_sees_binlogs_off_when_the_confs_turn_them_off(clusters, tmp_path):
    c = clusters(tmp_path / "off", pick_base(1), 1)
    c.start("--fe-conf", "enable_feature_binlog=false", "--be-conf", "enable_feature_binlog=false")
    with c.connect() as conn:
        assert syncer_sees(conn) == (False, [False])
    c.send(signal.SIGTERM)
    assert_stopped(c)


ENABLED = '"binlog.enable" = "true"'


def create_table_text(conn, table):
    return rows(conn, f"SHOW CREATE TABLE {table}")[0]["Create Table"]


def create_database_text(conn, db):
    return rows(conn, f"SHOW CREATE DATABASE {db}")[0]["Create Database"]


def test_binlog_settings_of_tables_and_databases(clusters, tmp_path):
    base = pick_base(1)
    c = clusters(tmp_path / "props", base, 1)
    c.start()
    with c.connect() as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE src")
            cur.execute('CREATE TABLE src.t1 (k INT, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 '
                        'PROPERTIES ("replication_num" = "1", "binlog.enable" = "true", "binlog.ttl_seconds" = "3600")')
            cur.execute('CREATE TABLE src.t2 (k INT, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 '
                        'PROPERTIES ("replication_num" = "1")')
        # Table sync of t1: set at CREATE, printed as upstream does (all four, last).
        text = create_table_text(conn, "src.t1")
        assert ENABLED in text, text
        assert text.rstrip().endswith('"binlog.enable" = "true",\n"binlog.ttl_seconds" = "3600",\n'
                                      '"binlog.max_bytes" = "9223372036854775807",\n'
                                      '"binlog.max_history_nums" = "9223372036854775807"\n);'), text
        # t2 has none until ALTER TABLE ... SET turns it on.
        assert "binlog." not in create_table_text(conn, "src.t2")
        with conn.cursor() as cur:
            cur.execute('ALTER TABLE src.t2 SET ("binlog.enable" = "true")')
        assert ENABLED in create_table_text(conn, "src.t2")
        # Db sync: the database's own settings.
        assert create_database_text(conn, "src") == "CREATE DATABASE `src`"
        with conn.cursor() as cur:
            cur.execute('ALTER DATABASE src SET PROPERTIES ("binlog.enable" = "true")')
        assert create_database_text(conn, "src") == 'CREATE DATABASE `src`\nPROPERTIES (\n"binlog.enable" = "true"\n)'
        # Bad input is refused with the key named, and changes nothing.
        for bad, needle in [
            ('ALTER TABLE src.t2 SET ("binlog.enable" = "maybe")', "binlog.enable"),
            ('ALTER TABLE src.t2 SET ("binlog.enable" = "false")', "cannot be disabled"),
            ('ALTER TABLE src.t2 SET ("replication_num" = "3")', "replication_num"),
            ('ALTER DATABASE src SET PROPERTIES ("binlog.ttl_seconds" = "soon")', "binlog.ttl_seconds"),
            ('ALTER TABLE src.nope SET ("binlog.enable" = "true")', "nope"),
        ]:
            with pytest.raises(pymysql.MySQLError) as e, conn.cursor() as cur:
                cur.execute(bad)
            assert needle in str(e.value), (bad, e.value)
        assert ENABLED in create_table_text(conn, "src.t2")
    # Settings survive a restart of the cluster (the FE's meta store).
    c.send(signal.SIGTERM)
    assert_stopped(c)
    c = clusters(tmp_path / "props", base, 1)
    c.start()
    with c.connect() as conn:
        assert ENABLED in create_table_text(conn, "src.t2")
        assert ENABLED in create_database_text(conn, "src")
    c.send(signal.SIGTERM)
    assert_stopped(c)
