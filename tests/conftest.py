"""Shared pytest fixtures: where the repo, the wire contract and the doris-rs binary are.

Nothing is built here: the binary comes from DORIS_RS_BIN, or the repo's
target/debug/doris-rs (`cargo build --bin doris-rs --features failpoints`: some tests
use the BE's failpoints).
"""

import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# The shared reference material sits next to the repo.
SHARED_DIR = REPO_ROOT.parent / "shared"
THRIFT_DIR = REPO_ROOT / "thrift"


def doris_rs_bin_path() -> pathlib.Path:
    return pathlib.Path(os.environ.get("DORIS_RS_BIN") or REPO_ROOT / "target" / "debug" / "doris-rs")


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"the shared reference directory {SHARED_DIR} is missing")
    return SHARED_DIR


@pytest.fixture(scope="session")
def doris_rs_bin() -> pathlib.Path:
    path = doris_rs_bin_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"doris-rs binary not found at {path}: build it with `cargo build --bin doris-rs --features failpoints` "
            "or point DORIS_RS_BIN at it"
        )
    return path


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    """A real S3 API: a moto server process on a free loopback port, its endpoint URL. moto
    checks no signatures by default; buckets are created by the tests."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # moto logs every request: to a file, so a full pipe never stalls it.
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto exited with {proc.returncode}: {log.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto did not listen within 60 s: {log.read_text(errors='replace')}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
