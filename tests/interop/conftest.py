"""Interop fixtures: our fixture server, `doris-rs wire-peer serve`, as a process."""

import subprocess

import pytest


class RustServer:
    def __init__(self, proc, addrs):
        self.proc = proc
        self.addrs = addrs  # service name -> (host, port)


@pytest.fixture(scope="module")
def rust_server(doris_rs_bin, tmp_path_factory):
    """`wire-peer serve` on free ports; ready once it has printed one line per service."""
    log = tmp_path_factory.mktemp("wire-peer") / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [str(doris_rs_bin), "wire-peer", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
        )
    addrs = {}
    try:
        while len(addrs) < 3:
            line = proc.stdout.readline().decode()
            if not line:
                pytest.fail(f"wire-peer serve exited before listening: {log.read_text()}")
            # "<Service> listening on <host>:<port>"
            parts = line.split()
            name, (host, port) = parts[0], parts[-1].rsplit(":", 1)
            addrs[name] = (host, int(port))
        assert set(addrs) == {"BackendService", "HeartbeatService", "FrontendService"}, addrs
        yield RustServer(proc, addrs)
    finally:
        proc.terminate()
        rc = proc.wait(timeout=60)
    # SIGTERM is a graceful stop: the process must exit cleanly.
    assert rc == 0, f"wire-peer serve exited with {rc}: {log.read_text()}"
