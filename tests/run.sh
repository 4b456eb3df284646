#!/usr/bin/env bash
# The whole test suite: wire contract, generated-code freshness, Rust tests, Python interop
# and end-to-end tests. Run from anywhere: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step says when it starts and how long the run has taken so far (CI's time budget).
step() { echo "== $1 (at ${SECONDS} s)"; }

step "wire contract"
python3 ../shared/wire/check_contract.py
python3 ../shared/wire/check_contract.py --coverage ../shared/wire/coverage-incremental.json

step "thrift/ is the IDL script's output"
# Hand edits of thrift/ are lost the next time someone runs the script: add to its lists.
idl_tmp=$(mktemp -d)
python3 tools/idl_from_contract.py --out "$idl_tmp"
diff -r "$idl_tmp" thrift || {
  echo "thrift/ differs from tools/idl_from_contract.py's output: change the script (DECLARE/METHODS), then run it and gen/regen.sh" >&2
  exit 1
}
rm -rf "$idl_tmp"

step "generated code is fresh"
./gen/regen.sh
git diff --exit-code --stat -- gen/src/generated thrift || {
  echo "gen/src/generated differs from the compiler's output for thrift/: run gen/regen.sh and commit" >&2
  exit 1
}
untracked=$(git ls-files --others --exclude-standard -- gen/src/generated)
if [ -n "$untracked" ]; then echo "untracked generated files: $untracked" >&2; exit 1; fi

step "cargo test"
# The binary the end-to-end tests run carries the BE's failpoints (a release build has none).
cargo build --workspace --bins --features doris-rs/failpoints
cargo test --workspace --features doris-rs/failpoints --no-run
step "cargo test: run"
cargo test --workspace --features doris-rs/failpoints

step "python interop and end-to-end tests"
export DORIS_RS_BIN="$PWD/target/debug/doris-rs"
python3 -m pytest -q tests/
step "done"
