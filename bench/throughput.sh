#!/usr/bin/env bash
# Throughput: redis-benchmark against starling-server and redis-server in the
# same run, on this machine, at -P 1 and -P 16, with every --shards value
# given (default "1 2"). Prints a table and the ratios to redis-server.
#
#   cargo build --release -p starling-node
#   bench/throughput.sh            # or: SHARDS="1 2 4" REQUESTS=1000000 bench/throughput.sh
source "$(dirname "$0")/lib.sh"
REQUESTS=${REQUESTS:-1000000}
SHARDS=${SHARDS:-"1 2"}
command -v redis-benchmark >/dev/null || { echo "install redis-tools" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "install redis-server" >&2; exit 1; }
[ -x "$STARLING_BIN" ] || { echo "build first: cargo build --release -p starling-node" >&2; exit 1; }

results=$(mktemp)
trap 'rm -f "$results"; kill $(jobs -p) 2>/dev/null || true' EXIT

# Runs redis-benchmark on port $1 and appends "label,pipeline,test,rps" lines.
measure() {
  local port=$1 label=$2 pipeline=$3
  redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -r 1000000 -d 16 -t set,get -P "$pipeline" --csv 2>/dev/null |
    python3 -c '
import csv, sys
label, pipeline = sys.argv[1], sys.argv[2]
for row in csv.reader(sys.stdin):
    if row and row[0] in ("SET", "GET"):
        print(f"{label},{pipeline},{row[0]},{float(row[1]):.0f}")
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
import sys, collections
rows = [line.strip().split(",") for line in open(sys.argv[1]) if line.strip()]
rps = {(label, int(p), test): float(v) for label, p, test, v in rows}
labels = list(dict.fromkeys(label for label, _, _ in rps))
print(f"redis-benchmark -c 50 -n {sys.argv[2]} -r 1000000 -d 16 -t set,get")
print(f"| server | SET -P 1 | GET -P 1 | SET -P 16 | GET -P 16 |")
print(f"|---|---|---|---|---|")
for label in labels:
    cells = []
    for p, test in ((1, "SET"), (1, "GET"), (16, "SET"), (16, "GET")):
        value = rps.get((label, p, test))
        base = rps.get(("redis-server", p, test))
        if value is None:
            cells.append("-")
        elif label == "redis-server" or not base:
            cells.append(f"{value:,.0f}")
        else:
            cells.append(f"{value:,.0f} ({value / base:.2f}x)")
    print(f"| {label} | " + " | ".join(cells) + " |")
PY
