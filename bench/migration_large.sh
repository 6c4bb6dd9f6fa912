#!/usr/bin/env bash
# Large collections migrate without stalling other keys: a 1M-field hash and
# a 1M-element list in one slot of a 2-node Starling cluster move to the
# other node with CLUSTER MIGRATESLOTS while an open-loop starling-bench
# workload (RATE requests/s, get=1,set=1 on other keys) runs; its p99 before
# and during the move is reported, with the move's duration.
#
# LOAD_ON=source (the default) measures what issue 6 asks, the other keys on
# the source: the target owns a single slot, so the workload's keys live on
# the source. LOAD_ON=both splits the slots evenly, so half the workload's
# keys live on the target, which applies the incoming parts.
#
#   cargo build --release -p starling-node -p starling-loadtest
#   bench/migration_large.sh        # ELEMENTS=1000000 RATE=5000
#   MIGRATION_LIMIT=20mb bench/migration_large.sh   # throttle the stream
#   LOAD_ON=both bench/migration_large.sh
#   MIGRATION_LIMIT=10mb DURING=6s bench/migration_large.sh  # window inside the move
source "$(dirname "$0")/lib.sh"
ELEMENTS=${ELEMENTS:-1000000}
RATE=${RATE:-5000}
BENCH_BIN=${BENCH_BIN:-$(dirname "$STARLING_BIN")/starling-bench}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

p99() { # seed duration name
  "$BENCH_BIN" run --target "$1" --mode cluster --mix get=1,set=1 --keyspace 100000 --value-size 100 \
    --rate "$RATE" -c 20 --duration "$2" --quiet --json "$work/$3.json" >/dev/null
  python3 - "$work/$3.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
total = report["total"]
print(f'p99 {total["latency"]["p99_ms"]:.2f} ms, p99.9 {total["latency"]["p999_ms"]:.2f} ms, max {total["latency"]["max_ms"]:.2f} ms, errors {total["errors"]}')
PY
}

ports=() addresses=()
for i in 0 1; do
  ports+=("$(free_cluster_port)")
  start_node starling "${ports[$i]}" "$work/n$i"
  wait_for_ping "${ports[$i]}"
  addresses+=("127.0.0.1:${ports[$i]}")
done
split=$([ "${LOAD_ON:-source}" = both ] && echo 8191 || echo 16382)
redis-cli -p "${ports[0]}" CLUSTER ADDSLOTSRANGE 0 "$split" >/dev/null
redis-cli -p "${ports[1]}" CLUSTER ADDSLOTSRANGE "$(( split + 1 ))" 16383 >/dev/null
echo "workload keys on: ${LOAD_ON:-source} (source owns 0-$split)"
redis-cli -p "${ports[0]}" CLUSTER MEET 127.0.0.1 "${ports[1]}" "$(( ports[1] + 10000 ))" >/dev/null
wait_converged 2 "${ports[@]}"
slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT "{big}")
"$BENCH_BIN" run --target "${addresses[0]}" --mode cluster --command "HSET {big}:hash field:__key__ value-__key__" \
  --keyspace "$ELEMENTS" --distribution sequential -n "$ELEMENTS" -c 8 -P 64 --quiet >/dev/null
"$BENCH_BIN" run --target "${addresses[0]}" --mode cluster --command "RPUSH {big}:list element-__key__" \
  --keyspace "$ELEMENTS" --distribution sequential -n "$ELEMENTS" -c 1 -P 256 --quiet >/dev/null
echo "hash fields: $(redis-cli -p "${ports[0]}" HLEN '{big}:hash'), list length: $(redis-cli -p "${ports[0]}" LLEN '{big}:list'), slot $slot"
echo "before: $(p99 "${addresses[0]}" 5s before)"
# DURING: the measured window, from 1 s before the move starts. Make it
# shorter than the move to measure only while it runs.
p99 "${addresses[0]}" "${DURING:-15s}" during > "$work/during.txt" &
loader=$!
sleep 1
target=$(redis-cli -p "${ports[1]}" CLUSTER MYID)
redis-cli -p "${ports[0]}" CONFIG SET migration-max-bytes-per-sec "${MIGRATION_LIMIT:-0}" >/dev/null
begin=$(date +%s%3N)
redis-cli -p "${ports[0]}" CLUSTER MIGRATESLOTS SLOTSRANGE "$slot" "$slot" NODE "$target" >/dev/null
wait_migration_ended "${ports[0]}"
echo "migration: $(redis-cli -p "${ports[0]}" CLUSTER GETSLOTMIGRATIONS | grep -E '^(success|failed|cancelled)$') in $(( $(date +%s%3N) - begin )) ms"
wait "$loader"
echo "during (${DURING:-15s} window from 1 s before the move): $(cat "$work/during.txt")"
echo "on the target: hash fields $(redis-cli -p "${ports[1]}" HLEN '{big}:hash'), list length $(redis-cli -p "${ports[1]}" LLEN '{big}:list')"
