"""End-to-end: stream load over HTTP (curl, as upstream's docs show it) into a
`doris-rs local --bes 3` cluster, then COUNT(*) and SELECT over MySQL (pymysql).

Covers loads of 1, 10,000 and 1,000,000 rows, a duplicate label, a bad row above
max_filter_ratio (nothing becomes visible), wrong passwords, range partitions, and a
replica BE killed before a load (the load fails, the table stays at its version).
"""

import datetime
import json
import os
import random
import re
import signal
import subprocess
from decimal import Decimal

import pytest

from test_local_cluster import LocalCluster, clusters, pick_base  # noqa: F401 (fixture)

DB = "load_db"


class Cluster:
    def __init__(self, lc, banner):
        self.lc = lc
        self.fe_http = int(re.search(r"^  FE: .* http 127\.0\.0\.1:(\d+)", banner, re.M).group(1))
        self.be_http = [int(p) for p in re.findall(r"^  BE \d+: .* http 127\.0\.0\.1:(\d+)", banner, re.M)]
        assert len(self.be_http) == lc.bes, banner

    def sql(self, sql, args=None):
        conn = self.lc.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall(), cur.description
        finally:
            conn.close()

    def rows(self, sql):
        return list(self.sql(sql)[0])

    def count(self, table, partitions=None):
        part = f" PARTITION ({', '.join(partitions)})" if partitions else ""
        return self.rows(f"SELECT COUNT(*) FROM {DB}.{table}{part}")[0][0]

    def versions(self, table):
        rows, desc = self.sql(f"SHOW PARTITIONS FROM {DB}.{table}")
        names = [d[0] for d in desc]
        pn, vv = names.index("PartitionName"), names.index("VisibleVersion")
        return {r[pn]: int(r[vv]) for r in rows}

    def load(self, table, path, label, port=None, user="root:", headers=None):
        """curl --location-trusted -T; the parsed JSON answer and the HTTP code."""
        port = port or self.fe_http
        cmd = ["curl", "-sS", "--location-trusted", "-u", user, "-H", f"label:{label}", "-H", "column_separator:,"]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}:{v}"]
        cmd += ["-T", str(path), "-w", "\n%{http_code}", f"http://127.0.0.1:{port}/api/{DB}/{table}/_stream_load"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
        body, code = out.rsplit("\n", 1)
        return (json.loads(body) if body.strip() else None), int(code)


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    base = pick_base(3)
    lc = LocalCluster(doris_rs_bin, tmp_path_factory.mktemp("load_cluster"), base, 3)
    try:
        c = Cluster(lc, lc.start())
        c.sql(f"CREATE DATABASE {DB}")
        yield c
    finally:
        lc.cleanup()


def write_csv(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")
    return path


ALL_TYPES = """CREATE TABLE {db}.{name} (
  k INT NOT NULL, ti TINYINT, si SMALLINT, bi BIGINT, li LARGEINT, b BOOLEAN,
  fl FLOAT, db DOUBLE, amt DECIMAL(12, 2), wide DECIMAL(27, 5), d DATE, dt DATETIME,
  ch CHAR(4), v VARCHAR(16), s STRING
) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS {buckets} PROPERTIES ("replication_num" = "3")"""


def test_one_row_every_type(cluster, tmp_path):
    cluster.sql(ALL_TYPES.format(db=DB, name="one", buckets=3))
    assert cluster.versions("one") == {"one": 1}
    path = write_csv(
        tmp_path / "one.csv",
        ["7,-128,32767,-9000000000,170141183460469231731687303715884105727,true,1.5,-2.25,"
         "1234567890.12,-1234567890123456789012.12345,2024-02-29,2024-02-29 23:59:58,abcd,héllo,any text"],
    )
    res, code = cluster.load("one", path, "one_1")
    assert code == 200
    assert list(res)[:13] == [
        "TxnId", "Label", "Comment", "TwoPhaseCommit", "Status", "Message", "NumberTotalRows",
        "NumberLoadedRows", "NumberFilteredRows", "NumberUnselectedRows", "LoadBytes", "LoadTimeMs",
        "BeginTxnTimeMs",
    ], res
    assert (res["Status"], res["Message"], res["Label"]) == ("Success", "OK", "one_1"), res
    assert (res["NumberTotalRows"], res["NumberLoadedRows"], res["NumberFilteredRows"]) == (1, 1, 0)
    assert res["LoadBytes"] == os.path.getsize(path)
    assert res["TxnId"] > 0
    assert cluster.versions("one") == {"one": 2}
    assert cluster.count("one") == 1
    rows, desc = cluster.sql(f"SELECT * FROM {DB}.one")
    assert rows == ((
        7, -128, 32767, -9000000000, "170141183460469231731687303715884105727", 1, 1.5, -2.25,
        Decimal("1234567890.12"), Decimal("-1234567890123456789012.12345"), datetime.date(2024, 2, 29),
        datetime.datetime(2024, 2, 29, 23, 59, 58), "abcd", "héllo", "any text",
    ),)
    # MySQL types: INT LONG(3), TINYINT TINY(1), SMALLINT SHORT(2), BIGINT LONGLONG(8),
    # BOOLEAN TINY(1), FLOAT(4), DOUBLE(5), DECIMAL NEWDECIMAL(246), DATE(10), DATETIME(12),
    # strings VAR_STRING(253).
    types = {d[0]: d[1] for d in desc}
    assert types == {"k": 3, "ti": 1, "si": 2, "bi": 8, "li": 253, "b": 1, "fl": 4, "db": 5, "amt": 246,
                     "wide": 246, "d": 10, "dt": 12, "ch": 253, "v": 253, "s": 253}, types


def make_rows(n, seed):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        amt = Decimal(rnd.randrange(-10**9, 10**9)) / 100
        d = datetime.date(2020, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 2000))
        v = None if i % 97 == 0 else f"name-{rnd.randrange(10**6)}"
        out.append((i, v, amt, d))
    return out


NULL = "\\N"


def csv_line(r):
    k, v, amt, d = r
    return f"{k},{NULL if v is None else v},{amt},{d.isoformat()}"


SIMPLE = """CREATE TABLE {db}.{name} (k INT NOT NULL, v VARCHAR(32), amt DECIMAL(12, 2), d DATE)
DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS {buckets} PROPERTIES ("replication_num" = "3")"""


def test_ten_thousand_rows_on_a_be_port_scan_back_in_order(cluster, tmp_path):
    cluster.sql(SIMPLE.format(db=DB, name="tenk", buckets=6))
    data = make_rows(10_000, 1)
    shuffled = data[:]
    random.Random(2).shuffle(shuffled)
    path = write_csv(tmp_path / "tenk.csv", (csv_line(r) for r in shuffled))
    # Straight to a BE's webserver, as upstream allows.
    res, code = cluster.load("tenk", path, "tenk_1", port=cluster.be_http[1])
    assert (code, res["Status"], res["NumberLoadedRows"], res["NumberFilteredRows"]) == (200, "Success", 10_000, 0), res
    assert cluster.count("tenk") == 10_000
    assert cluster.rows(f"SELECT * FROM {DB}.tenk ORDER BY k") == data
    assert cluster.rows(f"SELECT k, amt FROM {DB}.tenk ORDER BY amt DESC, k LIMIT 3") == [
        (r[0], r[2]) for r in sorted(data, key=lambda r: (-r[2], r[0]))[:3]
    ]
    # A second load is a new version; both are visible.
    res, _ = cluster.load("tenk", write_csv(tmp_path / "more.csv", ["10000,x,1.00,2024-01-01"]), "tenk_2")
    assert res["Status"] == "Success", res
    assert cluster.count("tenk") == 10_001
    assert cluster.versions("tenk") == {"tenk": 3}


def test_duplicate_label_is_refused(cluster, tmp_path):
    cluster.sql(SIMPLE.format(db=DB, name="dup", buckets=2))
    path = write_csv(tmp_path / "dup.csv", [csv_line(r) for r in make_rows(5, 3)])
    res, _ = cluster.load("dup", path, "same_label")
    assert res["Status"] == "Success", res
    res, code = cluster.load("dup", path, "same_label")
    assert code == 200
    assert res["Status"] == "Label Already Exists", res
    assert res["ExistingJobStatus"] == "FINISHED", res
    assert "same_label" in res["Message"] and "has already been used" in res["Message"], res
    assert cluster.count("dup") == 5
    assert cluster.versions("dup") == {"dup": 2}


def test_bad_row_above_max_filter_ratio_changes_nothing(cluster, tmp_path):
    cluster.sql(SIMPLE.format(db=DB, name="ratio", buckets=3))
    good = make_rows(99, 4)
    res, _ = cluster.load("ratio", write_csv(tmp_path / "first.csv", [csv_line(r) for r in good[:10]]), "ratio_0")
    assert res["Status"] == "Success", res
    lines = [csv_line(r) for r in good] + ["not-a-number,x,1.00,2024-01-01"]
    path = write_csv(tmp_path / "bad.csv", lines)
    res, code = cluster.load("ratio", path, "ratio_1")
    assert code == 200
    assert res["Status"] == "Fail", res
    assert "too many filtered rows" in res["Message"], res
    assert (res["NumberTotalRows"], res["NumberFilteredRows"]) == (100, 1), res
    assert cluster.count("ratio") == 10
    assert cluster.versions("ratio") == {"ratio": 2}
    assert cluster.rows(f"SELECT k FROM {DB}.ratio ORDER BY k") == [(r[0],) for r in good[:10]]
    # The failed load's label is free again; with a ratio that allows the bad row it loads.
    res, _ = cluster.load("ratio", path, "ratio_1", headers={"max_filter_ratio": "0.02"})
    assert (res["Status"], res["NumberLoadedRows"], res["NumberFilteredRows"]) == ("Success", 99, 1), res
    assert cluster.count("ratio") == 10 + 99
    assert cluster.versions("ratio") == {"ratio": 3}


def test_wrong_password_is_refused(cluster, tmp_path):
    cluster.sql(SIMPLE.format(db=DB, name="auth", buckets=1))
    path = write_csv(tmp_path / "a.csv", ["1,a,1.00,2024-01-01"])
    res, code = cluster.load("auth", path, "auth_1", user="root:wrong")
    assert code == 401, res
    res, code = cluster.load("auth", path, "auth_2", port=cluster.be_http[0], user="root:wrong")
    assert res["Status"] == "Fail" and "Access denied" in res["Message"], res
    assert cluster.count("auth") == 0


def test_rows_go_to_their_range_partition(cluster, tmp_path):
    cluster.sql(f"""CREATE TABLE {DB}.parts (d DATE NOT NULL, k INT NOT NULL, v VARCHAR(8))
        DUPLICATE KEY(d, k) PARTITION BY RANGE(d) (
          PARTITION p2023 VALUES LESS THAN ("2024-01-01"),
          PARTITION p2024 VALUES LESS THAN ("2025-01-01"),
          PARTITION p2025 VALUES LESS THAN ("2026-01-01"))
        DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "3")""")
    lines = [f"2023-0{1 + i % 9}-01,{i},a{i}" for i in range(30)] + [f"2024-12-31,{100 + i},b" for i in range(12)]
    lines.append("2030-01-01,999,nowhere")  # no partition: filtered
    res, _ = cluster.load("parts", write_csv(tmp_path / "p.csv", lines), "parts_1", headers={"max_filter_ratio": "0.1"})
    assert (res["Status"], res["NumberLoadedRows"], res["NumberFilteredRows"]) == ("Success", 42, 1), res
    assert cluster.count("parts") == 42
    assert cluster.count("parts", ["p2023"]) == 30
    assert cluster.count("parts", ["p2024", "p2025"]) == 12
    assert cluster.versions("parts") == {"p2023": 2, "p2024": 2, "p2025": 1}
    assert cluster.rows(f"SELECT k, v FROM {DB}.parts PARTITION (p2024) ORDER BY k DESC LIMIT 2") == [(111, "b"), (110, "b")]


def test_columns_header_maps_file_columns(cluster, tmp_path):
    cluster.sql(SIMPLE.format(db=DB, name="cols", buckets=2))
    # The file has d, k, amt in that order; v is left out (nullable: NULL).
    path = write_csv(tmp_path / "c.csv", ["2024-05-01,2,3.5", "2024-05-02,1,-1"])
    res, _ = cluster.load("cols", path, "cols_1", headers={"columns": "d, k, amt"})
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res
    assert cluster.rows(f"SELECT * FROM {DB}.cols ORDER BY k") == [
        (1, None, Decimal("-1.00"), datetime.date(2024, 5, 2)),
        (2, None, Decimal("3.50"), datetime.date(2024, 5, 1)),
    ]
    res, _ = cluster.load("cols", path, "cols_2", headers={"columns": "d, nope, amt"})
    assert res["Status"] == "Fail" and "nope" in res["Message"], res
    assert cluster.count("cols") == 2


def test_a_million_rows(cluster, tmp_path):
    n = 1_000_000
    cluster.sql(SIMPLE.format(db=DB, name="big", buckets=8))
    data = make_rows(n, 5)
    path = write_csv(tmp_path / "big.csv", (csv_line(r) for r in data))
    res, code = cluster.load("big", path, "big_1")
    assert (code, res["Status"], res["NumberTotalRows"], res["NumberLoadedRows"]) == (200, "Success", n, n), res
    assert cluster.count("big") == n
    assert cluster.rows(f"SELECT * FROM {DB}.big ORDER BY k") == data


def test_a_be_killed_during_a_load_leaves_the_previous_version(doris_rs_bin, clusters, tmp_path, monkeypatch):
    base = pick_base(3)
    directory = tmp_path / "c"

    def start():
        lc = clusters(directory, base, 3)
        return lc, Cluster(lc, lc.start())

    lc, c = start()
    c.sql(f"CREATE DATABASE {DB}")
    c.sql(SIMPLE.format(db=DB, name="kill", buckets=4))
    first = make_rows(100, 6)
    res, _ = c.load("kill", write_csv(tmp_path / "1.csv", [csv_line(r) for r in first]), "kill_1")
    assert res["Status"] == "Success", res
    lc.send(signal.SIGTERM)
    assert lc.wait_exit() == 0

    # Every BE aborts (as kill -9) when it receives a segment of the next load, after the
    # file is on disk and before the rowset is registered.
    monkeypatch.setenv("DORIS_RS_FAILPOINT", "load_rowset.before_meta")
    lc, c = start()
    monkeypatch.delenv("DORIS_RS_FAILPOINT")
    path = write_csv(tmp_path / "2.csv", [csv_line(r) for r in make_rows(50, 7)])
    cmd = ["curl", "-sS", "--location-trusted", "-u", "root:", "-H", "label:kill_2", "-H", "column_separator:,",
           "-T", str(path), f"http://127.0.0.1:{c.fe_http}/api/{DB}/kill/_stream_load"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert '"Status": "Success"' not in out.stdout, out.stdout
    # `doris-rs local` stops the cluster once a child died.
    assert lc.wait_exit() != 0
    lc.wait_line("aborting")

    lc, c = start()
    assert c.versions("kill") == {"kill": 2}
    assert c.count("kill") == 100
    assert c.rows(f"SELECT * FROM {DB}.kill ORDER BY k") == first
    # The cluster goes on loading from there.
    res, _ = c.load("kill", write_csv(tmp_path / "3.csv", ["1000,z,2.50,2024-03-01"]), "kill_3")
    assert res["Status"] == "Success", res
    assert c.versions("kill") == {"kill": 3}
    assert c.count("kill") == 101
