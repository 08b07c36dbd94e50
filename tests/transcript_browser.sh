#!/usr/bin/env bash
# Render report.html from every run fixture (tests/fixtures/runs/*.json and
# tests/fixtures/html/*.json) and open each in headless Chromium offline (tests/browser): no
# request leaves the page, no console or page error, one section per scenario, every chart,
# hostile text shown as text and never as markup. Screenshots land in $HX_BUILD_ROOT/browser/.
# usage: transcript_browser.sh HTML_DRIVER   (env: HX_SOURCE_ROOT, HX_BUILD_ROOT)
set -euo pipefail
driver=${1:?usage: transcript_browser.sh path/to/html_driver}
src=${HX_SOURCE_ROOT:?HX_SOURCE_ROOT is not set; run through meson test}
build=${HX_BUILD_ROOT:-$PWD}
browser="$src/tests/browser"
chromium=${HX_CHROMIUM:-/usr/bin/chromium}

fail() { echo "transcript_browser: FAIL: $*" >&2; exit 1; }

[ -x "$chromium" ] || fail "chromium is missing at '$chromium' (apt-get install chromium, or set HX_CHROMIUM)"
command -v node >/dev/null || fail "node is not installed; the browser check needs Node.js 18 or later"
if [ ! -d "$browser/node_modules/playwright-core" ]; then
    echo "transcript_browser: installing playwright-core (npm ci in tests/browser)" >&2
    command -v npm >/dev/null || fail "npm is not installed and tests/browser/node_modules is missing"
    if ! (cd "$browser" && npm ci --no-audit --no-fund >&2); then
        rm -rf "$browser/node_modules"
        fail "npm ci failed in tests/browser (is the npm registry reachable?); the browser check cannot run"
    fi
fi

out="$build/browser"
mkdir -p "$out"
pairs=()
for run in "$src"/tests/fixtures/runs/*.json "$src"/tests/fixtures/html/*.json; do
    name=$(basename "$run" .json)
    html="$out/$name.html"
    "$driver" "$run" "$html" || fail "$name: the HTML writer failed"
    pairs+=("$run" "$html")
done

HX_CHROMIUM="$chromium" HX_ARTIFACTS="$out" node "$browser/browser.test.js" "${pairs[@]}" ||
    fail "the browser check failed (see above)"
echo "transcript_browser: ok ($(( ${#pairs[@]} / 2 )) reports, screenshots in $out)"
