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

STARLING_BIN=${STARLING_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/release/starling-server}
