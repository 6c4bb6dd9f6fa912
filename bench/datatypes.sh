#!/usr/bin/env bash
# Data-type throughput: redis-benchmark's list, set, hash and sorted-set
# tests against starling-server and redis-server, at -P 1 and -P 16. Both
# servers run side by side and are measured in alternation, test by test,
# ROUNDS times, each run on a flushed server; every other round starts with
# the other server, so a drift in the machine's speed weighs on both. The
# table gives the median of each cell and the range of the per-round ratios
# (one run of redis-benchmark swings by +-10-20 % on a 2-core machine, where
# client and server share the cores).
#
#   cargo build --release -p starling-node
#   bench/datatypes.sh        # or: ROUNDS=5 SHARDS="1 2" REQUESTS=500000 bench/datatypes.sh
source "$(dirname "$0")/lib.sh"
REQUESTS=${REQUESTS:-500000}
SHARDS=${SHARDS:-1}
ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100}
command -v redis-benchmark >/dev/null || { echo "install redis-tools" >&2; exit 1; }
[ -x "$STARLING_BIN" ] || { echo "build first: cargo build --release -p starling-node" >&2; exit 1; }

results=$(mktemp)
trap 'rm -f "$results"; kill $(jobs -p) 2>/dev/null || true' EXIT

measure() {
  local port=$1 label=$2 pipeline=$3 round=$4 test=$5
  redis-cli -p "$port" FLUSHALL >/dev/null
  redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -r 100000 -t "$test" -P "$pipeline" --csv 2>/dev/null |
    python3 -c '
import csv, sys
label, pipeline, round_ = sys.argv[1], sys.argv[2], sys.argv[3]
for row in csv.reader(sys.stdin):
    # Skip the header and the LPUSH run that fills the LRANGE list.
    if row and row[0] != "test" and "(needed" not in row[0]:
        print(f"{label}|{pipeline}|{row[0]}|{round_}|{float(row[1]):.0f}")
' "$label" "$pipeline" "$round" >> "$results"
}

declare -A ports
ports[redis-server]=$(free_port); start_redis "${ports[redis-server]}" >/dev/null
labels=(redis-server)
for shards in $SHARDS; do
  label="starling --shards $shards"; labels+=("$label")
  ports[$label]=$(free_port); start_starling "${ports[$label]}" "$shards" >/dev/null
done
for label in "${labels[@]}"; do wait_for_ping "${ports[$label]}"; done

for round in $(seq 1 "$ROUNDS"); do
  order=("${labels[@]}")
  if [ $((round % 2)) = 0 ]; then
    order=()
    for ((i = ${#labels[@]} - 1; i >= 0; i--)); do order+=("${labels[$i]}"); done
  fi
  for pipeline in 1 16; do
    for test in ${TESTS//,/ }; do
      for label in "${order[@]}"; do
        measure "${ports[$label]}" "$label" "$pipeline" "$round" "$test"
      done
    done
  done
  echo "round $round of $ROUNDS done" >&2
done

python3 - "$results" "$REQUESTS" "$ROUNDS" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(dict)  # (label, pipeline, test) -> {round: rps}
for line in open(sys.argv[1]):
    if line.strip():
        label, p, test, round_, value = line.rstrip("\n").split("|")
        runs[(label, int(p), test)][round_] = float(value)
labels = [l for l in dict.fromkeys(label for label, _, _ in runs) if l != "redis-server"]
tests = list(dict.fromkeys(test for _, _, test in runs))
print(f"redis-benchmark -c 50 -n {sys.argv[2]} -r 100000, {sys.argv[3]} alternating rounds: "
      "median requests per second (median ratio to redis-server, range of the per-round ratios)")
header = "| test | redis -P 1 | " + " | ".join(f"{l} -P 1" for l in labels) + " | redis -P 16 | " + " | ".join(f"{l} -P 16" for l in labels) + " |"
print(header)
print("|" + "---|" * (header.count("|") - 1))
for test in tests:
    cells = []
    for p in (1, 16):
        base = runs.get(("redis-server", p, test), {})
        cells.append(f"{statistics.median(base.values()):,.0f}" if base else "-")
        for label in labels:
            mine = runs.get((label, p, test), {})
            ratios = [mine[r] / base[r] for r in mine if r in base]
            if not ratios:
                cells.append("-")
                continue
            cells.append(f"{statistics.median(mine.values()):,.0f} ({statistics.median(ratios):.2f}x, "
                         f"{min(ratios):.2f}-{max(ratios):.2f})")
    print(f"| {test} | " + " | ".join(cells) + " |")
PY
