#!/bin/sh
# Transcript test of the streaming-fraud-firewall pack's two reference solutions, built by their
# solution.json (meson, librdkafka) in the box. The pack itself takes minutes a solution, so this
# runs tests/packs/fraud: the pack's scenarios that tell the two apart (velocity, geo,
# refund_lookalike, broker_outage, poison) with the same datasets, patterns, replay and checks
# (the embedded lib.fraud) over 4,000 payments instead of 20,000. `rules` must pass all five
# (exit 0, every check); `naive` fails velocity, geo, refund_lookalike and broker_outage (exit 1):
# it misses every velocity and geo card (recall 0, the missed cards named), alerts on refunds
# (precision below 1, the false positives named) and, after the outage, alerts twice (the doubled
# cards named as extra alerts of a card the truth holds once). Phase 2 (compliance: a summary per
# merchant and minute on the compliance topic): rules passes it, with compliance.lag.* in
# run.json; rules with RULES_TEST_FAULTS=1 (its first summary dropped, its second one payment too
# many, its third sent twice) fails it with one missing, one wrong and one doubled summary, each
# named by its key in run.json and summary.md. The three runs go side by side.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
. "$ROOT/tests/lib.sh"
PACK="$ROOT/tests/packs/fraud"
hx_tempdir hx-fraud-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1
for tool in meson ninja jq pkg-config; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool is not installed"
        exit 77
    fi
done
# The solutions are built in their folders: copies, so the source tree stays clean.
cp -r "$ROOT/examples/solutions/streaming-fraud-firewall" "$T/sols"
rm -rf "$T/sols/rules/build" "$T/sols/naive/build"
cp -r "$T/sols/rules" "$T/sols/rules_faults"
jq '. + {env: {RULES_TEST_FAULTS: "1"}}' "$ROOT/examples/solutions/streaming-fraud-firewall/rules/solution.json" \
    >"$T/sols/rules_faults/solution.json"
chmod -R a+rX "$T/sols"

# status of check $3 of scenario $2 in run.json $1
check_status() {
    jq -r --arg s "$2" --arg c "$3" \
        '.scenarios[] | select(.name == $s) | .checks[] | select(.name == $c) | .status' "$1"
}
check_field() { # run.json scenario check field
    jq -r --arg s "$2" --arg c "$3" --arg f "$4" \
        '.scenarios[] | select(.name == $s) | .checks[] | select(.name == $c) | .[$f]' "$1"
}
PR="alerts: recall and precision against the planted fraud"
ONCE="alerts: one per fraudulent card, none missing, none doubled"
COMP="compliance: one summary per merchant and minute, exact"

# The three runs go at once (each its own mock cluster and server; most of a scenario is waiting
# for the stream and the drain), rules and the faulted rules in the background.
"$BIN" run "$PACK" --solution "$T/sols/rules" -o "$T/rules" -q --phase 2 --scenario velocity \
    --scenario geo --scenario refund_lookalike --scenario broker_outage --scenario poison \
    --scenario compliance 2>"$T/rules.err" &
rules_pid=$!
"$BIN" run "$PACK" --solution "$T/sols/rules_faults" -o "$T/faults" -q --phase 2 \
    --scenario compliance 2>"$T/faults.err" &
faults_pid=$!
"$BIN" run "$PACK" --solution "$T/sols/naive" -o "$T/naive" -q --scenario velocity \
    --scenario geo --scenario refund_lookalike --scenario broker_outage 2>"$T/naive.err"
naive_rc=$?
wait $rules_pid
rc=$?
wait $faults_pid
faults_rc=$?

# 1. rules passes
expect_rc "rules passes velocity, geo, refund_lookalike, broker_outage, poison, compliance" 0 $rc
[ $rc = 0 ] || { sed -n '1,60p' "$T/rules/summary.md"; tail -20 "$T/rules.err"; }
n=$(jq '[.scenarios[].checks[] | select(.status != "pass")] | length' "$T/rules/run.json")
[ "$n" = 0 ] && ok "rules: every check passes" || bad "rules: $n checks did not pass"
s=$(jq -r '[.scenarios[].name] | join(",")' "$T/rules/run.json")
[ "$s" = "velocity,geo,refund_lookalike,broker_outage,poison,compliance" ] && ok "rules: the six scenarios ran" ||
    bad "rules: scenarios were '$s'"
a=$(check_field "$T/rules/run.json" velocity "$PR" actual)
case "$a" in *"recall 1.0000 (20 of 20"*) ok "rules: all 20 velocity cards alerted" ;;
*) bad "rules: velocity: $a" ;; esac
q=$(check_field "$T/rules/run.json" poison "payments_dlq: exactly the corrupt messages" actual)
case "$q" in *" 0 others"*) ok "rules: the dead-letter topic holds the corrupt messages, only them" ;;
*) bad "rules: poison: $q" ;; esac

a=$(check_field "$T/rules/run.json" compliance "$COMP" actual)
case "$a" in *" 0 missing, 0 extra, 0 doubled, 0 wrong, 0 malformed"*) ok "rules: every summary once and exact ($a)" ;;
*) bad "rules: compliance: $a" ;; esac
n=$(jq '[.scenarios[] | select(.name == "compliance") | .metrics[] |
    select(.name | test("^compliance[.]lag[.](p50|p90|p99|max|count)$"))] | length' "$T/rules/run.json")
