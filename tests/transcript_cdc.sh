#!/bin/sh
# Transcript tests of change data capture: `harness run` on tests/packs/cdc (a change stream of
# customers and orders into typed source tables, a service solution mirroring them into schema
# target) with the embedded PostgreSQL. The solutions are tests/solutions/cdc_mirror* (a refresh
# every 50 ms: not CDC), one serve.sh with variants by environment. What the harness's audit slot
# reads from the WAL judges the order: the refresh mirror ends in the right state in both phases
# (phase 2: a column added mid-stream, the service SIGKILLed and restarted) with a cdc.lag
# histogram, and fails cdc_order with the versions it skipped sampled as lost; one that never
# deletes fails cdc_state with the deleted keys sampled, and cdc_order with its rewrites and lost
# deletes; one that delays every row version by 0.3 s shows cdc.lag.p50 >= 0.3 s; one that writes
# an older snapshot back fails cdc_order with the keys sampled out of order. The solution learns
# the slot, publication, tables and schema from its environment, and its role has REPLICATION;
# nothing it ran is left running and no slot is left behind.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/cdc"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-cdc-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1

# The variants share the one serve.sh (a solution's files must lie inside its folder).
mkdir -p "$T/sols"
for s in cdc_mirror cdc_mirror_nodeletes cdc_mirror_delay cdc_mirror_unordered; do
    cp -r "$ROOT/tests/solutions/$s" "$T/sols/$s"
    cp "$ROOT/tests/solutions/cdc_mirror/serve.sh" "$T/sols/$s/serve.sh"
done
chmod -R a+rX "$T/sols"
TREAL=$(cd "$T" && pwd -P)
procs() { # this copy's solutions' psql: other runs, another copy of this test among them, have
    # their own, which come and go (compared with those seen at the start, one copy once reported
    # another's that had ended as "left running" with an empty list)
    for p in $(pgrep -x psql 2>/dev/null); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q "^HARNESS_OUTPUT_DIR=$TREAL/" &&
            grep -qzE '^HARNESS_CDC_SLOT=hx_(sync|twist)$' "/proc/$p/environ" 2>/dev/null && echo "$p"
    done | sort
}
check() { # run-dir scenario check-name -> status
    jq -r --arg s "$2" --arg c "$3" \
        '.scenarios[] | select(.name == $s) | .checks[] | select(.name == $c) | .status' "$1/run.json"
}
metric() { # run-dir scenario metric -> value
    jq -r --arg s "$2" --arg m "$3" \
        '.scenarios[] | select(.name == $s) | .metrics[] | select(.name == $m) | .value' "$1/run.json"
}

# 1. the refresh mirror, both phases, keeping the output folder for the env it wrote
"$BIN" run "$PACK" --solution "$T/sols/cdc_mirror" -o "$T/good" --phase 2 --keep -q 2>"$T/good.err"
expect_rc "cdc_mirror fails (per-key order only)" 1 $?
for c in "cdc_state customers" "cdc_state orders"; do
    [ "$(check "$T/good" sync "$c")" = pass ] && ok "sync: $c passes" || bad "sync: $c: $(check "$T/good" sync "$c")"
done
for c in "cdc_state orders" "cdc_schema orders.channel"; do
    [ "$(check "$T/good" twist "$c")" = pass ] && ok "twist: $c passes" || bad "twist: $c: $(check "$T/good" twist "$c")"
done
[ "$(check "$T/good" sync "cdc_order customers")" = fail ] && ok "sync: cdc_order customers fails" ||
    bad "sync: cdc_order customers: $(check "$T/good" sync "cdc_order customers")"
kinds=$(jq -r '.scenarios[] | select(.name == "sync") | .checks[] | select(.name == "cdc_order customers") | .samples.rows[][0]' "$T/good/run.json" | sort -u | paste -sd'|' -)
case "$kinds" in
lost | "delete lost|lost") ok "sync: the skipped versions are sampled as lost ($kinds)" ;;
*) bad "sync: cdc_order samples: $kinds" ;;
esac
n=$(jq '[.scenarios[] | select(.name == "twist") | .invocations[]] | length' "$T/good/run.json")
[ "$n" = 2 ] && ok "twist: the service ran twice (killed, started again)" || bad "twist: $n service invocations"
rows=$(metric "$T/good" sync replay.records)
[ "$rows" = 1455 ] && ok "sync: 1455 changes replayed" || bad "sync: replay.records = $rows"
cnt=$(metric "$T/good" sync cdc.lag.count)
[ -n "$cnt" ] && [ "$cnt" != 0 ] && ok "sync: cdc.lag.count $cnt" || bad "sync: no cdc.lag.count"
h=$(jq '[.scenarios[] | select(.name == "sync") | .histograms[] | select(.name == "cdc.lag")] | length' "$T/good/run.json")
[ "$h" = 1 ] && ok "sync: cdc.lag histogram in run.json" || bad "sync: no cdc.lag histogram"
th=$(jq -r '.scenarios[] | select(.name == "sync") | .thresholds[] | select(.metric == "cdc.lag.p99") | .status' "$T/good/run.json")
[ "$th" = pass ] && ok "sync: threshold on cdc.lag.p99 evaluated" || bad "sync: cdc.lag.p99 threshold: $th"
grep -q "cdc.lag" "$T/good/summary.md" && ok "summary.md shows cdc.lag" || bad "summary.md lacks cdc.lag"
env="$T/good/sync/output/cdc_env.txt"
if grep -qx "HARNESS_CDC_SLOT=hx_sync" "$env" && grep -qx "HARNESS_CDC_PUBLICATION=hx_sync" "$env" &&
    grep -qx "HARNESS_CDC_TABLES=customers,orders" "$env" &&
    grep -qx "HARNESS_CDC_TARGET_SCHEMA=target" "$env"; then
    ok "the solution got slot, publication, tables and schema"
