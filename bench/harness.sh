#!/usr/bin/env bash
# Is starling-bench fast enough to measure a server? Both load generators
# drive the same redis-server (Debian package) with the same shape:
#   redis-benchmark -c 50 -P {1,16} -n N -r 1000000 -d 16 -t {set,get}
#   starling-bench run -c 50 -P {1,16} -n N --keyspace 1000000 --value-size 16 --mix {set,get}=1
# taking turns, and the table shows both throughputs and their ratio
# (starling-bench ÷ redis-benchmark; the bar is ≥ 0.90).
#
#   cargo build --release -p starling-loadtest
#   bench/harness.sh            # or: REQUESTS=2000000 bench/harness.sh
source "$(dirname "$0")/lib.sh"
REQUESTS=${REQUESTS:-1000000}
BENCH_BIN=${BENCH_BIN:-$(dirname "$STARLING_BIN")/starling-bench}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(free_port); start_redis "$port" >/dev/null; wait_for_ping "$port"
for pipeline in 1 16; do
  for test in set get; do
    redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -r 1000000 -d 16 -t "$test" -P "$pipeline" --csv 2>/dev/null |
      python3 -c 'import csv,sys
for row in csv.reader(sys.stdin):
    if row and row[0] in ("SET","GET"): print(f"{sys.argv[1]}|{sys.argv[2]}|redis-benchmark|{float(row[1]):.0f}")' "$test" "$pipeline" >> "$work/results"
    "$BENCH_BIN" run --target "127.0.0.1:$port" -c 50 -P "$pipeline" -n "$REQUESTS" --keyspace 1000000 --value-size 16 \
      --mix "$test=1" --quiet --json "$work/run.json" >/dev/null
    python3 -c 'import json,sys
ops = json.load(open(sys.argv[3]))["total"]["ops_per_second"]
print(f"{sys.argv[1]}|{sys.argv[2]}|starling-bench|{ops:.0f}")' "$test" "$pipeline" "$work/run.json" >> "$work/results"
  done
done

python3 - "$work/results" "$REQUESTS" <<'PY'
import sys
value = {}
for line in open(sys.argv[1]):
    test, pipeline, tool, ops = line.strip().split("|")
    value[(test, pipeline, tool)] = float(ops)
print(f"against redis-server, -c 50 -n {sys.argv[2]}, 1M random keys, 16-byte values; requests per second")
print("| test | redis-benchmark | starling-bench | ratio |")
print("|---|---|---|---|")
for pipeline in ("1", "16"):
    for test in ("set", "get"):
        base, ours = value[(test, pipeline, "redis-benchmark")], value[(test, pipeline, "starling-bench")]
        print(f"| {test.upper()} -P {pipeline} | {base:,.0f} | {ours:,.0f} | {ours / base:.2f}x |")
PY
