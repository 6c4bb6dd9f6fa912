#!/usr/bin/env bash
# Starts the servers starling-bench compares, on free ports, and stops them
# again on exit:
#   - redis-server standalone and a 3-primary Redis cluster (Debian package,
#     `apt-get install redis-server redis-tools`), always;
#   - with --starling, also a standalone Starling (STARLING_SHARDS shards,
#     default: the number of cores) and a 3-node Starling
#     cluster (release build: cargo build --release -p starling-node).
# Each cluster is built with `redis-cli --cluster create` and waited for
# until every node reports cluster_state:ok.
#
# The addresses are exported and printed:
#   REDIS_STANDALONE=127.0.0.1:p   REDIS_CLUSTER=127.0.0.1:a,127.0.0.1:b,127.0.0.1:c
#   STARLING_STANDALONE=...         STARLING_CLUSTER=...
#
# Usage: loadtest/peers.sh [--starling] [command ...]
# With a command, runs it with those variables set, then stops the servers
# and exits with its status. Without one, waits until interrupted.
#
# Example:
#   loadtest/peers.sh --starling sh -c 'target/release/starling-bench compare \
#     --target starling=$STARLING_STANDALONE --target redis=$REDIS_STANDALONE'
source "$(dirname "$0")/../bench/lib.sh"

with_starling=0
if [ "${1:-}" = --starling ]; then with_starling=1; shift; fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# Starts a 3-node cluster of $1 (redis|starling) and sets $cluster_seeds.
# It runs in this shell (not in a command substitution) so that the nodes
# are this shell's jobs and the exit trap stops them.
start_cluster() {
  local kind=$1 ports=() addresses=()
  for i in 0 1 2; do
    ports+=("$(free_cluster_port)")
    start_node "$kind" "${ports[$i]}" "$work/$kind-$i"
    wait_for_ping "${ports[$i]}"
    addresses+=("127.0.0.1:${ports[$i]}")
  done
  redis-cli --cluster create "${addresses[@]}" --cluster-yes >/dev/null
  wait_converged 3 "${ports[@]}"
  cluster_seeds=$(IFS=,; echo "${addresses[*]}")
}

port=$(free_port); start_redis "$port" >/dev/null; wait_for_ping "$port"
export REDIS_STANDALONE=127.0.0.1:$port
start_cluster redis
export REDIS_CLUSTER=$cluster_seeds
echo "REDIS_STANDALONE=$REDIS_STANDALONE"
echo "REDIS_CLUSTER=$REDIS_CLUSTER"
if [ $with_starling = 1 ]; then
  [ -x "$STARLING_BIN" ] || { echo "build $STARLING_BIN first: cargo build --release -p starling-node" >&2; exit 1; }
  port=$(free_port); start_starling "$port" "${STARLING_SHARDS:-$(nproc)}" >/dev/null; wait_for_ping "$port"
  export STARLING_STANDALONE=127.0.0.1:$port
  start_cluster starling
  export STARLING_CLUSTER=$cluster_seeds
  echo "STARLING_STANDALONE=$STARLING_STANDALONE"
  echo "STARLING_CLUSTER=$STARLING_CLUSTER"
fi

if [ $# -gt 0 ]; then
  "$@"
  exit $?
fi
echo "peers running; Ctrl-C stops them"
while true; do sleep 3600; done
