#!/usr/bin/env bash
# Data-type throughput: redis-benchmark's list, set, hash and sorted-set
# tests against starling-server and redis-server, at -P 1 and -P 16
# (bench/ab.sh measures them in alternation). The issue's command is one
# redis-benchmark run of all ten tests; its tests that share a key run here
# together, in its order, on a flushed server (LPOP and RPOP pop what LPUSH
# and RPUSH pushed, SPOP what SADD added, ZPOPMIN what ZADD added), so every
# test sees the data it would see in the single run, and the servers
# alternate five times as often.
#
#   cargo build --release -p starling-node
#   bench/datatypes.sh        # or: ROUNDS=5 SHARDS="1 2" REQUESTS=500000 bench/datatypes.sh
#   UNITS="sadd hset" PIPELINES=1 bench/datatypes.sh   # some tests only
UNITS=${UNITS:-"lpush,rpush,lpop,rpop sadd,spop hset zadd,zpopmin lrange_100"} BENCH_ARGS="-r 100000" \
  REQUESTS=${REQUESTS:-500000} SHARDS=${SHARDS:-1} ROUNDS=${ROUNDS:-3} exec "$(dirname "$0")/ab.sh"
