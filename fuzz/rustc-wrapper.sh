#!/usr/bin/env bash
# RUSTC_WORKSPACE_WRAPPER of fuzz/run.sh: AFL instrumentation (the flags `cargo afl build`
# passes) for our own crates only. Dependencies stay plain debug builds, the very artifacts
# the test build already made: instrumenting and optimizing all of them, as `cargo afl
# build` does, took 42 minutes here (DataFusion).
set -euo pipefail
rustc=$1
shift
name=
prev=
for a in "$@"; do
  if [ "$prev" = --crate-name ]; then name=$a; fi
  prev=$a
done
flags=()
case "$name" in
  doris_thrift | doris_conf | doris_fe | doris_be | doris_fuzz)
    flags=(-C "opt-level=${DORIS_FUZZ_OPT_LEVEL:-1}" -C passes=sancov-module
      -C llvm-args=-sanitizer-coverage-level=3 -C llvm-args=-sanitizer-coverage-trace-pc-guard
      -C llvm-args=-sanitizer-coverage-prune-blocks=0 -C llvm-args=-sanitizer-coverage-trace-compares
      --cfg fuzzing)
    ;;
esac
# A binary linking instrumented crates needs the AFL runtime (their coverage hooks).
if [[ " $* " == *" --crate-type bin "* ]]; then flags+=(-C "link-arg=$DORIS_FUZZ_AFL_RT"); fi
exec "$rustc" "$@" "${flags[@]}"
