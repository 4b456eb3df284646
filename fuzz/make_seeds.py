#!/usr/bin/env python3
"""Write fuzz/seeds/<target>/ from what the tests send.

thrift: every served method's call with the fully populated arguments the thriftpy2
interop test sends (tests/interop/interop_values.py), buffered and framed, strict and not.
mysql: logins and commands as MySQL clients send them, carrying the statements of sql.
sql: the statement texts of the end-to-end tests and of the parser's unit tests.
http: the stream load headers of tests/e2e/test_stream_load_options.py; download and
binlog download requests as a pulling BE and a CCR target send them.
load: stream loads (headers and bodies) for the two tables of fuzz/src/load.rs.
conf: the conf files `doris-rs local` writes, and upstream-style ones.
meta/hdr: real documents, written by fuzz/capture_docs.sh from a local cluster's backup.
Run from anywhere: python3 fuzz/make_seeds.py (needs thriftpy2, as the interop tests do).
"""

import ast
import gzip
import pathlib
import re
import struct
import sys

FUZZ = pathlib.Path(__file__).resolve().parent
REPO = FUZZ.parent
SEEDS = FUZZ / "seeds"
sys.path.insert(0, str(REPO / "tests" / "interop"))


def write(target, name, data: bytes):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def thrift_seeds():
    import interop_values as iv

    services = [iv.load(n) for n in ("FrontendService", "HeartbeatService", "BackendService")]
    services = [getattr(m, n) for m, n in zip(services, ("FrontendService", "HeartbeatService", "BackendService"))]
    n = 0
    for svc in services:
        for method in svc.thrift_services:
            args_cls = getattr(svc, method + "_args")
            full = args_cls(*iv.method_args(svc, method))
            for variant, obj in (("full", full), ("empty", args_cls())):
                body = iv.encode(obj)
                name = method.encode()
                strict = struct.pack(">iI", -2147418111, len(name)) + name + struct.pack(">i", 7) + body
                plain = struct.pack(">I", len(name)) + name + b"\x01" + struct.pack(">i", 7) + body
                framed = struct.pack(">I", len(strict)) + strict
                # Mode byte: 0x00 detect framing, all at once; 0x04 detect, 8-byte reads;
                # 0x20 framed known (a client).
                write("thrift", f"{method}_{variant}_buffered", b"\x00" + strict)
                if variant == "full":
                    write("thrift", f"{method}_{variant}_framed", b"\x00" + framed)
                    write("thrift", f"{method}_{variant}_plain_chunked", b"\x04" + plain)
                n += 1
    # Two pipelined calls on one connection.
    first = sorted((SEEDS / "thrift").glob("*_empty_buffered"))[:2]
    write("thrift", "pipelined", b"\x00" + b"".join(p.read_bytes()[1:] for p in first))
    return n


def sql_statements():
    """String literals that look like statements, from the e2e tests and the parser tests."""
    starts = ("SELECT", "CREATE", "DROP", "ALTER", "BACKUP", "RESTORE", "SHOW", "INSERT", "DELETE", "SET",
              "USE", "CANCEL", "GRANT", "REVOKE", "TRUNCATE", "KILL", "DESC", "ADMIN", "RECOVER", "WITH",
              "BEGIN", "COMMIT", "ROLLBACK", "UPDATE", "EXPLAIN", "ANALYZE")
    out = []
    for py in sorted((REPO / "tests" / "e2e").glob("*.py")):
        try:
            tree = ast.parse(py.read_text())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                s = node.value.strip()
                if s.upper().startswith(starts) and len(s) < 4000:
                    out.append(s)
            if isinstance(node, ast.JoinedStr):  # f-strings: keep the literal parts joined
                s = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values).strip()
                if s.upper().startswith(starts) and len(s) < 4000:
                    out.append(s)
    for rs in sorted((REPO / "fe" / "src" / "sql").glob("*.rs")):
        for m in re.finditer(r'parse\(\s*"((?:[^"\\]|\\.)*)"', rs.read_text()):
            s = m.group(1).encode().decode("unicode_escape", errors="ignore")
            out.append(s)
    seen, uniq = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


def mysql_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def login(user=b"root", db=b"", plugin=b"mysql_native_password", auth=b""):
    # PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH | PLUGIN_AUTH_LENENC | CONNECT_WITH_DB | LONG_PASSWORD
    caps = 0x200 | 0x8000 | 0x80000 | 0x200000 | 0x1 | (0x8 if db else 0) | 0x1000000
    p = struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23 + user + b"\0" + bytes([len(auth)]) + auth
    if db:
        p += db + b"\0"
    p += plugin + b"\0"
    return mysql_packet(1, p)


