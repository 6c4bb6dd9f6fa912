#!/usr/bin/env bash
# Data-type throughput: redis-benchmark's list, set, hash and sorted-set
# tests against starling-server and redis-server in the same run, at -P 1
# and -P 16. Prints a table with the ratios to redis-server.
#
#   cargo build --release -p starling-node
#   bench/datatypes.sh        # or: SHARDS="1 2" REQUESTS=500000 bench/datatypes.sh
source "$(dirname "$0")/lib.sh"
REQUESTS=${REQUESTS:-500000}
SHARDS=${SHARDS:-1}
TESTS=lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100
command -v redis-benchmark >/dev/null || { echo "install redis-tools" >&2; exit 1; }
[ -x "$STARLING_BIN" ] || { echo "build first: cargo build --release -p starling-node" >&2; exit 1; }

results=$(mktemp)
trap 'rm -f "$results"; kill $(jobs -p) 2>/dev/null || true' EXIT

measure() {
  local port=$1 label=$2 pipeline=$3
  redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -r 100000 -t "$TESTS" -P "$pipeline" --csv 2>/dev/null |
    python3 -c '
import csv, sys
label, pipeline = sys.argv[1], sys.argv[2]
for row in csv.reader(sys.stdin):
    if row and row[0] != "test":
        print(f"{label}|{pipeline}|{row[0]}|{float(row[1]):.0f}")
' "$label" "$pipeline" >> "$results"
}

for pipeline in 1 16; do
  port=$(free_port); pid=$(start_redis "$port"); wait_for_ping "$port"
  measure "$port" redis-server "$pipeline"; kill "$pid"; wait "$pid" 2>/dev/null || true
  for shards in $SHARDS; do
    port=$(free_port); pid=$(start_starling "$port" "$shards"); wait_for_ping "$port"
    measure "$port" "starling --shards $shards" "$pipeline"; kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

python3 - "$results" "$REQUESTS" <<'PY'
import sys
rows = [line.rstrip("\n").split("|") for line in open(sys.argv[1]) if line.strip()]
rps = {(label, int(p), test): float(v) for label, p, test, v in rows}
labels = [l for l in dict.fromkeys(label for label, _, _ in rps) if l != "redis-server"]
tests = list(dict.fromkeys(test for _, _, test in rps))
print(f"redis-benchmark -c 50 -n {sys.argv[2]} -r 100000, requests per second (ratio to redis-server)")
header = "| test | redis -P 1 | " + " | ".join(f"{l} -P 1" for l in labels) + " | redis -P 16 | " + " | ".join(f"{l} -P 16" for l in labels) + " |"
print(header)
print("|" + "---|" * (header.count("|") - 1))
for test in tests:
    cells = []
    for p in (1, 16):
        base = rps.get(("redis-server", p, test))
        cells.append(f"{base:,.0f}" if base else "-")
        for label in labels:
            value = rps.get((label, p, test))
            cells.append(f"{value:,.0f} ({value / base:.2f}x)" if value and base else "-")
    print(f"| {test} | " + " | ".join(cells) + " |")
PY
