#!/usr/bin/env bash
# Build the Java and C++ Thrift peers of the interop tests and of `bench rpc --peers`.
#
#   tests/interop/peers.sh [java|cpp|all]     (default: all)
#
# Stubs are generated from OUR thrift/*.thrift with the Debian Thrift compiler (never
# committed), compiled with the Debian Apache Thrift libraries (libthrift-java 0.16,
# libthrift-dev 0.17), under target/interop/<lang>/<hash>/, where <hash> covers
# thrift/*.thrift, the peer sources and this script: a re-run with nothing changed only
# prints the paths. Prints one `<lang>=<dir>` line per peer built:
#   java=<dir>   <dir>/classpath holds the java -cp value; classes JavaFePeer, JavaBenchServer
#   cpp=<dir>    <dir>/bin/cpp_peer (BE peer and FE client), <dir>/bin/cpp_bench_server
#
# Needs: thrift (thrift-compiler), javac/java (default-jdk-headless), libthrift-java,
# libslf4j-java, g++, libthrift-dev, libboost-dev.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
what="${1:-all}"
out_root="$repo/target/interop"
mkdir -p "$out_root"

hash_of() {
  # Content of every input, in a fixed order, with the names.
  (cd "$repo" && for f in thrift/*.thrift tests/interop/peers.sh "$@"; do
    printf '%s\n' "$f"
    cat "$f"
  done) | sha256sum | cut -c1-16
}

# Builds of older inputs (and leftovers of interrupted builds) go once a new one is made.
prune() {
  local d
  for d in "$1"/*; do
    [ "$(basename "$d")" = "$2" ] || rm -rf "$d"
  done
}

java_jars() {
  local jars=(/usr/share/java/thrift.jar /usr/share/java/slf4j-api.jar /usr/share/java/slf4j-nop.jar)
  for j in "${jars[@]}"; do
    [ -f "$j" ] || { echo "peers.sh: $j is missing (apt-get install libthrift-java libslf4j-java)" >&2; exit 1; }
  done
  (IFS=:; echo "${jars[*]}")
}

build_java() {
  local srcs h dir tmp
  srcs=$(cd "$repo" && ls tests/interop/java/*.java)
  # shellcheck disable=SC2086
  h=$(hash_of $srcs)
  dir="$out_root/java/$h"
  if [ ! -f "$dir/ok" ]; then
    exec 9>"$out_root/java.lock"
    flock 9
    if [ ! -f "$dir/ok" ]; then
      tmp="$dir.tmp.$$"
      rm -rf "$tmp"
      mkdir -p "$tmp/gen" "$tmp/classes"
      for f in "$repo"/thrift/*.thrift; do
        # No @Generated: javax.annotation is not part of Java 11+.
        thrift --gen java:generated_annotations=suppress -I "$repo/thrift" -out "$tmp/gen" "$f"
      done
      local cp
      cp=$(java_jars)
      # shellcheck disable=SC2046
      javac -nowarn -encoding UTF-8 -d "$tmp/classes" -cp "$cp" \
        $(find "$tmp/gen" -name '*.java') "$repo"/tests/interop/java/*.java
      echo "$tmp/classes:$cp" | sed "s#$tmp#$dir#" >"$tmp/classpath"
      rm -rf "$dir"
      mv "$tmp" "$dir"
      touch "$dir/ok"
      prune "$out_root/java" "$h"
    fi
    exec 9>&-
  fi
  echo "java=$dir"
}

build_cpp() {
  local srcs h dir tmp
  srcs=$(cd "$repo" && ls tests/interop/cpp/*.cpp tests/interop/cpp/*.h tests/interop/cpp/*.py)
  # shellcheck disable=SC2086
  h=$(hash_of $srcs)
  dir="$out_root/cpp/$h"
  if [ ! -f "$dir/ok" ]; then
    exec 8>"$out_root/cpp.lock"
    flock 8
    if [ ! -f "$dir/ok" ]; then
      tmp="$dir.tmp.$$"
      rm -rf "$tmp"
      mkdir -p "$tmp/idl" "$tmp/gen" "$tmp/obj" "$tmp/bin"
      # The C++ generator needs a struct defined before the structs holding it.
      python3 "$here/cpp/reorder_idl.py" "$repo/thrift" "$tmp/idl"
      for f in "$tmp"/idl/*.thrift; do
        thrift --gen cpp -I "$tmp/idl" -out "$tmp/gen" "$f"
      done
      rm -f "$tmp"/gen/*.skeleton.cpp
      local flags=(-O2 -std=c++17 -pthread -I "$tmp/gen" -I "$here/cpp")
      local jobs
      jobs=$(nproc)
      # Every generated unit once, in parallel.
      find "$tmp/gen" -name '*.cpp' -print0 |
        xargs -0 -P "$jobs" -I{} sh -c 'g++ "$@" -c "{}" -o "'"$tmp"'/obj/$(basename "{}" .cpp).o"' _ "${flags[@]}"
      g++ "${flags[@]}" -o "$tmp/bin/cpp_peer" "$here/cpp/cpp_peer.cpp" "$tmp"/obj/*.o -lthrift
      g++ "${flags[@]}" -o "$tmp/bin/cpp_bench_server" "$here/cpp/bench_server.cpp" "$tmp"/obj/*.o -lthrift
      rm -rf "$dir"
      mv "$tmp" "$dir"
      touch "$dir/ok"
      prune "$out_root/cpp" "$h"
    fi
    exec 8>&-
  fi
  echo "cpp=$dir"
}

case "$what" in
  java) build_java ;;
  cpp) build_cpp ;;
  all) build_java; build_cpp ;;
  *) echo "usage: $0 [java|cpp|all]" >&2; exit 2 ;;
esac
