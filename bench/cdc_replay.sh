#!/bin/sh
# The change replay (mode = "changes", unpaced) against a plain libpq pipeline loop sending the
# same statements (recorded from the replay) in the same transactions on the same server, peer and
# replay alternating. Usage: bench/cdc_replay.sh [ROWS=200000] [ROUNDS=1] [MIX...]
# MIX: narrow, mixed, large (default all). Uses the build dir next to $HARNESS_BIN when set, else
# $HX_BUILD_DIR, else ./build-bench (set up on first use, release build). $HX_PG_URL benchmarks
# against a real server instead of the embedded one.
set -eu
ROWS=${1:-200000}
ROUNDS=${2:-1}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
hx_bench_build bench/cdc_replay_bench
MIXES=
for m in "$@"; do MIXES="$MIXES --mix $m"; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"$BUILD/bench/cdc_replay_bench" --rows "$ROWS" --rounds "$ROUNDS" $MIXES ${HX_PG_URL:+--pg "$HX_PG_URL"}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
