#!/bin/sh
# The whole test suite, as CI runs it: set up, then the suite twice (plain and under
# AddressSanitizer + UndefinedBehaviorSanitizer), the plugin loader and worker protocol under
# valgrind (the forked workers included), then each fuzz target briefly.
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh --tests

echo "== clang-format" >&2
tools/format.sh --check

echo "== plain build" >&2
meson test -C build --print-errorlogs --num-processes 2

echo "== valgrind: plugin loader and workers" >&2
meson test -C build --print-errorlogs --timeout-multiplier 4 \
    --wrapper "valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite" plug

echo "== ASan + UBSan build" >&2
[ -f build-asan/build.ninja ] ||
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan >/dev/null
meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3

echo "== fuzz targets (${FUZZ_SECONDS:-20}s each)" >&2
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null
ninja -C build-fuzz >/dev/null
for t in build-fuzz/tests/fuzz/fuzz_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue # not the fuzz_*.p object folders
    name=$(basename "$t")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    mkdir -p "build-fuzz/corpus-$name"
    echo "fuzz: $name" >&2
    "$t" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 "build-fuzz/corpus-$name" \
        $( [ -d "$corpus" ] && echo "$corpus" ) 2>"build-fuzz/$name.log" ||
        { tail -40 "build-fuzz/$name.log" >&2; exit 1; }
done
echo "all tests passed" >&2
