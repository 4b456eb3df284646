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