else bad "cdc env: $(cat "$env" 2>/dev/null)"; fi
[ "$(cat "$T/good/sync/output/replication.txt" 2>/dev/null)" = t ] &&
    ok "the scenario role has REPLICATION" || bad "role replication: $(cat "$T/good/sync/output/replication.txt")"

# 2. never deletes: cdc_state fails with the deleted keys sampled
"$BIN" run "$PACK" --solution "$T/sols/cdc_mirror_nodeletes" -o "$T/nodel" -q 2>"$T/nodel.err"
expect_rc "cdc_mirror_nodeletes fails" 1 $?
[ "$(check "$T/nodel" sync "cdc_state customers")" = fail ] && ok "nodeletes: cdc_state customers fails" ||
    bad "nodeletes: cdc_state customers $(check "$T/nodel" sync "cdc_state customers")"
kinds=$(jq -r '.scenarios[0].checks[] | select(.name == "cdc_state customers") | .samples.rows[][0]' "$T/nodel/run.json" | sort -u)
[ "$kinds" = "deleted at the source, still in the target" ] && ok "nodeletes: only deleted keys sampled" ||
    bad "nodeletes: sampled: $kinds"
kinds=$(jq -r '.scenarios[0].checks[] | select(.name == "cdc_order customers") | .samples.rows[][0]' "$T/nodel/run.json" | sort -u | paste -sd'|' -)
case "$kinds" in
*"applied more than once"*"delete lost"*) ok "nodeletes: cdc_order samples rewrites and lost deletes" ;;
*) bad "nodeletes: cdc_order samples: $kinds" ;;
esac

# 3. a fixed delay of 0.3 s: the lag's median is at least that
"$BIN" run "$PACK" --solution "$T/sols/cdc_mirror_delay" -o "$T/delay" -q 2>"$T/delay.err"
expect_rc "cdc_mirror_delay fails (per-key order only)" 1 $?
[ "$(check "$T/delay" sync "cdc_state customers")" = pass ] && ok "delay: cdc_state customers passes" ||
    bad "delay: cdc_state customers: $(check "$T/delay" sync "cdc_state customers")"
p50=$(metric "$T/delay" sync cdc.lag.p50)
if [ -n "$p50" ] && awk -v v="$p50" 'BEGIN { exit !(v >= 0.3) }'; then ok "delay 0.3 s: cdc.lag.p50 = $p50 >= 0.3"
else bad "delay 0.3 s: cdc.lag.p50 = $p50"; fi

# 4. an older snapshot written back: cdc_order fails naming keys
"$BIN" run "$PACK" --solution "$T/sols/cdc_mirror_unordered" -o "$T/unord" -q 2>"$T/unord.err"
expect_rc "cdc_mirror_unordered fails" 1 $?
[ "$(check "$T/unord" sync "cdc_order customers")" = fail ] && ok "unordered: cdc_order fails" ||
    bad "unordered: cdc_order $(check "$T/unord" sync "cdc_order customers")"
down=$(jq -r '.scenarios[0].checks[] | select(.name == "cdc_order customers") | .samples.rows[] | select(.[0] == "out of order") | .[1]' "$T/unord/run.json" | wc -l)
[ "$down" -ge 1 ] && ok "unordered: $down keys sampled out of order" || bad "unordered: no key sampled out of order"

sleep 0.3
left=$(procs)
[ -z "$left" ] && ok "no psql of the runs left running" ||
    bad "left running: $(for p in $left; do echo "$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)"
hx_valid_all_runjson "every run.json written"
[ "$fails" = 0 ] && echo "all ok" || echo "$fails failed"
exit "$fails"
