#!/usr/bin/env bash
# Regenerate gen/src/generated/ from thrift/ with the Apache Thrift compiler 0.17.
# CI runs this and fails when the committed files differ from its output.
set -euo pipefail
cd "$(dirname "$0")/.."
want="0.17.0"
have=$(thrift --version | awk '{print $3}')
if [ "$have" != "$want" ]; then
  echo "gen/regen.sh: need thrift compiler $want, found $have (apt-get install -y thrift-compiler)" >&2
  exit 1
fi
out=gen/src/generated
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in thrift/*.thrift; do
  thrift --gen rs -I thrift -out "$tmp" "$f"
done
rm -f "$out"/*.rs
cp "$tmp"/*.rs "$out/"
# The generated modules refer to each other as crate::<module>, so lib.rs mounts each at the
# crate root; a new thrift/ file needs its line there.
for f in "$out"/*.rs; do
  m=$(basename "$f" .rs)
  grep -q "^#\[path = \"generated/$m.rs\"\]" gen/src/lib.rs || {
    echo "gen/regen.sh: add to gen/src/lib.rs: #[path = \"generated/$m.rs\"] pub mod $m;" >&2; exit 1; }
done
