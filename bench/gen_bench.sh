#!/bin/sh
# Generator throughput: `harness gen` (orders with duplicates, late arrivals, nulls and corrupt
# lines, CSV to /dev/null, sha256 of the bytes included) next to plain lua5.4 writing the same
# shape with string.format. Prints rows/s for both and the ratio. Target: >= 10x.
#   bench/gen_bench.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
BIN="$B/harness/harness"
[ -x "$BIN" ] || { echo "build first: meson setup $B && ninja -C $B" >&2; exit 2; }
ROWS=2000000
now() { date +%s.%N; }

t0=$(now)
"$BIN" -q gen bench/gen_pack/orders.lua --dataset orders --format csv --out /dev/null 2>/dev/null
t1=$(now)
lua5.4 bench/gen_plain.lua "$ROWS" >/dev/null
t2=$(now)
awk -v r="$ROWS" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    h = r / (b - a); l = r / (c - b);
    printf "harness gen : %9.0f rows/s (%.2f s)\n", h, b - a;
    printf "lua5.4      : %9.0f rows/s (%.2f s)\n", l, c - b;
    printf "ratio       : %.1fx (target >= 10x)\n", h / l }'
