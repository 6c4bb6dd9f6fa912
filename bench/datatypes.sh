#!/usr/bin/env bash
# Data-type throughput: redis-benchmark's list, set, hash and sorted-set
# tests against starling-server and redis-server, at -P 1 and -P 16, each
# test alone on a flushed server (bench/ab.sh measures them in alternation).
#
#   cargo build --release -p starling-node
#   bench/datatypes.sh        # or: ROUNDS=5 SHARDS="1 2" REQUESTS=500000 bench/datatypes.sh
TESTS=${TESTS:-lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100}
UNITS=${TESTS//,/ } BENCH_ARGS="-r 100000" REQUESTS=${REQUESTS:-500000} SHARDS=${SHARDS:-1} ROUNDS=${ROUNDS:-3} \
  exec "$(dirname "$0")/ab.sh"
