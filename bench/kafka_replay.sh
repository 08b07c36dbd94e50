#!/bin/sh
# Kafka replay (replay_kafka) against a plain librdkafka producer and `kcat -P` sending the same
# `harness gen --format jsonl` messages into the same cluster, in one run (bench/README.md "Kafka
# replay"). Usage: bench/kafka_replay.sh [ROWS=1000000] [ROUNDS=3]
# Uses the build dir next to $HARNESS_BIN when set, else $HX_BUILD_DIR, else ./build-bench (set up
# on first use, release build). $HX_KAFKA (host:port) benchmarks against a real cluster instead of
# the embedded mock.
set -eu
ROWS=${1:-1000000}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
hx_bench_build bench/kafka_replay_bench
command -v kcat >/dev/null || { echo "kafka_replay.sh: kcat is not installed (apt-get install kcat)" >&2; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$BUILD/bench/kafka_replay_bench" --rows "$ROWS" --rounds "$ROUNDS" ${HX_KAFKA:+--bootstrap "$HX_KAFKA"}
