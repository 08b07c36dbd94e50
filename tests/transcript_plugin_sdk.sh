#!/bin/sh
# transcript_plugin_sdk.sh - the plugin SDK works out of tree: install the project into a temp
# dir, build plugins/example on its own with only the installed harness-plugin.pc, and load the
# result with the real loader (tests/plugin_sdk_load, linked against the plug module).
# Needs: HX_SOURCE_ROOT, HX_BUILD_ROOT (set by meson test), meson, ninja, pkg-config.
set -eu
src=${HX_SOURCE_ROOT:?}
bld=${HX_BUILD_ROOT:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

meson install -C "$bld" --no-rebuild --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$tmp/dest" -name harness-plugin.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: harness-plugin.pc was not installed"; exit 1; }
hdr=$(find "$tmp/dest" -path '*/include/harness/plugin.h' | head -n 1)
[ -n "$hdr" ] || { echo "FAIL: harness/plugin.h was not installed"; exit 1; }
echo "installed: ${pc#$tmp/dest} ${hdr#$tmp/dest}"

# The installed .pc names the real prefix; point pkg-config into the destdir instead.
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$tmp/dest"
if pkg-config --libs harness-plugin | grep -q -- '-l'; then
    echo "FAIL: harness-plugin must not link anything: $(pkg-config --libs harness-plugin)"
    exit 1
fi

cp -r "$src/plugins/example" "$tmp/example"
(cd "$tmp/example" && meson setup build >"$tmp/setup.log" 2>&1 && ninja -C build >"$tmp/ninja.log" 2>&1) ||
    { cat "$tmp/setup.log" "$tmp/ninja.log" 2>/dev/null; echo "FAIL: out-of-tree build"; exit 1; }
so="$tmp/example/build/example.so"
[ -f "$so" ] || { echo "FAIL: no example.so"; exit 1; }
# The plugin exports exactly one symbol of its own.
exported=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }')
[ "$exported" = "harness_plugin_entry" ] || { echo "FAIL: exports: $exported"; exit 1; }

"$bld/tests/plugin_sdk_load" "$so"
echo "PASS: built out of tree and loaded"
