#!/bin/sh
# What run.json says a solution used (docs/solutions.md "What is measured"), through the real
# binary: tests/solutions/busy_leftover runs `python3 -c 'sum(range(10**7))'` (tens of ms of CPU,
# over before a 10 Hz sampler's second look) and leaves a `sleep 60` behind. Every invocation
# records that CPU (counted to the exit of the tree's last process), a peak RSS of its own (not
# the harness's), its `isolation` and its `leftovers` (1 without a box; the box's PID namespace
# ends the sleeper with the command, so there the count is not asserted).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/files"
SOL="$ROOT/tests/solutions/busy_leftover"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-resources
export CI=1
command -v python3 >/dev/null || { echo "not ok - python3 is needed"; exit 1; }

invocations() { # name run.json leftovers(-1: any)
    python3 - "$2" "$1" "$3" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
name, want_left = sys.argv[2], int(sys.argv[3])
def check(cond, what):
    print(("ok - " if cond else "not ok - ") + name + ": " + what)
ivs = [iv for s in run["scenarios"] for iv in s.get("invocations", [])]
check(len(ivs) == 3, "three batch invocations (%d)" % len(ivs))
for iv in ivs:
    b = iv.get("batch")
    cpu = iv.get("cpu_user_s", 0) + iv.get("cpu_sys_s", 0)
    check(cpu >= 0.02, "batch %s: python's CPU recorded (%.3f s)" % (b, cpu))
    peak = iv.get("peak_rss_bytes", 0)
    check(1 << 20 < peak < 200 << 20, "batch %s: peak RSS is python's (%.1f MiB)" % (b, peak / 1048576))
    check(iv.get("isolation") in ("cgroup", "proc"), "batch %s: isolation %r" % (b, iv.get("isolation")))
    check(isinstance(iv.get("leftovers"), int), "batch %s: leftovers recorded (%r)" % (b, iv.get("leftovers")))
    if want_left >= 0:
        check(iv.get("leftovers") == want_left, "batch %s: leftovers %r, want %d" % (b, iv.get("leftovers"), want_left))
PY
}
tally() {
    printf '%s\n' "$1"
    n=$(printf '%s\n' "$1" | grep -c '^not ok')
    fails=$((fails + n))
    printf '%s\n' "$1" | grep -q '^ok' || bad "run.json assertions did not run"
}

# 1. In its box (the default): the checks fail (it writes nothing), the numbers are there.
"$BIN" run "$PACK" --solution "$SOL" --out "$T/boxed" >"$T/boxed.out" 2>&1
rc=$?
[ "$rc" = 1 ] && ok "boxed: exit 1 (its checks fail)" || bad "boxed: exit $rc: $(tail -5 "$T/boxed.out")"
tally "$(invocations boxed "$T/boxed/run.json" -1)"

# 2. Without a box: the sleeper outlives python, is stopped and counted.
"$BIN" run "$PACK" --solution "$SOL" --sandbox none --out "$T/bare" >"$T/bare.out" 2>&1
rc=$?
[ "$rc" = 1 ] && ok "bare: exit 1 (its checks fail)" || bad "bare: exit $rc: $(tail -5 "$T/bare.out")"
tally "$(invocations bare "$T/bare/run.json" 1)"
grep -q '"isolation": "none"' "$T/bare/run.json" && ok "bare: run isolation none" ||
    bad "bare: run.json has no isolation none"

hx_valid_all_runjson "every run.json written"

# 3. The schema check fails on each violation and names where: broken copies of a valid run.json,
# checked in one call.
set -- \
    "a renamed field" 's/"peak_rss_bytes":/"peak_rss":/' '$.scenarios[0].invocations[0]' \
    "a number as a string" 's/^  "duration_s": \(.*\),$/  "duration_s": "\1",/' '$.duration_s' \
    "NaN" 's/^  "duration_s": .*,$/  "duration_s": NaN,/' '$.duration_s' \
    "an unknown verdict" 's/^  "verdict": "fail",$/  "verdict": "failed",/' '$.verdict' \
    "a missing count" '/^    "checks_passed": /d' '$.totals'
mkdir "$T/broken"
n=0
while [ $# -ge 3 ]; do
    n=$((n + 1))
    sed "$2" "$T/bare/run.json" >"$T/broken/$n.json"
    printf '%s\t%s\n' "$1" "$3" >>"$T/broken/cases"
    shift 3
done
hx_schema_check "$ROOT/docs/run.schema.json" "$T/broken/"*.json >"$T/broken/out" 2>&1
expect_rc "schema: the broken copies fail" 1 $?
n=0
while IFS="$(printf '\t')" read -r what where; do
    n=$((n + 1))
    if cmp -s "$T/bare/run.json" "$T/broken/$n.json"; then
        bad "schema: $what: the edit changed nothing"
    elif grep -qF "$T/broken/$n.json: $where: " "$T/broken/out"; then
        ok "schema: $what: rejected at $where"
    else
        bad "schema: $what: not rejected at $where: $(grep -F "/$n.json" "$T/broken/out" | head -3)"
    fi
done <"$T/broken/cases"
rm -r "$T/broken"
hx_done
