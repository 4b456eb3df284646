"""`doris-rs bench rpc --peers` end to end, scaled down: it builds the Java and C++ bench
servers (tests/interop/peers.sh), starts ours, Java's and C++'s as processes, drives each
with our client and prints the comparison table. Figures are printed, never asserted on;
what is asserted is that every server answered every case under the bench convention
and that each server's own peak RSS was read.
"""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SERVERS = ["doris-rs (tokio)", "Java TThreadPoolServer", "C++ TThreadedServer"]


@pytest.mark.parametrize("framing", ["buffered", "framed"])
def test_bench_rpc_peers(doris_rs_bin, framing):
    cmd = [str(doris_rs_bin), "bench", "rpc", "--peers", "--seconds", "0.2", "--big-mib", "2", "--json"]
    if framing == "framed":
        cmd.append("--framed")
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=1200, env={**os.environ, "DORIS_RS_REPO": str(REPO)}
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    cases = [(r["server"], r["case"], r["conns"]) for r in rows]
    assert cases == [
        (s, c, n)
        for s in SERVERS
        for c, n in [("1KiB reply", 1), ("1KiB reply", 64), ("2MiB reply", 1), ("2MiB request", 1)]
    ]
    for r in rows:
        assert r["framed"] == (framing == "framed")
        assert r["calls"] > 0 and r["calls_per_s"] > 0
        assert 0 < r["p50_us"] <= r["p99_us"]
        assert r["peak_rss_mib"] is not None and r["peak_rss_mib"] > 0
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(rows)
    for s in SERVERS:
        assert sum(s in line for line in table) == 4
