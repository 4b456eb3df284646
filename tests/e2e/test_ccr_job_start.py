"""End-to-end: the checks the CCR syncer runs against both clusters when a job is created
(selectdb/ccr-syncer `Meta.CheckBinlogFeature`), played against `doris-rs local`:

* `ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%"`: one row whose `Value`
  parses as true (older syncers scan the second of exactly six columns);
* for every BE of SHOW BACKENDS, `GET http://<Host>:<HttpPort>/api/show_config?conf_item=
  enable_feature_binlog`: a JSON array with exactly one `[name, type, value, mutable]` row,
  value "true" (or "1").

`doris-rs local` turns the switch on in both confs; with `--fe-conf` / `--be-conf
enable_feature_binlog=false` the same checks see it off, as the syncer would.
"""

import json
import signal
import urllib.request

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
