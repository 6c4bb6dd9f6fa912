#!/usr/bin/env bash
# Throughput: redis-benchmark SET and GET against starling-server (every
# --shards value given, default "1 2") and redis-server, at -P 1 and -P 16,
# measured in alternation by bench/ab.sh.
#
#   cargo build --release -p starling-node
#   bench/throughput.sh            # or: ROUNDS=5 SHARDS="1 2 4" REQUESTS=1000000 bench/throughput.sh
UNITS=set,get BENCH_ARGS="-r 1000000 -d 16" REQUESTS=${REQUESTS:-1000000} SHARDS=${SHARDS:-"1 2"} ROUNDS=${ROUNDS:-3} \
  exec "$(dirname "$0")/ab.sh"
