#!/bin/sh
# sampler_overhead.sh - the resource sampler's own CPU at 10 Hz (target: under 1% of a core),
# beside `top -b -d 0.1` watching the same kind of tree for the same time as the peer.
# usage: bench/sampler_overhead.sh [BUILD_DIR=build] [SECONDS=10] [CHILDREN=8]
set -eu
build=${1:-build}
secs=${2:-10}
kids=${3:-8}
ninja -C "$build" bench/sampler_overhead >/dev/null
echo "processes on this machine: $(ls /proc | grep -c '^[0-9]')"
"$build/bench/sampler_overhead" "$secs" "$kids"
if command -v top >/dev/null 2>&1; then
    sh -c 'while :; do sleep 1000; done' &
    tree=$!
    n=$(awk "BEGIN { print int($secs * 10) }")
    # CPU of top itself, from the shell's accounting of finished children.
    before=$(awk '{ print $16 + $17 }' /proc/$$/stat)
    top -b -d 0.1 -n "$n" -p "$tree" >/dev/null
    after=$(awk '{ print $16 + $17 }' /proc/$$/stat)
    kill "$tree"
    tck=$(getconf CLK_TCK)
    awk -v t=$((after - before)) -v tck="$tck" -v s="$secs" \
        'BEGIN { printf "peer: top -b -d 0.1 for %ss: %.3fs CPU = %.3f%% of a core\n", s, t / tck, 100 * t / tck / s }'
fi
