#!/usr/bin/env bash
# Seeds for the meta and hdr targets from real documents: a local cluster (1 FE, 1 BE)
# backs a table up to a local repository; its backup meta, job_info and the snapshot's
# tablet headers become fuzz/seeds/{meta,hdr}. Needs a built doris-rs and a mysql client.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DORIS_RS_BIN:-target/debug/doris-rs}
base=${CAPTURE_BASE_PORT:-4300}
port=$((9030 + base))
dir=$(mktemp -d)
"$bin" local --bes 1 --dir "$dir" --base-port "$base" > "$dir/local.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
sql() { mysql -h127.0.0.1 -P"$port" -uroot -N -e "$1"; }
for _ in $(seq 120); do grep -q "cluster is up" "$dir/local.log" && break; sleep 1; done
sql "CREATE DATABASE d"
sql "CREATE TABLE d.t (d DATE NOT NULL, k INT NOT NULL, v VARCHAR(32), amt DECIMAL(12, 2), a ARRAY<INT>)
  DUPLICATE KEY(d, k) PARTITION BY RANGE(d) (PARTITION p1 VALUES LESS THAN ('2024-01-01'),
  PARTITION p2 VALUES LESS THAN ('2025-01-01')) DISTRIBUTED BY HASH(k) BUCKETS 2
  PROPERTIES ('replication_num' = '1')"
sql "INSERT INTO d.t VALUES ('2023-05-01', 1, 'a', 1.25, [1, 2]), ('2024-02-03', 2, 'b', -3.5, NULL)"
sql "CREATE REPOSITORY r WITH LOCAL ON LOCATION 'file://$dir/repo'"
sql "BACKUP SNAPSHOT d.s1 TO r ON (t)"
for _ in $(seq 120); do sql "SHOW BACKUP FROM d" | grep -q FINISHED && break; sleep 1; done
meta=$(find "$dir/repo" -name '__meta*' | head -1)
info=$(find "$dir/repo" -name '__info*' | head -1)
mkdir -p fuzz/seeds/meta fuzz/seeds/hdr
python3 - "$meta" "$info" <<'PY'
import gzip, struct, sys
meta, info = (open(p, "rb").read() for p in sys.argv[1:3])
def seed(mode, m, i):
    return bytes([mode]) + struct.pack(">H", len(m)) + m + i
open("fuzz/seeds/meta/backup", "wb").write(seed(0, meta, info))
open("fuzz/seeds/meta/backup_body", "wb").write(seed(2, meta[4:], info))
open("fuzz/seeds/meta/backup_gzip", "wb").write(seed(1, gzip.compress(meta, mtime=0), gzip.compress(info, mtime=0)))
PY
n=0
for h in $(find "$dir" -name '*.hdr*' | head -4); do
  { printf '\0'; cat "$h"; } > "fuzz/seeds/hdr/file_$n"
  { printf '\1'; tail -c +25 "$h"; } > "fuzz/seeds/hdr/body_$n"
  n=$((n + 1))
done
echo "meta: $(wc -c < "$meta") bytes, job_info: $(wc -c < "$info") bytes, $n headers"
