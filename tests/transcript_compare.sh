#!/bin/sh
# transcript_compare.sh - `harness compare` on real run.json files: a head derived from the pass
# fixture (one check flips, cost +12.5%, wall +20%, score -6.5), each output format, the gates and
# the exit codes (0 nothing tripped, 1 a gate tripped, 2 usage or unreadable file).
set -u
: "${HARNESS_BIN:?}" "${HX_SOURCE_ROOT:?}"
F="$HX_SOURCE_ROOT/tests/fixtures/runs"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
. "$HX_SOURCE_ROOT/tests/lib.sh" # hx_valid_comparejson

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# expect CODE DESC CMD...: run CMD (stdout to $T/out, stderr to $T/err), check its exit code.
expect() {
    want=$1 desc=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$desc: exit $got, want $want"
        sed 's/^/  | /' "$T/err"
    fi
}

has() { # has FILE TEXT DESC
    grep -qF -- "$2" "$1" || { fail "$3: no '$2' in $(basename "$1")"; sed 's/^/  | /' "$1" | head -40; }
}

hasnt() {
    if grep -qF -- "$2" "$1"; then fail "$3: unexpected '$2'"; fi
}

# head: same run, "daily_sales total" now fails, monthly cost 0.036 -> 0.0405, wall 4.2 -> 5.04,
# run score 96.5 -> 90. Edited with sed on the fixture's known lines so no JSON tool is needed.
awk '
    /"name": "daily_sales total"/ { in_check = 1 }
    in_check && /"status": "pass"/ { sub(/"pass"/, "\"fail\""); in_check = 0 }
    /"monthly_total": 0.036/ { sub(/0.036/, "0.0405") }
    /"value": 4.2,/ { sub(/4.2/, "5.04") }
    /"value": 96.5,/ { sub(/96.5/, "90") }
    { print }
' "$F/pass.json" >"$T/head.json"

C="$HARNESS_BIN compare"

expect 0 "same run, no gates" $C "$F/pass.json" "$F/pass.json"
has "$T/out" "scenarios: 1 compared, 0 added, 0 removed" "terminal summary"
hasnt "$T/out" "newly failing" "same run has no flips"

expect 0 "terminal, no gates" $C "$F/pass.json" "$T/head.json"
has "$T/out" "check 'daily_sales total': pass -> fail  newly failing" "terminal flip"
has "$T/out" "+12.5%" "terminal cost percent"
has "$T/out" "score: 96.5 -> 90 (-6.5, -6.7%)" "terminal score"
# Not a TTY: no colour.
if grep -q "$(printf '\033')" "$T/out"; then fail "colour written to a pipe"; fi

expect 1 "checks gate" $C "$F/pass.json" "$T/head.json" --fail-on checks
has "$T/err" "gate 'checks' tripped: check 'daily_sales total' in 'baseline' is newly failing" \
    "checks gate message"
expect 0 "checks gate, reverse direction fixes the check" $C "$T/head.json" "$F/pass.json" \
    --fail-on checks

expect 1 "cost gate +10%" $C "$F/pass.json" "$T/head.json" --fail-on cost.monthly.usd:+10%
has "$T/err" "cost.aws-us-east-1.monthly.usd +12.5% in 'baseline'" "cost gate names the model"
expect 0 "cost gate at +12.5% (boundary)" $C "$F/pass.json" "$T/head.json" \
    --fail-on cost.monthly.usd:+12.5%
expect 0 "wall gate at +20% (boundary)" $C "$F/pass.json" "$T/head.json" \
    --fail-on solution.wall.max:+20%
expect 1 "wall gate +19%" $C "$F/pass.json" "$T/head.json" --fail-on solution.wall.max:+19%
expect 1 "score gate -5" $C "$F/pass.json" "$T/head.json" --fail-on score:-5
has "$T/err" "run score dropped 6.5 points (96.5 -> 90), more than 5" "score gate message"
expect 0 "score gate -6.5 (boundary)" $C "$F/pass.json" "$T/head.json" --fail-on score:-6.5
expect 0 "latency gate, no histogram" $C "$F/pass.json" "$T/head.json" \
    --fail-on latency.e2e.p99:+0%

expect 1 "markdown with gates" $C --md "$F/pass.json" "$T/head.json" --fail-on checks \
    --fail-on score:-10
has "$T/out" "## harness compare" "md title"
has "$T/out" "- ❌ \`checks\` tripped" "md tripped gate"
has "$T/out" "- ✅ \`score:-10\` passed" "md passed gate"
has "$T/out" "| daily\\_sales total | pass | fail | ❌ newly failing |" "md escaped check row"
has "$T/out" "| cost.aws-us-east-1.monthly.usd | 0.036 USD | 0.0405 USD | +0.0045 USD | +12.5% | 🔴 |" \
    "md cost row"

expect 0 "json" $C --json "$F/pass.json" "$T/head.json" --fail-on score:-10
has "$T/out" '"schema": "harness.compare/1"' "json schema"
has "$T/out" '"change": "newly failing"' "json flip"
has "$T/out" '"tripped": false' "json gate"
cp "$T/out" "$T/cmp-gates.json"

# --html OUT: the page is written beside the usual output; stdout and the exit code are unchanged.
expect 1 "html with gates" $C "$F/pass.json" "$T/head.json" --html "$T/cmp.html" --fail-on checks \
    --fail-on score:-10
