#!/usr/bin/env bash
# Scale-out 3 → 4 primaries with 1M keys of 100 bytes, Starling against
# Redis 7 (Debian package) on this machine:
#   - Redis: `redis-cli --cluster add-node` of an empty primary, then
#     `redis-cli --cluster rebalance --cluster-use-empty-masters`;
#   - Starling: the same empty fourth node, then native migration
#     (CLUSTER MIGRATESLOTS) of a quarter of each node's slots to it, the
#     moves the rebalance planner makes for an empty node.
# Both clusters are loaded by starling-bench (sequential keys key:<n>).
# During the move an open-loop starling-bench workload (RATE requests/s,
# get=1,set=1) runs; its p99 is reported next to a baseline taken before.
#
#   cargo build --release -p starling-node -p starling-loadtest
#   bench/migration.sh          # KEYS=1000000 RATE=5000
#   MIGRATION_LIMIT=5mb bench/migration.sh   # throttle Starling's stream per node
#   SYSTEMS=starling DURING_STARLING=3s bench/migration.sh   # one system, a wider window
source "$(dirname "$0")/lib.sh"
KEYS=${KEYS:-1000000}
RATE=${RATE:-5000}
# The open-loop window from 1 s before the move: it must cover the move and
# should not be much longer, or the move's share of the samples (and its
# effect on the p99) shrinks. Redis's move takes 7-9 s here, Starling's
# under 1 s unthrottled.
declare -A during=([redis]=${DURING_REDIS:-10s} [starling]=${DURING_STARLING:-2s})
BENCH_BIN=${BENCH_BIN:-$(dirname "$STARLING_BIN")/starling-bench}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# p99 in ms of an open-loop run against the cluster seeded at $1, for $2.
open_loop_p99() {
  "$BENCH_BIN" run --target "$1" --mode cluster --mix get=1,set=1 --keyspace "$KEYS" --value-size 100 \
    --rate "$RATE" -c 20 --duration "$2" --quiet --json "$work/open-loop-$2.json" >/dev/null
  python3 - "$work/open-loop-$2.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
total = report["total"]
by_command = ", ".join(f'{c["command"]} {c["latency"]["p99_ms"]:.2f}' for c in report["commands"])
print(f'{total["latency"]["p99_ms"]:.2f} ms ({by_command}; max {total["latency"]["max_ms"]:.2f} ms; errors {total["errors"]}, MOVED followed {report["redirects"]["moved"]}; redirects and retries {report["redirects"]}; topology refreshes {report["topology_refreshes"]})')
PY
}

now_ms() { date +%s%3N; }

run_kind() { # kind
  local kind=$1 ports=() addresses=()
  for i in 0 1 2 3; do
    ports+=("$(free_cluster_port)")
    start_node "$kind" "${ports[$i]}" "$work/$kind-$i"
    wait_for_ping "${ports[$i]}"
    addresses+=("127.0.0.1:${ports[$i]}")
  done
  redis-cli --cluster create "${addresses[0]}" "${addresses[1]}" "${addresses[2]}" --cluster-yes >/dev/null
  wait_converged 3 "${ports[0]}" "${ports[1]}" "${ports[2]}"
  "$BENCH_BIN" run --target "${addresses[0]}" --mode cluster --command "SET key:__key__ __value__" \
    --keyspace "$KEYS" --distribution sequential -n "$KEYS" --value-size 100 -c 50 -P 64 --quiet >/dev/null
  redis-cli --cluster add-node "${addresses[3]}" "${addresses[0]}" >/dev/null
  wait_converged 4 "${ports[@]}"
  echo "$kind: baseline p99 $(open_loop_p99 "${addresses[0]}" 5s)"
  open_loop_p99 "${addresses[0]}" "${during[$kind]}" > "$work/during" &
  local loader=$!
  sleep 1
  local begin; begin=$(now_ms)
  if [ "$kind" = redis ]; then
    redis-cli --cluster rebalance "${addresses[0]}" --cluster-use-empty-masters --cluster-pipeline 100 >/dev/null
  else
    local target; target=$(redis-cli -p "${ports[3]}" CLUSTER MYID)
    for i in 0 1 2; do
      redis-cli -p "${ports[$i]}" CONFIG SET migration-max-bytes-per-sec "${MIGRATION_LIMIT:-0}" >/dev/null
    done
    for i in 0 1 2; do
      local start=$(( i * 16384 / 3 )) end=$(( (i + 1) * 16384 / 3 - 1 ))
      local from=$(( end - (end - start + 1) / 4 + 1 ))
      redis-cli -p "${ports[$i]}" CLUSTER MIGRATESLOTS SLOTSRANGE "$from" "$end" NODE "$target" >/dev/null
    done
    for i in 0 1 2; do
      wait_migration_ended "${ports[$i]}"
      redis-cli -p "${ports[$i]}" CLUSTER GETSLOTMIGRATIONS | grep -qx success || { echo "migration on ${ports[$i]} did not succeed" >&2; exit 1; }
    done
  fi
  local elapsed=$(( $(now_ms) - begin ))
  local moved; moved=$(redis-cli -p "${ports[3]}" DBSIZE)
  wait "$loader"
  echo "$kind: moved $moved keys in $elapsed ms: $(( moved * 1000 / (elapsed > 0 ? elapsed : 1) )) keys/s"
  echo "$kind: p99 over the ${during[$kind]} window from 1 s before the move $(cat "$work/during")"
  echo "$kind|$moved|$elapsed" >> "$work/results"
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
}

for kind in ${SYSTEMS:-redis starling}; do run_kind "$kind"; done
python3 - "$work/results" <<'PY'
import sys
rows = {kind: (int(moved), int(ms)) for kind, moved, ms in (line.strip().split("|") for line in open(sys.argv[1]))}
rate = {kind: moved * 1000 / max(ms, 1) for kind, (moved, ms) in rows.items()}
print("| cluster | keys moved | time (ms) | keys/s |")
print("|---|---|---|---|")
for kind in ("redis", "starling"):
    if kind not in rows:
        continue
    moved, ms = rows[kind]
    ratio = f" ({rate[kind] / rate['redis']:.1f}x)" if kind != "redis" and "redis" in rate else ""
    print(f"| {kind} | {moved:,} | {ms:,} | {rate[kind]:,.0f}{ratio} |")
PY