cnt=$(jq '.scenarios[] | select(.name == "compliance") | .metrics[] |
    select(.name == "compliance.lag.count") | .value' "$T/rules/run.json")
exp=$(check_field "$T/rules/run.json" compliance "$COMP" expected | sed 's/ .*//')
[ "$n" = 5 ] && [ "$cnt" = "$exp" ] && ok "rules: compliance.lag p50/p90/p99/max/count, every one of the $exp summaries timed" ||
    bad "rules: compliance.lag metrics: $n of 5, count '$cnt' of '$exp'"

# 2. a wrong summary is caught, by its key
expect_rc "rules with test faults fails compliance" 1 $faults_rc
F="$T/faults/run.json"
a=$(check_field "$F" compliance "$COMP" actual)
case "$a" in *" 1 missing, 0 extra, 1 doubled, 1 wrong, 0 malformed"*) ok "faults: 1 missing, 1 doubled, 1 wrong ($a)" ;;
*) bad "faults: compliance: $a" ;; esac
for kind in missing wrong doubled; do
    k=$(jq -r --arg c "$COMP" --arg k "$kind" '.scenarios[].checks[] | select(.name == $c) |
        .samples.rows[] | select(.[0] == $k) | .[1]' "$F" | head -1)
    case "$k" in [0-9]*", 2026-03-02T"*":00Z") ok "faults: the $kind summary is named: $k" ;;
    *) bad "faults: no $kind key named ('$k')" ;; esac
    grep -q "$kind | $k |" "$T/faults/summary.md" && ok "faults: summary.md names the $kind $k" ||
        bad "faults: summary.md lacks the $kind $k"
done
w=$(jq -r --arg c "$COMP" '.scenarios[].checks[] | select(.name == $c) | .samples.rows[] |
    select(.[0] == "wrong") | "\(.[2]) \(.[3]) \(.[4])"' "$F")
set -- $w
[ "$1" = payments ] && [ "$3" = $(($2 + 1)) ] && ok "faults: the wrong one counts one payment too many ($w)" ||
    bad "faults: wrong sample '$w'"

# 3. naive fails, saying why
expect_rc "naive fails" 1 $naive_rc
J="$T/naive/run.json"
for s in velocity geo refund_lookalike broker_outage; do
    st=$(jq -r --arg s "$s" '.scenarios[] | select(.name == $s) | .status' "$J")
    [ "$st" = fail ] && ok "naive: $s fails" || bad "naive: $s is '$st'"
done
for s in velocity geo; do
    a=$(check_field "$J" $s "$PR" actual)
    case "$a" in *"recall 0.0000"*) ok "naive: $s recall 0 ($a)" ;; *) bad "naive: $s: $a" ;; esac
    m=$(jq -r --arg s "$s" --arg c "$PR" '.scenarios[] | select(.name == $s) | .checks[] |
        select(.name == $c) | .samples.rows[] | select(.[0] == "missed") | .[1]' "$J" | head -1)
    case "$m" in 1[0-9][0-9][0-9][0-9][0-9]) ok "naive: $s names a missed card ($m)" ;;
    *) bad "naive: $s names no missed card" ;; esac
    grep -q "$m" "$T/naive/summary.md" && grep -q "$m" "$T/naive/junit.xml" &&
        ok "naive: $s: the missed card is in summary.md and junit.xml" ||
        bad "naive: $s: missed card $m not in the reports"
done
a=$(check_field "$J" refund_lookalike "$PR" actual)
case "$a" in *"precision 0."*) ok "naive: refund_lookalike precision below 1 ($a)" ;;
*) bad "naive: refund_lookalike: $a" ;; esac
fp=$(jq -r --arg c "$PR" '.scenarios[] | select(.name == "refund_lookalike") | .checks[] |
    select(.name == $c) | .samples.rows[] | select(.[0] == "false positive") | .[1]' "$J" | wc -l)
[ "$fp" -gt 0 ] && ok "naive: the refunded cards alerted are named ($fp samples)" ||
    bad "naive: no false positive named"
# The outage: more alert messages than distinct wrong cards, so some card is alerted twice, and
# the extra alerts are named.
a=$(check_field "$J" broker_outage "$ONCE" actual)
extra=$(echo "$a" | sed -n 's/.* \([0-9]*\) extra.*/\1/p')
fpd=$(check_field "$J" broker_outage "$PR" actual | sed -n 's/.*precision [0-9.]* (\([0-9]*\) of \([0-9]*\) flags.*/\2 \1/p')
wrong=$(echo "$fpd" | awk '{ print $1 - $2 }')
if [ -n "$extra" ] && [ -n "$wrong" ] && [ "$extra" -gt "$wrong" ]; then
    ok "naive: broker_outage: $extra extra alerts for $wrong wrongly alerted cards: $((extra - wrong)) doubled"
else
    bad "naive: broker_outage: no doubled alert ($a; flags: $fpd)"
fi
n=$(jq -r --arg c "$ONCE" '.scenarios[] | select(.name == "broker_outage") | .checks[] |
    select(.name == $c) | .samples.rows[] | select(.[0] == "extra") | .[1]' "$J" | wc -l)
[ "$n" -gt 0 ] && ok "naive: broker_outage names the extra alerts' cards" || bad "naive: no extra named"
grep -q "rewinds" "$T/naive/broker_outage/logs/service.stderr.log" &&
    ok "naive: went back to its last commit after the outage" || bad "naive: no rewind logged"

hx_valid_all_runjson "every run.json written"
hx_done
