#!/bin/sh
# transcript_cdc_pack.sh - the cdc-sync-engine pack and its two reference solutions (issue 15's
# acceptance), built by their own solution.json in the box as a contestant's would be:
#   1. `logical` (a pgoutput consumer) passes every scenario, phase 2 included: the service
#      killed twice and restarted, the source restarted, a column added mid-stream; exit 0, with
#      cdc.lag percentiles in run.json for every scenario;
#   2. `polling` (updated_at every 500 ms) fails the final state: the deleted keys it kept are
#      sampled in run.json and summary.md (baseline), and so are the rows of the long transaction
#      it never saw (long_transactions); the per-key order check (read from the WAL) fails it
#      too, with the versions it skipped (lost) and the rows its overlap wrote again sampled.
# polling runs two scenarios, not the pack: each of its scenarios waits out the 15 s the pack
# gives a consumer to catch up (its deletes never arrive), and these two show each point.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/scenarios/cdc-sync-engine"
SOLS="$ROOT/examples/solutions/cdc-sync-engine"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-cdc-pack
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1
export LC_ALL=C

# Copies: the build writes build/ into the solution's folder, which must not be the repository's.
mkdir -p "$T/sols"
for s in logical polling; do
    cp -R "$SOLS/$s" "$T/sols/$s" && rm -rf "$T/sols/$s/build"
done

# statuses RUN.json SCENARIO: "status<TAB>check name" lines of one scenario's checks
statuses() {
    jq -r --arg s "$2" '.scenarios[] | select(.name == $s) | .checks[] | .status + "\t" + .name' "$1"
}
# failing RUN.json SCENARIO: the names of its failing checks, sorted, one line
failing() { statuses "$1" "$2" | awk -F'\t' '$1 != "pass" { print $2 }' | sort | paste -sd'|' -; }

"$BIN" check "$PACK" >"$T/check.out" 2>&1
expect_rc "the pack loads" 0 $?
grep -q "^8 scenarios ok" "$T/check.out" && ok "8 scenarios" || bad "check says: $(cat "$T/check.out")"

# 1. logical: every scenario, every check, every threshold.
"$BIN" run "$PACK" --phase 2 --solution "$T/sols/logical" --out "$T/logical" 2>"$T/logical.err"
rc=$?
expect_rc "logical passes the whole pack" 0 $rc
[ "$rc" = 0 ] || tail -40 "$T/logical.err"
n=$(jq '[.scenarios[] | select(.status == "pass")] | length' "$T/logical/run.json")
[ "$n" = 8 ] && ok "logical: 8 scenarios pass" || bad "logical: $n of 8 scenarios pass"
for s in baseline hot_key long_transactions delete_reinsert large_values solution_restart \
    source_restart new_column; do
    got=$(failing "$T/logical/run.json" "$s")
    if [ -z "$got" ]; then ok "logical $s: every check passes"; else
        bad "logical $s: not passing: $got"
        jq -c --arg s "$s" '.scenarios[] | select(.name == $s) | .checks[] | select(.status != "pass") |
            [.message, .samples.rows[:6]]' "$T/logical/run.json"
    fi
    jq -e --arg s "$s" '.scenarios[] | select(.name == $s) | [.metrics[] |
        select(.name == "cdc.lag.p99" and .value > 0)] | length == 1' \
        "$T/logical/run.json" >/dev/null && ok "logical $s: cdc.lag.p99 in run.json" ||
        bad "logical $s: no cdc.lag.p99 in run.json"
done
statuses "$T/logical/run.json" new_column | grep -q "^pass	customers.loyalty_tier reached the target" &&
    ok "logical new_column: the added column reached the target" ||
    bad "logical new_column: the schema check did not pass"
# three lives of the service; the two after a kill resumed from a saved position, not 0/0
jq -e '.scenarios[] | select(.name == "solution_restart") | .invocations |
    length == 3 and (.[1:] | all(.stdout_tail | test("^streaming from [0-9A-F]+/[0-9A-F]+") and
    (test("from 0/0\n") | not)))' "$T/logical/run.json" >/dev/null &&
    ok "logical solution_restart: killed twice, each time resumed from its saved position" ||
    bad "logical solution_restart: not three service runs resuming from a saved position"

# 2. polling: the deletes it cannot see, the long transaction it reads too late.
"$BIN" run "$PACK" --solution "$T/sols/polling" --scenario baseline --scenario long_transactions \
    --out "$T/polling" 2>"$T/polling.err"
expect_rc "polling fails" 1 $?
# (order_items is left out of the final-state line: its deleted keys live briefly, and a key
# inserted and deleted between two polls is never copied, so polling may get that table right)
for t in customers orders; do
    statuses "$T/polling/run.json" baseline | grep -q "^fail	$t: final state" &&
        ok "polling baseline: $t final state fails" || bad "polling baseline: $t final state did not fail"
done
for t in customers orders order_items; do
    statuses "$T/polling/run.json" baseline | grep -q "^fail	$t: each change applied once, in commit order" &&
        ok "polling baseline: $t per-key order fails" || bad "polling baseline: $t per-key order did not fail"
done
for k in lost "applied more than once"; do
    jq -e --arg k "$k" '.scenarios[] | select(.name == "baseline") | .checks[] |
        select(.name == "customers: each change applied once, in commit order") |
        .samples.rows | map(select(.[0] == $k)) | length > 0' "$T/polling/run.json" >/dev/null &&
        ok "polling baseline: '$k' versions sampled in run.json" || bad "polling baseline: no '$k' sampled in run.json"
    grep -q "^| $k | " "$T/polling/summary.md" && ok "polling baseline: and in summary.md" ||
        bad "polling baseline: summary.md samples no '$k'"
done
jq -e '.scenarios[] | select(.name == "baseline") | .checks[] |
    select(.name == "customers: final state, deletes included, each key once") |
    .samples.rows | map(select(.[0] == "deleted at the source, still in the target")) | length > 0' \
    "$T/polling/run.json" >/dev/null && ok "polling baseline: the kept deletes are sampled in run.json" ||
    bad "polling baseline: no deleted key sampled in run.json"
grep -q "deleted at the source, still in the target" "$T/polling/summary.md" &&
    ok "polling baseline: and in summary.md" || bad "polling baseline: summary.md samples no deleted key"
jq -e '.scenarios[] | select(.name == "long_transactions") | .checks[] |
    select(.name == "customers: final state, deletes included, each key once") |
    .samples.rows | map(select(.[0] == "missing")) | length > 0' "$T/polling/run.json" >/dev/null &&
    ok "polling long_transactions: the rows of the late commit are sampled as missing" ||
    bad "polling long_transactions: no missing row sampled in run.json"
grep -q "^| missing | " "$T/polling/summary.md" && ok "polling: and in summary.md" ||
    bad "polling: summary.md samples no missing row"

hx_valid_all_runjson "every run.json written"
hx_done
