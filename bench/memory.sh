#!/usr/bin/env bash
# Memory per key: loads 1M keys `key:<n>` with 16-byte values through
# `redis-cli --pipe` into starling-server and redis-server, and reports RSS
# per key (whole process, and growth over the empty process).
#
#   cargo build --release -p starling-node
#   bench/memory.sh            # or: KEYS=1000000 SHARDS=2 bench/memory.sh
source "$(dirname "$0")/lib.sh"
KEYS=${KEYS:-1000000}
SHARDS=${SHARDS:-2}
input=$(mktemp)
trap 'rm -f "$input"; kill $(jobs -p) 2>/dev/null || true' EXIT
python3 - "$KEYS" > "$input" <<'PY'
import sys
out = sys.stdout.buffer
value = b"v" * 16
for n in range(int(sys.argv[1])):
    key = b"key:%d" % n
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(key), key, value))
PY

rss_bytes() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }

report() {
  local label=$1 port=$2 pid=$3
  local before after
  before=$(rss_bytes "$pid")
  redis-cli -p "$port" --pipe < "$input" > /dev/null
  local keys; keys=$(redis-cli -p "$port" DBSIZE)
  after=$(rss_bytes "$pid")
  python3 -c "
label, keys, before, after = '$label', int('$keys'), int('$before'), int('$after')
print(f'| {label} | {keys:,} | {after/1048576:.1f} MiB | {after/keys:.1f} | {(after-before)/keys:.1f} |')"
}

echo "| server | keys | RSS | RSS bytes/key | RSS growth bytes/key |"
echo "|---|---|---|---|---|"
port=$(free_port); pid=$(start_redis "$port"); wait_for_ping "$port"
report redis-server "$port" "$pid"; kill "$pid"; wait "$pid" 2>/dev/null || true
port=$(free_port); pid=$(start_starling "$port" "$SHARDS"); wait_for_ping "$port"
report "starling --shards $SHARDS" "$port" "$pid"; kill "$pid"; wait "$pid" 2>/dev/null || true