has "$T/out" "check 'daily_sales total': pass -> fail  newly failing" "html keeps the terminal table"
has "$T/err" "gate 'checks' tripped" "html keeps the gate messages"
has "$T/cmp.html" '<!DOCTYPE html>' "html page"
has "$T/cmp.html" 'data-base="pass" data-head="pass"' "html verdicts"
has "$T/cmp.html" '<td class="d-worse">newly failing</td>' "html flipped check"
has "$T/cmp.html" '<td class="num d-worse">+12.5%</td>' "html cost percent coloured worse"
has "$T/cmp.html" '<td class="num d-worse">-6.5</td>' "html score drop coloured worse"
has "$T/cmp.html" '1 of 2 gates tripped' "html gates"
has "$T/cmp.html" 'data-chart="bar-pair"' "html bar pairs"
hasnt "$T/cmp.html" ' src=' "html fetches nothing"
hasnt "$T/cmp.html" ' href=' "html links nowhere"
expect 0 "html with --md" $C --md "$F/pass.json" "$T/head.json" --html "$T/cmp-md.html"
has "$T/out" "## harness compare" "html keeps --md on stdout"
[ -s "$T/cmp-md.html" ] || fail "html with --md: no page written"
expect 0 "hostile html" $C "$F/mixed.json" "$F/hostile.json" --html "$T/hostile.html"
hasnt "$T/hostile.html" "<script>alert" "hostile html has no raw script"
hasnt "$T/hostile.html" "<x>" "hostile html has no injected element"
has "$T/hostile.html" "&lt;script&gt;alert(1)&lt;/script&gt;" "hostile html shows the text"
if [ "$(grep -c '<script' "$T/hostile.html")" -ne 1 ]; then fail "hostile html: more than one script"; fi
expect 3 "html to a missing folder" $C "$F/pass.json" "$F/pass.json" --html "$T/no/such/cmp.html"
has "$T/err" "no/such/cmp.html" "unwritable html is named"
expect 2 "html without a path" $C "$F/pass.json" "$F/pass.json" --html

# Hostile names: Markdown must not carry raw HTML or a working mention.
expect 0 "hostile md" $C --md "$F/hostile.json" "$F/mixed.json"
hasnt "$T/out" "<script>" "hostile md has no raw HTML"
hasnt "$T/out" "$(printf '\033')" "hostile md has no escape sequences"
expect 0 "hostile terminal" $C "$F/hostile.json" "$F/mixed.json"
hasnt "$T/out" "$(printf '\033')" "hostile terminal has no escape sequences"
expect 0 "hostile json" $C --json "$F/mixed.json" "$F/hostile.json"
has "$T/out" '"removed": [' "hostile json removed list"
has "$T/out" '"delta_pct": null' "json NAN percent is null"
hx_valid_comparejson "compare --json" "$T/cmp-gates.json" "$T/out"

# Usage errors and bad files: exit 2, naming the file.
expect 2 "one file" $C "$F/pass.json"
expect 2 "bad gate" $C "$F/pass.json" "$T/head.json" --fail-on cost.monthly.usd:10
has "$T/err" "bad --fail-on 'cost.monthly.usd:10'" "bad gate message"
# a gate on a metric no run has is a usage error, not a gate that never trips
expect 2 "unknown metric gate" $C "$F/pass.json" "$T/head.json" --fail-on nosuch.metric:+20%
has "$T/err" "bad --fail-on 'nosuch.metric:+20%': no scenario produces metric 'nosuch.metric'" \
    "unknown metric message"
expect 2 "misspelt cost gate" $C "$F/pass.json" "$T/head.json" --fail-on cost.montly.usd:+10%
has "$T/err" "(did you mean 'cost.monthly.usd'?)" "misspelt metric did-you-mean"
expect 2 "md and json" $C --md --json "$F/pass.json" "$T/head.json"
expect 2 "missing file" $C "$F/pass.json" "$T/nope.json"
has "$T/err" "nope.json" "missing file is named"
printf '{"schema": "harness.run/1", "scenarios": [{"name": 5}]}' >"$T/bad.json"
expect 2 "invalid file" $C "$T/bad.json" "$F/pass.json"
has "$T/err" "bad.json" "invalid file is named"
has "$T/err" "scenarios[0].name" "invalid file names the JSON path"
expect 0 "help" "$HARNESS_BIN" help compare
has "$T/out" "--fail-on GATE" "help text"

# The report fixtures every report test renders are run.json as the harness writes it today, so
# what the report tests prove holds for real files: each validates against docs/run.schema.json,
# but hostile.json, whose only violations are its two deliberate ones (a date and an operator
# no writer produces, kept to prove the reports escape them).
hx_valid_runjson "report fixtures" "$F/pass.json" "$F/mixed.json" "$F/infra.json" \
    "$F/interrupted.json" "$HX_SOURCE_ROOT/tests/fixtures/html/charts.json"
hx_schema_check "$HX_SOURCE_ROOT/docs/run.schema.json" "$F/hostile.json" >"$T/hostile.txt" 2>&1
if [ "$(sed 's/^[^:]*: //' "$T/hostile.txt" | sort)" = "$(printf '%s\n' \
    "\$.scenarios[0].started: 'not a date' does not match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\$'" \
    "\$.scenarios[0].thresholds[0].op: '<\"]]>' is not one of ['<', '<=', '>', '>=', '==']" | sort)" ]; then
    echo "ok - hostile.json breaks the schema only where it means to"
else
    fail "hostile.json: other schema violations than its two deliberate ones: $(head -5 "$T/hostile.txt")"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "ok"
