#!/bin/sh
# Generator throughput: `harness gen` (orders with duplicates, late arrivals, nulls and corrupt
# lines, CSV to /dev/null, sha256 of the bytes included) next to plain lua5.4 writing the same
# shape with string.format. Prints rows/s for both and the ratio. Target: >= 10x.
#   bench/gen_bench.sh [BUILD_DIR]       RUNS=n pairs of runs (default 3)
# Each Lua run follows its harness run at once, so both sides of a ratio see the same load; the
# summary is the median of the runs' ratios (on a shared machine single runs are noisy). Beside
# wall-clock rows/s each side's CPU seconds are shown: harness gen uses every core (worker
# threads), Lua one, and CPU time is what other load on the machine disturbs least.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
BIN="$B/harness/harness"
[ -x "$BIN" ] || { echo "build first: meson setup $B && ninja -C $B" >&2; exit 2; }
ROWS=2000000
RUNS=${RUNS:-3}
T=$(mktemp)
trap 'rm -f "$T" "$T.0" "$T.1" "$T.2"' EXIT
now() { date +%s.%N; }
# User + system seconds of the finished children, from a `times` listing (second line).
cpu() {
    awk 'NR == 2 { gsub(/s/, ""); split($1, u, "m"); split($2, s, "m")
                   printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}

ratios=""
i=1
while [ "$i" -le "$RUNS" ]; do
    times >"$T.0"
    t0=$(now)
    "$BIN" -q gen bench/gen_pack/orders.lua --dataset orders --format csv --out /dev/null 2>/dev/null
    t1=$(now)
    times >"$T.1"
    lua5.4 bench/gen_plain.lua "$ROWS" >/dev/null
    t2=$(now)
    times >"$T.2"
    ratio=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.1f", (c - b) / (b - a) }')
    ratios="$ratios $ratio"
    awk -v r="$ROWS" -v a="$t0" -v b="$t1" -v c="$t2" -v i="$i" -v x="$ratio" \
        -v c0="$(cpu "$T.0")" -v c1="$(cpu "$T.1")" -v c2="$(cpu "$T.2")" 'BEGIN {
        printf "run %d: harness gen %9.0f rows/s (%.2f s, %.2f s CPU)   " \
               "lua5.4 %8.0f rows/s (%.2f s, %.2f s CPU)   %sx\n",
            i, r / (b - a), b - a, c1 - c0, r / (c - b), c - b, c2 - c1, x }'
    i=$((i + 1))
done
echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END {
    printf "ratio: %.1fx, the median of %d runs (%.1fx .. %.1fx); target >= 10x\n",
        v[int((NR + 1) / 2)], NR, v[1], v[NR] }'