def mysql_seeds(statements):
    quit_ = mysql_packet(0, b"\x01")
    base = login()
    write("mysql", "login_quit", b"\x00" + base + quit_)
    write("mysql", "login_db_ping", b"\x00" + login(db=b"db1") + mysql_packet(0, b"\x0e") + quit_)
    # MySQL 8 clients open with caching_sha2_password: the server switches them over.
    write("mysql", "login_switch", b"\x00" + login(plugin=b"caching_sha2_password", auth=b"x" * 32)
          + mysql_packet(3, b"") + mysql_packet(0, b"\x03SELECT 1") + quit_)
    write("mysql", "login_denied", b"\x00" + login(user=b"admin", auth=b"y" * 20))
    write("mysql", "init_db", b"\x00" + base + mysql_packet(0, b"\x02db1") + mysql_packet(0, b"\x03SHOW TABLES"))
    # Prepared statements: prepare, execute with a parameter, close.
    execute = b"\x17" + struct.pack("<IBI", 1, 0, 1) + b"\x00" + b"\x01" + b"\x08\x00" + struct.pack("<q", 42)
    write("mysql", "stmt", b"\x00" + base + mysql_packet(0, b"\x16SELECT ?") + mysql_packet(0, execute)
          + mysql_packet(0, b"\x19" + struct.pack("<I", 1)))
    # Pipelined session statements as MariaDB Connector/J sends them, in 3-byte reads.
    conn_j = mysql_packet(0, b"\x03SET autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')") \
        + mysql_packet(0, b"\x03SELECT @@max_allowed_packet, @@system_time_zone, @@time_zone")
    write("mysql", "connector_j", b"\x03" + base + conn_j)
    for i, s in enumerate(statements[:120]):
        write("mysql", f"query_{i:03}", b"\x00" + base + mysql_packet(0, b"\x03" + s.encode()) + quit_)


def http_seeds():
    hdrs = [
        {"column_separator": ",", "enclose": "'", "escape": "\\"},
        {"column_separator": ",", "trim_double_quotes": "true", "skip_lines": "2"},
        {"column_separator": ",", "format": "csv_with_names"},
        {"column_separator": ",", "format": "CSV_WITH_NAMES_AND_TYPES"},
        {"format": "json", "strip_outer_array": "true", "fuzzy_parse": "true"},
        {"format": "json", "jsonpaths": '["$.k", "$.v"]', "json_root": "$.data", "read_json_by_line": "true"},
        {"columns": "k, tmp, v = tmp * 2", "where": "k > 1", "max_filter_ratio": "0.6"},
        {"column_separator": "\\x01", "line_delimiter": "\\n", "partial_columns": "true", "timezone": "Asia/Shanghai"},
        {"two_phase_commit": "true", "label": "tpc_1", "strict_mode": "true", "timeout": "600", "Expect": "100-continue"},
        {"format": "parquet"},
    ]
    for i, h in enumerate(hdrs):
        write("http", f"load_headers_{i}", b"\x00" + "\n".join(f"{k}: {v}" for k, v in h.items()).encode())
    root = "/tmp/doris-fuzz-be/storage/snapshot/20260101000000.1.3600/1001/368169781"
    tok = "token=fuzz-token"
    reqs = [
        (1, f"{tok}&file={root}", ""),
        (1, f"{tok}&file={root}/&with_stat=true&channel=ingest_binlog", ""),
        (1, f"{tok}&file={root}&with_stat=true&with_md5=false", ""),
        (1, f"{tok}&file={root}/1001.hdr&acquire_md5=true", ""),
        (5, f"{tok}&file={root}/0200000000000001_0.dat", ""),
        (1, f"{tok}&file={root}/0200000000000001_0.dat", "Range: bytes=100-2000"),
        (1, f"{tok}&file={root}/../../../../../etc/passwd", ""),
        (1, f"token=bad&file={root}/1001.hdr", ""),
        (1, f"{tok}&file=%2Ftmp%2Fdoris-fuzz-be%2Fstorage%2Fsnapshot", ""),
        (3, "method=get_binlog_info&tablet_id=1001&binlog_version=2", ""),
        (3, "method=get_rowset_meta&tablet_id=1001&rowset_id=0200000000000001&binlog_version=2", ""),
        (3, "method=get_segment_file&tablet_id=1001&rowset_id=0200000000000001&segment_index=0&acquire_md5=true", "Range: bytes=0-10"),
        (3, "method=get_segment_index_file&tablet_id=1001", ""),
        (7, "method=nope", ""),
    ]
    for i, (mode, q, h) in enumerate(reqs):
        write("http", f"request_{i:02}", bytes([mode]) + q.encode() + (b"\n" + h.encode() if h else b""))


