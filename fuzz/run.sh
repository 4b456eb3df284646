#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ (cargo-afl), on the stable toolchain.
#
#   fuzz/run.sh build                  install cargo-afl if missing, build the fuzz binary
#   fuzz/run.sh <target> <seconds>     fuzz one target (see fuzz/README.md), results in
#                                      target/fuzz-out/<target>; exits 1 on a crash or hang
#   fuzz/run.sh ci <seconds>           every target for <seconds> each (what .ci/run does)
#
# Only our crates are instrumented (fuzz/rustc-wrapper.sh); dependencies are the plain
# debug artifacts of the test build, hard-linked from target/debug into target/fuzz so
# that neither build ever rebuilds the other's.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
AFL_VERSION=0.18.2
TARGETS=(thrift mysql sql http load meta conf hdr)
OUT=${DORIS_FUZZ_OUT:-target/fuzz-out}

install_afl() {
  if ! cargo afl --version 2>/dev/null | grep -q "$AFL_VERSION"; then
    cargo install --locked cargo-afl --version "$AFL_VERSION"
  fi
  rt=$(ls "$HOME"/.local/share/afl.rs/rustc-"$(rustc -V | cut -d' ' -f2)"-*/afl.rs-"$AFL_VERSION"/afl-llvm/afl-compiler-rt.o 2>/dev/null | head -1 || true)
  if [ -z "$rt" ]; then
    cargo afl config --build
    rt=$(ls "$HOME"/.local/share/afl.rs/rustc-"$(rustc -V | cut -d' ' -f2)"-*/afl.rs-"$AFL_VERSION"/afl-llvm/afl-compiler-rt.o | head -1)
  fi
  export DORIS_FUZZ_AFL_RT=$rt
}

build() {
  install_afl
  # Seed the fuzz target dir with the test build's dependency artifacts (hard links: no
  # copy, no disk); our crates are left out, as they are built instrumented here.
  if [ -d target/debug/deps ] && [ ! -d target/fuzz/debug/deps ]; then
    mkdir -p target/fuzz/debug
    cp -al target/debug/deps target/debug/build target/debug/.fingerprint target/fuzz/debug/
    rm -rf target/fuzz/debug/deps/*doris* target/fuzz/debug/.fingerprint/doris-*
  fi
  RUSTC_WORKSPACE_WRAPPER="$PWD/fuzz/rustc-wrapper.sh" CARGO_TARGET_DIR=target/fuzz \
    cargo build --workspace --features doris-rs/failpoints,doris-fuzz/afl --bin doris-fuzz
}

# fuzz <target> <seconds>: one afl-fuzz run, resumed from earlier findings when present.
fuzz() {
  local t=$1 secs=$2 out=$OUT/$1
  mkdir -p "$OUT"
  local input=fuzz/seeds/$t
  # The http target's storage root, one per instance (fuzz/src/http.rs).
  local root
  root="$(realpath -m "$out.root")/storage"
  # AFL_SKIP_CPUFREQ/AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES: CI machines are not tuned for
  # fuzzing (governor, core_pattern) and we cannot change them; AFL_NO_AFFINITY: the
  # machine is shared, take no core for ourselves. -t: generous, CI machines are busy.
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 \
    AFL_FAST_CAL=1 AFL_AUTORESUME=1 DORIS_FUZZ_HTTP_ROOT="$root" \
    nice -n 10 cargo afl fuzz -i "$input" -o "$out" -V "$secs" -t "${DORIS_FUZZ_TIMEOUT_MS:-5000}" \
    -- target/fuzz/debug/doris-fuzz "$t" > "$out.log" 2>&1 || {
    echo "afl-fuzz failed on $t; the end of its log:" >&2
    tail -20 "$out.log" >&2
    # AFL's log does not say why a seed crashed: replay the first that does, for its panic.
    for seed in "$input"/*; do
      if ! DORIS_FUZZ_HTTP_ROOT="$root" RUST_BACKTRACE=0 \
        target/fuzz/debug/doris-fuzz "$t" < "$seed" > "$out.replay" 2>&1; then
        echo "replaying $seed:" >&2
        head -20 "$out.replay" >&2
        break
      fi
    done
    return 1
  }
  report "$t"
}

# One line of figures from AFL's fuzzer_stats; 1 when it saved a crash or a hang.
report() {
  local stats=$OUT/$1/default/fuzzer_stats
  get() { sed -n "s/^$1 *: *//p" "$stats"; }
  printf '%-7s %9s execs %7s/s  coverage %-7s corpus %5s  crashes %s  hangs %s\n' \
    "$1" "$(get execs_done)" "$(get execs_per_sec)" "$(get bitmap_cvg)" "$(get corpus_count)" \
    "$(get saved_crashes)" "$(get saved_hangs)"
  if [ "$(get saved_crashes)" != 0 ] || [ "$(get saved_hangs)" != 0 ]; then
    echo "$1: crashes or hangs saved in $OUT/$1/default/{crashes,hangs}; replay one with" >&2
    echo "  target/fuzz/debug/doris-fuzz $1 < FILE" >&2
    return 1
  fi
}

case "${1:-}" in
  build) build ;;
  ci)
    secs=${2:?seconds per target}
    start=$(date +%s)
    build
    echo "fuzz build: $(($(date +%s) - start)) s"
    failed=0
    for t in "${TARGETS[@]}"; do fuzz "$t" "$secs" || failed=1; done
    echo "fuzz step: $(($(date +%s) - start)) s"
    exit $failed
    ;;
  "" | -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *)
    t=$1
    secs=${2:?seconds}
    [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "unknown target $t; targets: ${TARGETS[*]}" >&2; exit 2; }
    build
    fuzz "$t" "$secs"
    ;;
esac
