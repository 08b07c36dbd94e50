#!/usr/bin/env bash
# Render report.html from every run fixture (tests/fixtures/runs/*.json and
# tests/fixtures/html/*.json) and open each in headless Chromium offline (tests/browser): no
# request leaves the page, no console or page error, one section per scenario, every chart,
# hostile text shown as text and never as markup. Compare pages (`harness compare --html`) of the
# real runs and of the hostile fixture too, with JavaScript on and off. Screenshots land in
# $HX_BUILD_ROOT/browser/.
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
compares=()
for run in "$src"/tests/fixtures/runs/*.json "$src"/tests/fixtures/html/*.json; do
    name=$(basename "$run" .json)
    html="$out/$name.html"
    "$driver" "$run" "$html" || fail "$name: the HTML writer failed"
    pairs+=("$run" "$html")
done

# Real runs too: the hostile solution (its name, stdout and stderr carry markup, ]]> and invalid
# UTF-8) and the six-scenario pack with the reference solution, as `harness run` writes them.
if [ -n "${HARNESS_BIN:-}" ]; then
    pack="$src/scenarios/ecommerce-etl-foundation"
    CI=1 "$HARNESS_BIN" run "$pack" --solution "$src/tests/solutions/hostile" --probe 0 --scenario baseline \
        --out "$out/run-hostile" 2>/dev/null || true
    CI=1 "$HARNESS_BIN" run "$pack" --probe 0 \
        --solution "$src/examples/solutions/ecommerce-etl-foundation/setbased" \
        --out "$out/run-setbased" 2>/dev/null || true
    for r in run-hostile run-setbased; do
        [ -s "$out/$r/report.html" ] || fail "$r: harness run wrote no report.html"
        cp "$out/$r/report.html" "$out/$r.html" # screenshots are named after the file
        pairs+=("$out/$r/run.json" "$out/$r.html")
    done
    size=$(stat -c %s "$out/run-setbased/report.html")
    [ "$size" -lt 1048576 ] || fail "the six-scenario report is $size bytes, over 1 MB"

    # Compare pages from the same runs (no new run): the reference solution against the hostile
    # one (flipped checks, scenarios only in base, real deltas, a tripped gate), and the hostile
    # fixture as head of mixed.json (markup, ]]> and invalid UTF-8 in every name).
    cmp() { # cmp BASE HEAD NAME WANT_EXIT
        rc=0
        "$HARNESS_BIN" compare "$1" "$2" --html "$out/$3.html" --fail-on checks \
            --fail-on cost.monthly.usd:+10% >/dev/null 2>&1 || rc=$?
        [ "$rc" -eq "$4" ] || fail "$3: harness compare exited $rc, want $4"
        compares+=(--compare "$1" "$2" "$out/$3.html")
    }
    cmp "$out/run-setbased/run.json" "$out/run-hostile/run.json" compare-runs 1
    cmp "$src/tests/fixtures/runs/mixed.json" "$src/tests/fixtures/runs/hostile.json" compare-hostile 1
fi

HX_CHROMIUM="$chromium" HX_ARTIFACTS="$out" node "$browser/browser.test.js" "${pairs[@]}" \
    "${compares[@]}" || fail "the browser check failed (see above)"
echo "transcript_browser: ok ($(( ${#pairs[@]} / 2 )) reports, $(( ${#compares[@]} / 4 )) compare pages, screenshots in $out)"