def load_seeds():
    """Stream loads as tests/e2e/test_stream_load_options.py sends them, for the two tables of
    fuzz/src/load.rs (mode bit 0): the many-typed DUP table, the UNIQUE one with hidden columns."""
    wide_csv = (
        "1,2023-05-01,2023-05-01 10:00:00.123,abc,12.50,1.5,170141183460469231731687303715884105727,true,s,"
        "\"[1,2,null]\",\"{'a':1}\",\"{1,'x'}\",\"{\"\"k\"\":[1]}\",7,abcd\n"
        "2,2024-02-29,,,,,,,,,,,,,\n"
        "x,not a date,,,,,,,,,,,,,\n"
    )
    wide_json = (
        '[{"k": 3, "d": "2025-01-01", "v": "j", "amt": 1.25, "a": [1, 2], "m": {"a": 2},'
        ' "st": {"f1": 1, "f2": "y"}, "j": {"x": null}, "c": "zz"}, {"k": "bad"}]'
    )
    unique_csv = "1,5,a\n4,1,b\n9,1,c\n"
    cases = [
        (0, {"column_separator": ",", "enclose": '"', "max_filter_ratio": "1"}, wide_csv),
        (0, {"column_separator": ",", "format": "csv_with_names", "columns": "k,d,v"}, "k,d,v\n1,2020-01-01,q\n"),
        (0, {"column_separator": ",", "columns": "k, d, tmp, v = concat(tmp, 'x'), amt = k * 2", "where": "k > 1"}, "1,2020-01-01,a\n2,2021-01-01,b\n"),
        (0, {"format": "json", "strip_outer_array": "true"}, wide_json),
        (0, {"format": "json", "jsonpaths": '["$.k", "$.d"]', "columns": "k,d", "json_root": "$.data"}, '{"data": {"k": 1, "d": "2020-02-02"}}'),
        (0, {"format": "json", "read_json_by_line": "true", "fuzzy_parse": "true"}, '{"k": 1, "d": "2020-01-01"}\n{"k": 2, "d": "2021-01-01"}\n'),
        (0, {"column_separator": "\\x01", "line_delimiter": "\\n", "trim_double_quotes": "true", "skip_lines": "1"}, "h\n1\x012020-01-01\n"),
        (1, {"column_separator": ","}, unique_csv),
        (1, {"column_separator": ",", "merge_type": "MERGE", "delete": "v = 'b'"}, unique_csv),
        (1, {"column_separator": ",", "merge_type": "DELETE", "columns": "k"}, "1\n4\n"),
        (1, {"column_separator": ",", "function_column.sequence_col": "ver", "columns": "k,ver,v"}, unique_csv),
        (1, {"column_separator": ",", "hidden_columns": "__DORIS_DELETE_SIGN__"}, "1,5,a,1\n2,1,b,0\n"),
    ]
    for i, (mode, h, body) in enumerate(cases):
        head = "\n".join(f"{k}: {v}" for k, v in h.items())
        write("load", f"load_{i:02}", bytes([mode]) + head.encode() + b"\n\n" + body.encode())


def conf_seeds():
    write("conf", "fe", b"""# doris-rs local
meta_dir = ${DORIS_HOME}/doris-meta
http_port = 8030
rpc_port = 9020
query_port = 9030
edit_log_port = 9010
priority_networks = 127.0.0.1/32
enable_table_level_backup_concurrency = true
max_backup_restore_job_num_per_db = 10
thrift_max_message_size = 104857600
JAVA_OPTS="-Xmx8192m -XX:+UseG1GC"
""")
    write("conf", "be", b"""be_port = 9060
webserver_port = 8040
heartbeat_service_port = 9050
brpc_port = 8060
storage_root_path = /a;/b,medium:ssd;/c,capacity:50
enable_feature_binlog = true
storage_flood_stage_usage_percent = 90
sys_log_level = INFO
download_parallelism = 4
""")


def main():
    statements = sql_statements()
    for i, s in enumerate(statements):
        write("sql", f"stmt_{i:04}", s.encode())
    n = thrift_seeds()
    mysql_seeds(statements)
    http_seeds()
    load_seeds()
    conf_seeds()
    print(f"{n} thrift calls, {len(statements)} statements")


if __name__ == "__main__":
    main()
