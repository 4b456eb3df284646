"""End-to-end: upstream stream load options on a real one-FE, one-BE cluster (`doris-rs fe`
and `doris-rs be`, each an OS process started here, as in test_fe_kill_jobs).

- CSV: `enclose`, `escape`, `trim_double_quotes`, `skip_lines`, the `csv_with_names` and
  `csv_with_names_and_types` formats; json's `fuzzy_parse`; bad header values answered with
  a message naming the header; a body over 1 MiB sent by curl with `Expect: 100-continue`.
- Error log: rows filtered by a load are written to a file behind `ErrorURL`, served by the
  BE's `/api/_load_error_log` (names confined to the error-log dir), old logs removed.

Every outcome is read back: rows through the FE's MySQL port, bytes over HTTP, codes.
"""

import json
import os
import subprocess
import time

import pytest
import requests

from test_fe_kill_jobs import Cluster as ProcCluster, poll
from test_local_cluster import HOST, pick_base

DB = "opts_db"
TABLE_DDL = """CREATE TABLE {db}.{name} (k INT NOT NULL, v VARCHAR(64)) DUPLICATE KEY(k)
DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""


class Cluster(ProcCluster):
    def __init__(self, binary, d, base, be_conf_extra=""):
        super().__init__(binary, d, base)
        self.be.conf.write_text(self.be.conf.read_text() + be_conf_extra)

    def be_url(self, path):
        return f"http://{HOST}:{self.be_ports['http']}{path}"

    def load(self, table, data, label=None, headers=None, port=None, db=DB):
        """PUT the body to the BE's stream load (python requests); the JSON answer."""
        h = {"label": label} if label else {}
        h.update(headers or {})
        url = f"http://{HOST}:{port or self.be_ports['http']}/api/{db}/{table}/_stream_load"
        r = requests.put(url, data=data, headers=h, auth=("root", ""), timeout=120)
        assert r.status_code == 200, r.text
        return r.json()

    def table(self, name):
        self.run(TABLE_DDL.format(db=DB, name=name))

    def kv(self, table):
        return [tuple(r) for r in self.values(f"SELECT k, v FROM {DB}.{table} ORDER BY k")]


@pytest.fixture(scope="module")
def cluster(doris_rs_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("opts")
    c = Cluster(doris_rs_bin, d, pick_base(1), "load_error_log_reserve_hours = 1\n")
    try:
        c.start_joined()
        c.run(f"CREATE DATABASE {DB}")
        yield c
    finally:
        c.cleanup()


@pytest.fixture(scope="module")
def bad_hdr(cluster):
    cluster.table("bad_hdr")


# --- 1. CSV options -------------------------------------------------------------------------


def test_enclose_and_escape_keep_separators_inside_fields(cluster):
    cluster.table("enc")
    body = "1,'a,b'\n2,'two\nlines'\n3,'it\\'s'\n4,plain\n"
    res = cluster.load("enc", body, "enc_1", {"column_separator": ",", "enclose": "'", "escape": "\\"})
    assert (res["Status"], res["NumberTotalRows"], res["NumberLoadedRows"]) == ("Success", 4, 4), res
    assert cluster.kv("enc") == [(1, "a,b"), (2, "two\nlines"), (3, "it's"), (4, "plain")]


def test_trim_double_quotes_and_skip_lines(cluster):
    cluster.table("trim")
    body = 'junk header\nmore junk\n1,"quoted"\n2,"x"y"\n3,bare\n'
    res = cluster.load("trim", body, "trim_1",
                       {"column_separator": ",", "trim_double_quotes": "true", "skip_lines": "2"})
    assert (res["Status"], res["NumberTotalRows"], res["NumberFilteredRows"]) == ("Success", 3, 0), res
    assert cluster.kv("trim") == [(1, "quoted"), (2, 'x"y'), (3, "bare")]
    # Without trim_double_quotes the quotes are data.
    res = cluster.load("trim", '4,"kept"\n', "trim_2", {"column_separator": ","})
    assert res["Status"] == "Success", res
    assert cluster.kv("trim")[-1] == (4, '"kept"')


def test_csv_with_names_and_types_skip_their_header_lines(cluster):
    cluster.table("names")
    res = cluster.load("names", "k,v\n1,a\n2,b\n", "names_1",
                       {"column_separator": ",", "format": "csv_with_names"})
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res
    res = cluster.load("names", "k,v\nint,varchar(64)\n3,c\n", "names_2",
                       {"column_separator": ",", "format": "CSV_WITH_NAMES_AND_TYPES"})
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 1), res
    assert cluster.kv("names") == [(1, "a"), (2, "b"), (3, "c")]


def test_json_fuzzy_parse_is_accepted(cluster):
    cluster.table("fuzzy")
    body = json.dumps([{"k": 1, "v": "x"}, {"k": 2, "v": "y"}])
    res = cluster.load("fuzzy", body, "fuzzy_1",
                       {"format": "json", "strip_outer_array": "true", "fuzzy_parse": "true"})
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res
    assert cluster.kv("fuzzy") == [(1, "x"), (2, "y")]


