"""Running `doris-rs wire-peer call`, and what it calls."""

import subprocess

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
