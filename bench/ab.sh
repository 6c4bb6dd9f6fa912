#!/usr/bin/env bash
# Runs redis-benchmark against redis-server and starling-server (one per
# --shards value) side by side, and prints a table of the medians and of the
# ratios to redis-server. The servers are measured in alternation, unit by
# unit, ROUNDS times, each run on a flushed server; every other round starts
# with the other server, so a drift in the machine's speed weighs on all of
# them. One run of redis-benchmark swings by +-10-20 % on a 2-core machine,
# where client and server share the cores: read the ranges, not one run.
#
# The scripts that call it (datatypes.sh, throughput.sh) set:
#   UNITS       redis-benchmark -t values, one run each (set,get is one run:
#               GET then reads what SET wrote)
#   BENCH_ARGS  further redis-benchmark arguments (-r, -d)
#   REQUESTS, ROUNDS, SHARDS (starling --shards values), PIPELINES
source "$(dirname "$0")/lib.sh"
: "${UNITS:?}" "${REQUESTS:?}" "${ROUNDS:?}" "${SHARDS:?}"
BENCH_ARGS=${BENCH_ARGS:-}
PIPELINES=${PIPELINES:-"1 16"}
command -v redis-benchmark >/dev/null || { echo "install redis-tools" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "install redis-server" >&2; exit 1; }
[ -x "$STARLING_BIN" ] || { echo "build first: cargo build --release -p starling-node" >&2; exit 1; }

results=$(mktemp)
trap 'rm -f "$results"; kill $(jobs -p) 2>/dev/null || true' EXIT

measure() {
  local port=$1 label=$2 pipeline=$3 round=$4 unit=$5
  redis-cli -p "$port" FLUSHALL >/dev/null
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of arguments
  redis-benchmark -p "$port" -c 50 -n "$REQUESTS" $BENCH_ARGS -t "$unit" -P "$pipeline" --csv 2>/dev/null |
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
  for pipeline in $PIPELINES; do
    for unit in $UNITS; do
      for label in "${order[@]}"; do
        measure "${ports[$label]}" "$label" "$pipeline" "$round" "$unit"
      done
    done
  done
  echo "round $round of $ROUNDS done" >&2
done

python3 - "$results" "$REQUESTS $BENCH_ARGS" "$ROUNDS" "$PIPELINES" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(dict)  # (label, pipeline, test) -> {round: rps}
for line in open(sys.argv[1]):
    if line.strip():
        label, p, test, round_, value = line.rstrip("\n").split("|")
        runs[(label, int(p), test)][round_] = float(value)
labels = [l for l in dict.fromkeys(label for label, _, _ in runs) if l != "redis-server"]
tests = list(dict.fromkeys(test for _, _, test in runs))
print(f"redis-benchmark -c 50 -n {sys.argv[2]}, {sys.argv[3]} alternating rounds: "
      "median requests per second (median ratio to redis-server, range of the per-round ratios, "
      "rounds in which it beat redis-server)")
pipelines = [int(p) for p in sys.argv[4].split()]
header = "| test | " + " | ".join(f"{l} -P {p}" for p in pipelines for l in ["redis"] + labels) + " |"
print(header)
print("|" + "---|" * (header.count("|") - 1))
for test in tests:
    cells = []
    for p in pipelines:
        base = runs.get(("redis-server", p, test), {})
        cells.append(f"{statistics.median(base.values()):,.0f}" if base else "-")
        for label in labels:
            mine = runs.get((label, p, test), {})
            ratios = [mine[r] / base[r] for r in mine if r in base]
            if not ratios:
                cells.append("-")
                continue
            ahead = sum(ratio > 1 for ratio in ratios)
            cells.append(f"{statistics.median(mine.values()):,.0f} ({statistics.median(ratios):.2f}x, "
                         f"{min(ratios):.2f}-{max(ratios):.2f}, ahead {ahead}/{len(ratios)})")
    print(f"| {test} | " + " | ".join(cells) + " |")
PY
