# bench/lib.sh - sourced by the bench scripts (after setting ROOT to the repository).
# hx_bench_build TARGET...: sets BUILD to the build dir next to $HARNESS_BIN when set, else
# $HX_BUILD_DIR, else $ROOT/build-bench (set up on first use, release build), and builds the
# ninja targets named.
hx_bench_build() {
    if [ -n "${HARNESS_BIN:-}" ]; then
        BUILD=$(cd "$(dirname "$HARNESS_BIN")/.." && pwd)
    else
        BUILD=${HX_BUILD_DIR:-$ROOT/build-bench}
    fi
    [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
    ninja -C "$BUILD" "$@" >/dev/null
}
