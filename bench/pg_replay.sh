#!/bin/sh
# PostgreSQL replay (replay_pg, COPY mode) against `psql \copy` of the same rows into the same
# server, plus pipelined OLTP rows/s. Usage: bench/pg_replay.sh [ROWS] [OLTP_ROWS]
# Uses the build dir next to $HARNESS_BIN when set, else $HX_BUILD_DIR, else ./build-bench (set up
# on first use, release build). $HX_PG_URL benchmarks against a real server instead of the
# embedded one.
set -eu
ROWS=${1:-1000000}
OLTP_ROWS=${2:-200000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
hx_bench_build bench/pg_replay_bench
exec "$BUILD/bench/pg_replay_bench" --rows "$ROWS" --oltp-rows "$OLTP_ROWS" ${HX_PG_URL:+--pg "$HX_PG_URL"}
