"""End-to-end: upstream stream load options on a real one-FE, one-BE cluster (`doris-rs fe`
and `doris-rs be`, each an OS process started here: cluster_support.Cluster).

- CSV: `enclose`, `escape`, `trim_double_quotes`, `skip_lines`, the `csv_with_names` and
  `csv_with_names_and_types` formats; json's `fuzzy_parse`; bad header values answered with
  a message naming the header; a body over 1 MiB sent by curl with `Expect: 100-continue`.
- Error log: rows filtered by a load are written to a file behind `ErrorURL`, served by the
  BE's `/api/_load_error_log` (names confined to the error-log dir), old logs removed.
- Two-phase commit: `two_phase_commit: true`, then `_stream_load_2pc` commit or abort; a
  PRECOMMITTED transaction shown by SHOW TRANSACTION survives a kill -9 of the FE.

Every outcome is read back: rows through the FE's MySQL port, bytes over HTTP, codes.
"""

import json
import os
import subprocess
import time

import pytest
import requests

from cluster_support import Cluster as ProcCluster, poll
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
    ({"two_phase_commit": "sure"}, "invalid two_phase_commit 'sure'"),
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


# --- 3. Two-phase commit --------------------------------------------------------------------


def txn_2pc(cluster, op, txn_id=None, label=None, port=None, user=("root", ""), db=DB):
    h = {"txn_operation": op}
    if txn_id is not None:
        h["txn_id"] = str(txn_id)
    if label is not None:
        h["label"] = label
    url = f"http://{HOST}:{port or cluster.be_ports['http']}/api/{db}/_stream_load_2pc"
    r = requests.put(url, headers=h, auth=user, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def show_txn(cluster, txn_id):
    rows = cluster.rows(f"SHOW TRANSACTION FROM {DB} WHERE id = {txn_id}")
    assert len(rows) == 1, rows
    return rows[0]


def precommit_load(cluster, table, body, label, extra=None):
    res = cluster.load(table, body, label, {"column_separator": ",", "two_phase_commit": "true", **(extra or {})})
    assert (res["Status"], res["TwoPhaseCommit"], res["NumberLoadedRows"]) == ("Success", "true", body.count("\n")), res
    return res["TxnId"]


def test_two_phase_commit_then_commit(cluster):
    cluster.table("tpc")
    txn = precommit_load(cluster, "tpc", "1,a\n2,b\n", "tpc_1")
    assert cluster.kv("tpc") == []  # pre-committed: nothing visible yet
    t = show_txn(cluster, txn)
    assert (t["TransactionStatus"], t["Label"]) == ("PRECOMMITTED", "tpc_1"), t
    assert t["PreCommitTime"] not in (None, "", "NULL") and not t["PreCommitTime"].startswith("1970"), t
    # The label stays taken.
    res = cluster.load("tpc", "9,z\n", "tpc_1", {"column_separator": ","})
    assert res["Status"] == "Label Already Exists", res

    assert txn_2pc(cluster, "commit", txn_id=txn) == {
        "status": "Success", "msg": f"transaction [{txn}] commit successfully."}
    assert cluster.kv("tpc") == [(1, "a"), (2, "b")]
    assert show_txn(cluster, txn)["TransactionStatus"] == "VISIBLE"
    # An aborted-after-commit is refused with the FE's reason.
    res = txn_2pc(cluster, "abort", txn_id=txn)
    assert res["status"] == "ANALYSIS_ERROR" and "VISIBLE, could not abort" in res["msg"], res
    assert cluster.kv("tpc") == [(1, "a"), (2, "b")]


def test_two_phase_commit_then_abort_by_label_through_the_fe(cluster):
    cluster.table("tpa")
    txn = precommit_load(cluster, "tpa", "1,a\n", "tpa_1")
    # The FE's http port sends the 2PC call on to a BE, as upstream's FE does (curl follows).
    out = subprocess.run(
        ["curl", "-sS", "--location-trusted", "-u", "root:", "-X", "PUT", "-H", "label:tpa_1",
         "-H", "txn_operation:abort", f"http://{HOST}:{cluster.fe_ports['http']}/api/{DB}/_stream_load_2pc"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    assert json.loads(out) == {"status": "Success", "msg": "transaction [tpa_1] abort successfully."}, out
    t = show_txn(cluster, txn)
    assert (t["TransactionStatus"], t["Reason"]) == ("ABORTED", "User Abort"), t
    assert cluster.kv("tpa") == []
    # Committing it now is refused; its label is free again.
    res = txn_2pc(cluster, "commit", txn_id=txn)
    assert res["status"] == "ANALYSIS_ERROR" and "aborted" in res["msg"], res
    res = cluster.load("tpa", "2,b\n", "tpa_1", {"column_separator": ","})
    assert res["Status"] == "Success", res
    assert cluster.kv("tpa") == [(2, "b")]


def test_two_phase_commit_refusals_are_clear(cluster):
    cluster.table("tpr")
    txn = precommit_load(cluster, "tpr", "1,a\n", "tpr_1")
    assert txn_2pc(cluster, "finish", txn_id=txn) == {
        "status": "INTERNAL_ERROR", "msg": "transaction operation should be 'commit' or 'abort'"}
    r = requests.put(cluster.be_url(f"/api/{DB}/_stream_load_2pc"), auth=("root", ""), timeout=30,
                     headers={"txn_id": "abc", "txn_operation": "commit"})
    assert r.json() == {"status": "INTERNAL_ERROR", "msg": "convert txn_id [abc] failed"}, r.text
    res = txn_2pc(cluster, "commit", txn_id=987654321)
    assert res == {"status": "ANALYSIS_ERROR", "msg": "transaction [987654321] not found"}, res
    res = txn_2pc(cluster, "commit", label="no_such_label")
    assert res == {"status": "ANALYSIS_ERROR", "msg": "transaction not found, label=no_such_label"}, res
    res = txn_2pc(cluster, "commit", txn_id=txn, user=("root", "wrong"))
    assert res["status"] == "ANALYSIS_ERROR" and "Access denied" in res["msg"], res
    res = txn_2pc(cluster, "commit", txn_id=txn, db="no_such_db")
    assert res == {"status": "ANALYSIS_ERROR", "msg": "unknown database, database=no_such_db"}, res
    # A user without LOAD_PRIV on the table may not commit it.
    cluster.run("CREATE USER 'reader'@'%' IDENTIFIED BY 'pw'")
    cluster.run(f"GRANT SELECT_PRIV ON {DB}.* TO 'reader'@'%'")
    res = txn_2pc(cluster, "commit", txn_id=txn, user=("reader", "pw"))
    assert res["status"] == "ANALYSIS_ERROR" and "LOAD" in res["msg"].upper(), res
    assert show_txn(cluster, txn)["TransactionStatus"] == "PRECOMMITTED"
    assert cluster.kv("tpr") == []
    # Its owner still can.
    assert txn_2pc(cluster, "commit", txn_id=txn)["status"] == "Success"
    assert cluster.kv("tpr") == [(1, "a")]


def test_precommitted_transaction_survives_a_kill_9_of_the_fe(cluster):
    cluster.table("tpk")
    keep = precommit_load(cluster, "tpk", "1,a\n2,b\n", "tpk_keep")
    drop = precommit_load(cluster, "tpk", "3,c\n", "tpk_drop")
    cluster.crash_fe()
    cluster.start_fe()
    assert show_txn(cluster, keep)["TransactionStatus"] == "PRECOMMITTED"
    assert show_txn(cluster, drop)["TransactionStatus"] == "PRECOMMITTED"
    assert cluster.kv("tpk") == []
    assert txn_2pc(cluster, "commit", txn_id=keep)["status"] == "Success"
    assert txn_2pc(cluster, "abort", txn_id=drop)["status"] == "Success"
    assert cluster.kv("tpk") == [(1, "a"), (2, "b")]
    assert show_txn(cluster, keep)["TransactionStatus"] == "VISIBLE"
    assert show_txn(cluster, drop)["TransactionStatus"] == "ABORTED"


def test_precommitted_transaction_times_out(cluster):
    cluster.table("tpt")
    txn = precommit_load(cluster, "tpt", "1,a\n", "tpt_1", {"timeout": "4"})
    time.sleep(5)
    res = txn_2pc(cluster, "commit", txn_id=txn)
    assert res["status"] == "ANALYSIS_ERROR" and "timeout by txn manager" in res["msg"], res
    t = show_txn(cluster, txn)
    assert (t["TransactionStatus"], t["Reason"]) == ("ABORTED", "timeout by txn manager"), t
    assert cluster.kv("tpt") == []


# --- 4. Column expressions and where ---------------------------------------------------------

EXPR_DDL = """CREATE TABLE {db}.{name} (k INT NOT NULL, v BIGINT, s VARCHAR(16), amt DECIMAL(10, 2))
DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"""


def test_columns_expressions_and_where(cluster):
    cluster.run(EXPR_DDL.format(db=DB, name="expr"))
    body = "1,3,a\n2,5,b\n3,x,c\n4,7,d\nbad,1,e\n"
    res = cluster.load("expr", body, "expr_1", {
        "column_separator": ",",
        "columns": "k, tmp, name, v = tmp * 2, s = concat(upper(name), '-', k), amt = tmp / 4",
        "where": "k > 1",
        "max_filter_ratio": "0.5",
    })
    # k=1 is not selected; 'bad' is no INT (filtered); tmp 'x' reads as no number: v NULL.
    assert (res["Status"], res["NumberTotalRows"], res["NumberLoadedRows"],
            res["NumberFilteredRows"], res["NumberUnselectedRows"]) == ("Success", 5, 3, 1, 1), res
    rows = [tuple(r) for r in cluster.values(f"SELECT k, v, s, amt FROM {DB}.expr ORDER BY k")]
    from decimal import Decimal
    assert rows == [(2, 10, "B-2", Decimal("1.25")), (3, None, "C-3", None), (4, 14, "D-4", Decimal("1.75"))], rows
    lines = requests.get(res["ErrorURL"], timeout=30).text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Reason: column k: ") and "src line [bad,1,e]" in lines[0], lines


def test_where_alone_and_json_with_expressions(cluster):
    cluster.run(EXPR_DDL.format(db=DB, name="expr_json"))
    res = cluster.load("expr_json", "1,10\n2,20\n3,30\n", "where_1",
                       {"column_separator": ",", "columns": "k, v", "where": "v >= 20 AND k <> 3"})
    assert (res["Status"], res["NumberLoadedRows"], res["NumberUnselectedRows"]) == ("Success", 1, 2), res
    body = json.dumps([{"id": 7, "n": "x"}, {"id": 8, "n": "y"}])
    res = cluster.load("expr_json", body, "expr_json_1", {
        "format": "json", "strip_outer_array": "true",
        "columns": "id, n, k = id + 100, s = concat(n, n)",
    })
    assert (res["Status"], res["NumberLoadedRows"]) == ("Success", 2), res
    rows = [tuple(r) for r in cluster.values(f"SELECT k, v, s FROM {DB}.expr_json ORDER BY k")]
    assert rows == [(2, 20, None), (107, None, "xx"), (108, None, "yy")], rows


def test_bad_expressions_fail_with_their_text(cluster):
    cluster.run(EXPR_DDL.format(db=DB, name="expr_bad"))
    res = cluster.load("expr_bad", "1,2\n", "expr_bad_1",
                       {"column_separator": ",", "columns": "k, tmp, v = nosuch + 1"})
    assert res["Status"] == "Fail" and "columns expression for v `nosuch + 1`" in res["Message"], res
    res = cluster.load("expr_bad", "1,2\n", "expr_bad_2",
                       {"column_separator": ",", "columns": "k, v", "where": "k >>> 1"})
    assert res["Status"] == "Fail" and "where `k >>> 1`" in res["Message"], res
    res = cluster.load("expr_bad", "1,2\n", "expr_bad_3",
                       {"column_separator": ",", "columns": "k, tmp, nope = tmp"})
    assert res["Status"] == "Fail" and "Unknown column 'nope' in table" in res["Message"], res
    assert cluster.values(f"SELECT COUNT(*) FROM {DB}.expr_bad")[0][0] == 0
