"""Processes of the interop tests: `doris-rs wire-peer call` and what it calls; the Java and
C++ peers (built by peers.sh) and `doris-rs fe|be` processes, started on free ports,
polled until ready and stopped; the JSON-lines records the peers write."""

import json
import pathlib
import socket
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# Readiness and outcome polls give up after this long (a hang guard, not a timing assertion).
DEADLINE_S = 60

# Every method `wire-peer call` makes when given all three addresses, in its order.
CALL_METHODS = [
    "finishTask",
    "report",
    "snapshotLoaderReport",
    "getSnapshot",
    "restoreSnapshot",
    "getMasterToken",
    "getBackendMeta",
    "getMeta",
    "loadTxnBegin",
    "loadTxnCommit",
    "loadTxnRollback",
    "confirmUnusedRemoteFiles",
    "heartbeat",
    "submit_tasks",
    "make_snapshot",
    "release_snapshot",
    "get_tablet_stat",
]


def run_call(doris_rs_bin, fe, hb=None, be=None, framed=False):
    """Run `wire-peer call`; returns (exit code, stdout lines, stderr)."""
    cmd = [str(doris_rs_bin), "wire-peer", "call", "--addr", f"{fe[0]}:{fe[1]}"]
    if hb:
        cmd += ["--heartbeat-addr", f"{hb[0]}:{hb[1]}"]
    if be:
        cmd += ["--be-addr", f"{be[0]}:{be[1]}"]
    if framed:
        cmd.append("--framed")
    proc = subprocess.run(cmd, capture_output=True, timeout=300)
    return proc.returncode, proc.stdout.decode().splitlines(), proc.stderr.decode(errors="replace")


def build_peer(lang):
    """tests/interop/peers.sh <lang>: the cached build dir of that peer."""
    proc = subprocess.run(
        ["bash", str(REPO / "tests/interop/peers.sh"), lang], capture_output=True, text=True, timeout=1200
    )
    if proc.returncode != 0:
        pytest.fail(f"building the {lang} peer failed:\n{proc.stdout}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        if line.startswith(f"{lang}="):
            return pathlib.Path(line.split("=", 1)[1])
    pytest.fail(f"peers.sh printed no {lang}= line: {proc.stdout}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(what, probe, deadline_s=DEADLINE_S):
    """Poll `probe` until it returns a truthy value (returned); fail after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        v = probe()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(proc, close_stdin=False, timeout=30):
    """Stop a process we started: by closing its stdin (peers that serve until then) or
    SIGTERM, then SIGKILL if it does not exit in time. Its exit code."""
    if close_stdin and proc.stdin and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass
    else:
        proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def start_doris_rs(binary, role, root: pathlib.Path, conf: str, ports):
    """`doris-rs <role> --conf <root>/<role>.conf` with `conf` as its text, logging to
    <root>/<role>.log; returns (process, log path) once every port in `ports` accepts."""
    conf_path = root / f"{role}.conf"
    conf_path.write_text(conf)
    log = root / f"{role}.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(binary), role, "--conf", str(conf_path)], stdout=subprocess.DEVNULL, stderr=err)

    def listening():
        if proc.poll() is not None:
            pytest.fail(f"{role} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        return all(accepts(p) for p in ports)

    wait_until(f"the {role} to listen on {ports}", listening)
    return proc, log


def read_records(path: pathlib.Path, method=None):
    """The `request` of every {"method":..., "request":...} line a peer recorded (of
    `method` only, when given), in order."""
    out = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if method is None or r["method"] == method:
            out.append(r["request"])
    return out


def bench_client_against(doris_rs_bin, server_cmd, framing):
    """`doris-rs bench rpc --addr` against a bench-convention server process (`server_cmd`
    prints "FrontendService listening on <addr>" and serves until stdin closes); the JSON
    rows of the bench, after checking every case ran."""
    server = subprocess.Popen(server_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("FrontendService listening on "), line
        addr = line.split()[-1]
        cmd = [str(doris_rs_bin), "bench", "rpc", "--addr", addr, "--seconds", "0.3", "--big-mib", "2", "--json"]
        if framing == "framed":
            cmd.append("--framed")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        rows = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
        small = [r for r in rows if r["case"] == "small"]
        assert [r["conns"] for r in small] == [1, 64]
        assert all(r["calls"] > 0 and r["framed"] == (framing == "framed") for r in small)
        assert {r["case"] for r in rows} == {"small", "big_reply", "big_request"}
        return rows
    finally:
        stop(server, close_stdin=True)
