#!/usr/bin/env bash
# The whole test suite: wire contract, generated-code freshness, Rust tests, Python interop
# and end-to-end tests. Run from anywhere: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== wire contract"
python3 ../shared/wire/check_contract.py
python3 ../shared/wire/check_contract.py --coverage ../shared/wire/coverage-incremental.json

echo "== generated code is fresh"
./gen/regen.sh
git diff --exit-code --stat -- gen/src/generated thrift || {
  echo "gen/src/generated differs from the compiler's output for thrift/: run gen/regen.sh and commit" >&2
  exit 1
}
untracked=$(git ls-files --others --exclude-standard -- gen/src/generated)
if [ -n "$untracked" ]; then echo "untracked generated files: $untracked" >&2; exit 1; fi

echo "== cargo test"
# The binary the end-to-end tests run carries the BE's failpoints (a release build has none).
cargo build --workspace --bins --features doris-rs/failpoints
cargo test --workspace --features doris-rs/failpoints

echo "== python interop and end-to-end tests"
export DORIS_RS_BIN="$PWD/target/debug/doris-rs"
python3 -m pytest -q tests/
