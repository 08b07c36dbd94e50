#!/bin/sh
# A pass-through stream of ROWS orders (default 3,000,000) at RATE records/s (default 30,000) on
# the embedded mock cluster with its defaults: `harness run` of a generated one-scenario pack
# (orders replayed into a topic while tests/helpers/kafka_stream.c forwards each one to an output
# topic, a keyed `topic` check of all of them against the ledger, live latency). The input topic
# gets KAFKASVC_PACED_PARTITIONS partitions and the replay sends only what the answers show was
# read; the check reads the output topic from the live consumer's spool (docs/scenarios.md
# "Streaming"). Prints the run's verdict, wall time, peak memory and its stream metrics.
# Usage: bench/kafka_volume.sh [ROWS] [RATE] [LINGER_MS=5, the service's producer linger.ms]
# Uses the build dir next to $HARNESS_BIN when set, else $HX_BUILD_DIR, else ./build-bench (set up
# on first use, release build).
set -eu
ROWS=${1:-3000000}
RATE=${2:-30000}
LINGER=${3:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
hx_bench_build harness/harness tests/helpers/hx_kafka_stream
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 711 "$T"
mkdir -p "$T/pack" "$T/sol"
cat >"$T/pack/challenge.lua" <<'LUA'
return challenge {
  name = "kafka-volume", level = "test",
  description = "Forward a large orders topic into another topic as it comes.",
  sources = { "kafka" }, sinks = { "kafka" },
}
LUA
cat >"$T/pack/volume.lua" <<LUA
local orders = dataset {
  rows = $ROWS, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "status", "categorical", values = { "placed", "paid" } },
  },
}
return scenario {
  name = "volume", seed = 11,
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "3600s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "orders", topic = "orders", rate = $RATE },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid():dedup("id"),
            columns = { "id", "amount", "status" }, name = "orders_out matches the ledger" },
  },
}
LUA
cp "$ROOT/tests/solutions/kafka_stream/serve.sh" "$BUILD/tests/helpers/hx_kafka_stream" "$T/sol/"
cat >"$T/sol/solution.json" <<JSON
{ "name": "kafka_stream",
  "service": { "command": "exec sh ./serve.sh", "ready": { "stdout": "consuming" }, "drain": "30s" },
  "env": { "LINGER_MS": "$LINGER", "HX_KAFKA_STREAM": "./hx_kafka_stream" } }
JSON
chmod -R a+rX "$T/sol"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$ROWS orders at $RATE/s, the service's linger.ms $LINGER"
t0=$(date +%s.%N)
rc=0
/usr/bin/env time -f "peak RSS %M KB" "$BUILD/harness/harness" run "$T/pack" --solution "$T/sol" \
    --sandbox none -o "$T/run" -q 2>"$T/err" || rc=$?
t1=$(date +%s.%N)
echo "exit $rc in $(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }') s; $(tail -1 "$T/err")"
[ "$rc" = 0 ] || cat "$T/err" >&2
if [ -f "$T/run/run.json" ]; then
    jq -r '.scenarios[0] | (.checks[] | "check: \(.name): \(.status) \(.message // "")"),
        (.metrics[] | select(.name | test("^(replay\\.(records|seconds|records_per_s)|latency\\.e2e\\.(p50|p99|matched|unmatched)|latency\\.e2e\\.uncorrected\\.p99)$"))
         | "\(.name) \(.value)")' "$T/run/run.json"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