@pytest.mark.parametrize("headers,needle", [
    ({"enclose": "ab"}, "enclose must be single-char, actually is ab"),
    ({"escape": "é"}, "escape must be single-char"),
    ({"skip_lines": "-1"}, "invalid skip_lines '-1'"),
    ({"trim_double_quotes": "yes"}, "invalid trim_double_quotes 'yes': must be true or false"),
    ({"format": "parquet"}, "format parquet is not supported"),
    ({"max_filter_ratio": "2"}, "invalid max_filter_ratio '2'"),
    ({"format": "json", "fuzzy_parse": "maybe"}, "invalid fuzzy_parse 'maybe'"),
])
def test_bad_header_values_are_named_in_the_answer(cluster, bad_hdr, headers, needle):
    h = {k: v.encode() for k, v in headers.items()}  # raw bytes: requests would refuse é
    res = cluster.load("bad_hdr", "1,a\n", None, {"column_separator": ",", **h})
    assert res["Status"] == "Fail", res
    assert needle in res["Message"], res
    assert res["TxnId"] == 0, res  # refused before a transaction was begun
    assert cluster.kv("bad_hdr") == []


def test_expect_100_continue_with_curl_over_one_mib(cluster, tmp_path):
    """curl sends `Expect: 100-continue` for a body over 1 MiB and waits for the interim
    answer; through the FE's redirect and straight to the BE."""
    cluster.table("big")
    lines = [f"{i},{'x' * 40}" for i in range(40_000)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    assert os.path.getsize(path) > 1 << 20
    for n, port in enumerate([cluster.fe_ports["http"], cluster.be_ports["http"]]):
        out = subprocess.run(
            ["curl", "-sS", "-v", "--location-trusted", "-u", "root:", "-H", f"label:big_{n}",
             "-H", "column_separator:,", "-T", str(path), "--expect100-timeout", "30",
             f"http://{HOST}:{port}/api/{DB}/big/_stream_load"],
            capture_output=True, text=True, timeout=120, check=True,
        )
        assert "Expect: 100-continue" in out.stderr, out.stderr
        assert "HTTP/1.1 100 Continue" in out.stderr, out.stderr
        res = json.loads(out.stdout)
        assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 40_000), res
    assert cluster.values(f"SELECT COUNT(*), COUNT(DISTINCT k) FROM {DB}.big")[0] == (80_000, 40_000)


# --- 2. Error log ---------------------------------------------------------------------------


def error_log_dir(cluster):
    return cluster.d / "storage" / "error_log"


def test_filtered_rows_are_behind_the_error_url(cluster):
    cluster.table("errs")
    # An old log, past load_error_log_reserve_hours (1 here): the next log written sweeps it.
    d = error_log_dir(cluster)
    d.mkdir(exist_ok=True)
    old = d / "error_log_old_one"
    old.write_text("old\n")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))

    body = "1,a\nx,b\n3\n4,d\n"
    res = cluster.load("errs", body, "errs_1", {"column_separator": ",", "max_filter_ratio": "0.6"})
    assert (res["Status"], res["NumberLoadedRows"], res["NumberFilteredRows"]) == ("Success", 2, 2), res
    assert list(res)[-1] == "ErrorURL", res  # upstream's place: the last key
    url = res["ErrorURL"]
    prefix = f"http://127.0.0.1:{cluster.be_ports['http']}/api/_load_error_log?file="
    assert url.startswith(prefix), url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    lines = r.text.splitlines()
    assert len(lines) == 2, r.text
    assert lines[0].startswith("Reason: column k: ") and lines[0].endswith(". src line [x,b]; "), lines
    assert lines[1] == ("Reason: actual column number 1 is not equal to schema column number 2. "
                        "src line [3]; "), lines
    name = url[len(prefix):]
    assert (d / name).read_text() == r.text
    assert not old.exists(), "the log past its reserve hours was not deleted"
    assert cluster.kv("errs") == [(1, "a"), (4, "d")]

    # A load failing on too many filtered rows names its log too; nothing of it is visible.
    res = cluster.load("errs", "5,e\ny,f\n", "errs_2", {"column_separator": ","})
    assert res["Status"] == "Fail" and "too many filtered rows" in res["Message"], res
    r = requests.get(res["ErrorURL"], timeout=30)
    assert r.status_code == 200 and "src line [y,f]" in r.text, r.text
    assert cluster.kv("errs") == [(1, "a"), (4, "d")]

    # A clean load has no ErrorURL.
    res = cluster.load("errs", "6,g\n", "errs_3", {"column_separator": ","})
    assert res["Status"] == "Success" and "ErrorURL" not in res, res


def test_more_than_fifty_filtered_rows_are_cut_like_upstream(cluster):
    cluster.table("many_errs")
    body = "".join(f"bad{i},v\n" for i in range(70))
    res = cluster.load("many_errs", body, "many_1", {"column_separator": ",", "max_filter_ratio": "1"})
    assert (res["Status"], res["NumberFilteredRows"]) == ("Success", 70), res
    lines = requests.get(res["ErrorURL"], timeout=30).text.splitlines()
    assert len(lines) == 51, lines
    assert lines[-1] == "TOO MUCH ERROR! already reach 50. show no more next error.", lines


@pytest.mark.parametrize("name", ["../be.conf", "..", "a/b", "/etc/passwd", "%2Fetc%2Fpasswd", "x..y", ""])
def test_error_log_names_are_confined(cluster, name):
    r = requests.get(cluster.be_url(f"/api/_load_error_log?file={name}"), timeout=30)
    assert r.status_code == 400, (name, r.status_code, r.text)
    assert "error log" in r.text or "file parameter" in r.text, r.text


def test_unknown_error_log_is_404(cluster):
    r = requests.get(cluster.be_url("/api/_load_error_log?file=error_log_nope"), timeout=30)
    assert r.status_code == 404 and "not found" in r.text, r.text

