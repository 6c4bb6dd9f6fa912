#!/usr/bin/env bash
# starling-bench compare: Starling against redis-server (Debian package) on
# this machine, standalone and as 3-node clusters, with a read-mostly mix.
# loadtest/peers.sh starts every server on free ports; targets alternate
# round by round; ratios are Starling ÷ Redis.
#
#   cargo build --release -p starling-node -p starling-loadtest
#   bench/compare.sh     # or: DURATION=10s ROUNDS=5 MIX=get=1 bench/compare.sh
here=$(cd "$(dirname "$0")/.." && pwd)
export BENCH_BIN=${BENCH_BIN:-$here/target/release/starling-bench}
export DURATION=${DURATION:-5s} ROUNDS=${ROUNDS:-3} MIX=${MIX:-get=8,set=1,incr=1}
exec "$here/loadtest/peers.sh" --starling bash -c '
set -euo pipefail
for pipeline in 1 16; do
  echo "### standalone, -c 50 -P $pipeline, --mix $MIX, $ROUNDS rounds of $DURATION"
  "$BENCH_BIN" compare --target "starling=$STARLING_STANDALONE" --target "redis=$REDIS_STANDALONE" \
    -c 50 -P "$pipeline" --mix "$MIX" --duration "$DURATION" --rounds "$ROUNDS" --quiet
  echo
  echo "### 3-node cluster, -c 50 -P $pipeline, --mix $MIX, $ROUNDS rounds of $DURATION"
  "$BENCH_BIN" compare --target "starling=$STARLING_CLUSTER" --target "redis=$REDIS_CLUSTER" \
    -c 50 -P "$pipeline" --mix "$MIX" --duration "$DURATION" --rounds "$ROUNDS" --quiet
  echo
done
'
