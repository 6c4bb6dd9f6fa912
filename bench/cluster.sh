#!/usr/bin/env bash
# Cluster throughput and gossip convergence: a 3-node Starling cluster and a
# 3-node Redis cluster (redis-server --cluster-enabled yes), both built with
# `redis-cli --cluster create` on this machine, driven by
# `redis-benchmark --cluster -c 50 -n N -r 1000000 -d 16 -t set,get` at -P 1
# and -P 16. Then a fourth node is met and the time until every node lists
# it is measured (gossip convergence).
#
#   cargo build --release -p starling-node
#   bench/cluster.sh            # or: REQUESTS=1000000 bench/cluster.sh
source "$(dirname "$0")/lib.sh"
REQUESTS=${REQUESTS:-1000000}
work=$(mktemp -d)
results=$work/results
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.5; rm -rf "$work"' EXIT

run_cluster() { # kind
  local kind=$1 ports=() port
  for i in 1 2 3 4; do ports+=("$(free_cluster_port)"); done
  for i in 0 1 2; do start_node "$kind" "${ports[$i]}" "$work/$kind-$i"; wait_for_ping "${ports[$i]}"; done
  local begin; begin=$(now_ms)
  redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" --cluster-yes >/dev/null
  wait_converged 3 "${ports[0]}" "${ports[1]}" "${ports[2]}"
  echo "$kind|create|converged|$(( $(now_ms) - begin ))" >> "$results"
  for pipeline in 1 16; do
    redis-benchmark --cluster -p "${ports[0]}" -c 50 -n "$REQUESTS" -r 1000000 -d 16 -t set,get -P "$pipeline" --csv 2>/dev/null |
      python3 -c '
import csv, sys
for row in csv.reader(sys.stdin):
    if row and row[0] in ("SET", "GET"):
        print(f"{sys.argv[1]}|{sys.argv[2]}|{row[0]}|{float(row[1]):.0f}")
' "$kind" "$pipeline" >> "$results"
  done
  start_node "$kind" "${ports[3]}" "$work/$kind-3"; wait_for_ping "${ports[3]}"
  begin=$(now_ms)
  redis-cli -p "${ports[0]}" CLUSTER MEET 127.0.0.1 "${ports[3]}" >/dev/null
  wait_converged 4 "${ports[@]}"
  echo "$kind|meet|converged|$(( $(now_ms) - begin ))" >> "$results"
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
}

run_cluster redis
run_cluster starling

python3 - "$results" "$REQUESTS" <<'PY'
import sys
rows = [line.strip().split("|") for line in open(sys.argv[1]) if line.strip()]
value = {(kind, p, test): float(v) for kind, p, test, v in rows}
print(f"redis-benchmark --cluster -c 50 -n {sys.argv[2]} -r 1000000 -d 16 -t set,get, 3 primaries, requests per second")
print("| cluster | SET -P 1 | GET -P 1 | SET -P 16 | GET -P 16 |")
print("|---|---|---|---|---|")
for kind in ("redis", "starling"):
    cells = []
    for p, test in (("1", "SET"), ("1", "GET"), ("16", "SET"), ("16", "GET")):
        v, base = value.get((kind, p, test)), value.get(("redis", p, test))
        cells.append("-" if v is None else (f"{v:,.0f}" if kind == "redis" or not base else f"{v:,.0f} ({v / base:.2f}x)"))
    print(f"| {kind} | " + " | ".join(cells) + " |")
print()
print("| cluster | create → all nodes ok (ms) | MEET of a 4th node → every node lists 4 (ms) |")
print("|---|---|---|")
for kind in ("redis", "starling"):
    print(f"| {kind} | {value.get((kind, 'create', 'converged'), 0):.0f} | {value.get((kind, 'meet', 'converged'), 0):.0f} |")
PY
