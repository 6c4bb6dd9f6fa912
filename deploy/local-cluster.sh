#!/usr/bin/env bash
# Starts a local Starling cluster: N nodes on one machine, every hash slot
# assigned, ready for cluster clients.
#
#   deploy/local-cluster.sh start [-n NODES] [-p FIRST_PORT] [-d DATA_DIR] [--bare]
#   deploy/local-cluster.sh status [-d DATA_DIR]
#   deploy/local-cluster.sh stop   [-d DATA_DIR]
#
# start: node i listens on FIRST_PORT+i (clients) and FIRST_PORT+i+10000
# (gossip, UDP), keeps its state in DATA_DIR/node-<port> and logs there.
# The nodes find each other through --cluster-seeds (the first node's gossip
# port); the slots are split evenly with CLUSTER ADDSLOTSRANGE, and the
# script waits until every node reports cluster_state:ok. Started again on
# the same DATA_DIR, the nodes come back with their ids and slots.
#
# --bare starts fresh nodes without seeds or slots, for
#   redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --cluster-yes
#
# Every node serves the dashboard on its port + 1000 (7000 -> 8000). Its
# actions need the admin token: $STARLING_ADMIN_TOKEN if set, else one made
# up on the first start and kept in DATA_DIR/admin-token.
#
# Defaults: 3 nodes, ports 7000..., DATA_DIR ./local-cluster. The binary is
# $STARLING_BIN, else target/release/starling-server (built if missing).
# Needs redis-cli (Debian: apt-get install redis-tools).
set -euo pipefail

command=${1:-start}
shift || true
nodes=3
first_port=7000
data_dir=./local-cluster
bare=no
while [ $# -gt 0 ]; do
  case $1 in
    -n) nodes=$2; shift 2 ;;
    -p) first_port=$2; shift 2 ;;
    -d) data_dir=$2; shift 2 ;;
    --bare) bare=yes; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
binary=${STARLING_BIN:-$repo/target/release/starling-server}

ports() { seq "$first_port" $((first_port + nodes - 1)); }

wait_for() { # wait_for <seconds> <description> <command...>
  local limit=$1 description=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out waiting for $description" >&2
      exit 1
    fi
    sleep 0.2
  done
}

cluster_field() { # cluster_field <port> <field>
  redis-cli -p "$1" CLUSTER INFO | tr -d '\r' | sed -n "s/^$2://p"
}

cluster_ok() { [ "$(cluster_field "$1" cluster_state)" = ok ]; }
knows_all() { [ "$(cluster_field "$1" cluster_known_nodes)" = "$nodes" ]; }

start() {
  command -v redis-cli >/dev/null || { echo "redis-cli is required (apt-get install redis-tools)" >&2; exit 1; }
  if [ ! -x "$binary" ]; then
    echo "building $binary"
    (cd "$repo" && cargo build --release -p starling-node)
  fi
  mkdir -p "$data_dir"
  local token_file=$data_dir/admin-token
  if [ -n "${STARLING_ADMIN_TOKEN:-}" ]; then
    printf '%s' "$STARLING_ADMIN_TOKEN" >"$token_file"
  elif [ ! -s "$token_file" ]; then
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file"
  fi
  chmod 600 "$token_file"
  local seed_port=$((first_port + 10000))
  for port in $(ports); do
    local dir=$data_dir/node-$port
    mkdir -p "$dir"
    local seeds=()
    if [ $bare = no ] && [ "$port" != "$first_port" ]; then
      seeds=(--cluster-seeds "127.0.0.1:$seed_port")
    fi
    "$binary" --port "$port" --cluster-enabled yes --dir "$dir" "${seeds[@]}" \
      --admin-token "$(cat "$token_file")" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
  done
  for port in $(ports); do
    wait_for 10 "node $port to listen" redis-cli -p "$port" PING
  done
  if [ $bare = yes ]; then
    echo "started $nodes fresh nodes; form the cluster with:"
    echo "  redis-cli --cluster create $(for port in $(ports); do printf '127.0.0.1:%s ' "$port"; done)--cluster-yes"
    return
  fi
  for port in $(ports); do
    wait_for 30 "node $port to meet the others" knows_all "$port"
  done
  if [ "$(cluster_field "$first_port" cluster_slots_assigned)" = 0 ]; then
    local index=0 share=$((16384 / nodes))
    for port in $(ports); do
      local start_slot=$((index * share)) end_slot=$(((index + 1) * share - 1))
      [ $((index + 1)) = "$nodes" ] && end_slot=16383
      redis-cli -p "$port" CLUSTER ADDSLOTSRANGE "$start_slot" "$end_slot" >/dev/null
      index=$((index + 1))
    done
  fi
  for port in $(ports); do
    wait_for 30 "node $port to report cluster_state:ok" cluster_ok "$port"
  done
  echo "cluster ready: $nodes nodes on ports $first_port-$((first_port + nodes - 1)), every slot assigned"
  echo "  redis-cli -c -p $first_port"
  echo "  dashboard: http://127.0.0.1:$((first_port + 1000))/ (admin token in $token_file)"
}

status() {
  for dir in "$data_dir"/node-*; do
    [ -f "$dir/pid" ] || continue
    local port=${dir##*/node-}
    if kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "node $port: running, $(cluster_field "$port" cluster_state | sed 's/^/cluster_state:/')"
    else
      echo "node $port: stopped"
    fi
  done
}

stop() {
  for dir in "$data_dir"/node-*; do
    [ -f "$dir/pid" ] || continue
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
  done
  echo "stopped"
}

case $command in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start|status|stop [-n NODES] [-p FIRST_PORT] [-d DATA_DIR] [--bare]" >&2; exit 2 ;;
esac
