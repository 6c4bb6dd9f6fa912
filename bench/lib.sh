# Shared helpers for the benchmark scripts (sourced, not run).
set -euo pipefail

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until a server answers PING on port $1.
wait_for_ping() {
  for _ in $(seq 1 200); do
    if [ "$(redis-cli -p "$1" PING 2>/dev/null)" = "PONG" ]; then return 0; fi
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2
  return 1
}

# Starts redis-server (Debian package) without persistence; prints its pid.
start_redis() {
  local port=$1
  redis-server --port "$port" --save '' --appendonly no --daemonize no --logfile /dev/null >/dev/null 2>&1 &
  echo $!
}

# Starts starling-server from the release build; prints its pid.
start_starling() {
  local port=$1 shards=$2
  "$STARLING_BIN" --port "$port" --shards "$shards" --loglevel warning >/dev/null 2>&1 &
  echo $!
}

# Starts a cluster-enabled node (kind: starling or redis) in the background.
start_node() { # kind port dir
  local kind=$1 port=$2 dir=$3
  mkdir -p "$dir"
  if [ "$kind" = starling ]; then
    # STARLING_LOGLEVEL=starling_node::migration=info STARLING_LOG=file keeps the nodes' logs.
    "$STARLING_BIN" --port "$port" --shards 1 --cluster-enabled yes --dir "$dir" \
      --loglevel "${STARLING_LOGLEVEL:-warning}" >/dev/null 2>>"${STARLING_LOG:-/dev/null}" &
  else
    (cd "$dir" && exec redis-server --port "$port" --cluster-enabled yes --cluster-config-file nodes.conf \
      --save '' --appendonly no --logfile /dev/null >/dev/null 2>&1) &
  fi
}

now_ms() { date +%s%3N; }

# A free port p below 55536 whose cluster bus port p+10000 is free too
# (Redis requires both; Starling uses p+10000 for UDP gossip).
free_cluster_port() {
  python3 -c '
import random, socket
while True:
    port = random.randint(20000, 55000)
    try:
        for candidate, kind in ((port, socket.SOCK_STREAM), (port + 10000, socket.SOCK_STREAM), (port + 10000, socket.SOCK_DGRAM)):
            s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", candidate)); s.close()
        print(port); break
    except OSError:
        continue
'
}

# Waits until every port in "$@" lists $expected nodes with cluster_state:ok.
wait_converged() {
  local expected=$1; shift
  for _ in $(seq 1 2000); do
    local all=1
    for port in "$@"; do
      local info; info=$(redis-cli -p "$port" CLUSTER INFO 2>/dev/null | tr -d '\r')
      echo "$info" | grep -q "cluster_known_nodes:$expected" || all=0
      echo "$info" | grep -q "cluster_state:ok" || all=0
    done
    [ $all = 1 ] && return 0
    sleep 0.01
  done
  echo "cluster on $* did not converge" >&2; return 1
}

STARLING_BIN=${STARLING_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/release/starling-server}

# Waits until the native migration on the node at port $1 has ended. One
# redis-cli polls every 10 ms on one connection (-r -1 -i 0.01): starting a
# redis-cli per poll would cost the machine more CPU than the poll measures.
wait_migration_ended() { # port
  redis-cli -p "$1" -r -1 -i 0.01 CLUSTER GETSLOTMIGRATIONS 2>/dev/null |
    grep -m1 -qE '^(success|failed|cancelled)$' || true
}
