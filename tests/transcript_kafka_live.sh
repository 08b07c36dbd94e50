#!/bin/sh
# Transcript tests of live end-to-end latency (run/live.c) on tests/packs/kafka_live, with the
# in-process mock cluster and the forwarding helper (tests/helpers/kafka_stream.c):
# - delay: a service that forwards each record 100 ms after it was sent: p50 >= 100 ms in both
#   views (corrected from the intended send time, uncorrected from the actual one), run.json has
#   both histograms and a per-second timeline, report.html draws it;
# - stall: a paced replay with a window of 20 unanswered records through a service that stalls
#   2.5 s once: the corrected p99 shows the stall (>= 2 s), the uncorrected p99 does not (< 0.5 s):
#   the replay waited, so the actual send times moved (coordinated omission);
# - backdate: the 100 ms delay line again, its outputs' create times set 1 s in the past: the
#   output time is the harness's receive time, so p50 stays >= 100 ms in both views;
# - two_topics: cards 1..400 then orders 1..400 on two topics, the orders forwarded 100 ms late:
#   matched by (harness-topic, harness-id), p50 is the service's 0.1 s, not the 2 s since the card
#   of the same id; with no headers forwarded the keys are on both topics, so nothing matches;
# - volume: 7.9 MB into one partition (the mock keeps 5 MiB) through a service that starts
#   reading 2.5 s late: the replay waits for the answers instead of letting the mock drop records
#   unread, and the output topic (7.9 MB on one partition too) is checked from what the live
#   consumer read; without both, 8389 of the 24000 were missing;
# - filter: the same volume through a service that forwards one order in a thousand and commits
#   its consumer's offsets in group KAFKA_GROUP_ID: the replay is paced to those offsets (the
#   answers alone stalled at 4 MiB unanswered, and the step ended after 30 s, exit 3);
# - guess: a service that answers every record twice, a wrong value at once and the right one
#   300 ms later: the latency of a record is the time to its last answer, so p50 >= 300 ms in
#   both views (it was the guess's 13 ms), one sample a record, both outputs matched;
# - outage: every output there, every broker down for 2 s, then a wait until: it passes at once
#   and the drain reads the topic (both ran to their 10 s limits while the service held copies of the
#   mock cluster's sockets, so the fault's close reached no client).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/kafka_live"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-kafka-live-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1
# A box sees only the solution's folder: each solution gets a copy of the helper and serve.sh.
HELPER="${HX_KAFKA_STREAM:-$(dirname "$BIN")/../tests/helpers/hx_kafka_stream}"
mkdir -p "$T/sols"
for s in kafka_stream_hold kafka_stream_stall kafka_stream_backdate kafka_stream_hold_nohdr \
    kafka_stream_late kafka_stream kafka_stream_filter kafka_stream_guess; do
    cp -R "$ROOT/tests/solutions/$s" "$T/sols/$s" && cp "$HELPER" "$T/sols/$s/hx_kafka_stream" &&
        cp "$ROOT/tests/solutions/kafka_stream/serve.sh" "$T/sols/$s/serve.sh" &&
        sed -i 's|\.\./kafka_stream/serve\.sh|./serve.sh|' "$T/sols/$s/solution.json"
done
export HX_KAFKA_STREAM=./hx_kafka_stream
metric() { # run.json name
    jq -r --arg n "$2" '[.scenarios[0].metrics[] | select(.name == $n) | .value][0]' "$1"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# 1. a fixed delay of 100 ms
"$BIN" run "$PACK" --scenario delay --solution "$T/sols/kafka_stream_hold" -o "$T/delay" -q 2>"$T/delay.err"
expect_rc "the delaying service passes" 0 $?
c=$(metric "$T/delay/run.json" latency.e2e.p50)
u=$(metric "$T/delay/run.json" latency.e2e.uncorrected.p50)
ge "$c" 0.1 && ok "corrected p50 $c s >= 100 ms" || bad "corrected p50 $c s < 100 ms"
ge "$u" 0.1 && ok "uncorrected p50 $u s >= 100 ms" || bad "uncorrected p50 $u s < 100 ms"
h=$(jq -c '[.scenarios[0].histograms[] | select(.name | startswith("latency.e2e")) | [.name, .count]]' "$T/delay/run.json")
[ "$h" = '[["latency.e2e",400],["latency.e2e.uncorrected",400]]' ] \
    && ok "run.json has both histograms, 400 matched each" || bad "histograms: $h"
tl=$(jq '[.scenarios[0].timeline[] | .in] | add' "$T/delay/run.json")
to=$(jq '[.scenarios[0].timeline[] | .matched] | add' "$T/delay/run.json")
[ "$tl" = 400 ] && [ "$to" = 400 ] && ok "the timeline counts 400 in and 400 matched" \
    || bad "timeline in $tl, matched $to"
grep -q 'data-chart="timeline"' "$T/delay/report.html" && ok "report.html draws the latency timeline" \
    || bad "report.html has no latency timeline"
grep -q 'uncorrected' "$T/delay/summary.md" && ok "summary.md shows the uncorrected view" \
    || bad "summary.md lacks the uncorrected view"

# 2. a 2.5 s stall under a window of 20
"$BIN" run "$PACK" --scenario stall --solution "$T/sols/kafka_stream_stall" -o "$T/stall" -q 2>"$T/stall.err"
expect_rc "the stalling service passes its checks" 0 $?
c=$(metric "$T/stall/run.json" latency.e2e.p99)
u=$(metric "$T/stall/run.json" latency.e2e.uncorrected.p99)
ge "$c" 2 && ok "corrected p99 $c s >= 2 s: the stall shows" || bad "corrected p99 $c s < 2 s"
lt "$u" 0.5 && ok "uncorrected p99 $u s < 0.5 s: the waiting producer hides it" \
    || bad "uncorrected p99 $u s >= 0.5 s"
m=$(metric "$T/stall/run.json" latency.e2e.matched)
[ "$m" = 6000 ] && ok "all 6000 matched" || bad "matched: $m"

# 3. the same 100 ms delay line, back-dating each output's create time by 1 s
"$BIN" run "$PACK" --scenario delay --solution "$T/sols/kafka_stream_backdate" -o "$T/backdate" -q 2>"$T/backdate.err"
expect_rc "the back-dating service passes its checks" 0 $?
c=$(metric "$T/backdate/run.json" latency.e2e.p50)
u=$(metric "$T/backdate/run.json" latency.e2e.uncorrected.p50)
ge "$c" 0.1 && ok "back-dated: corrected p50 $c s >= 100 ms, its real delay" \
    || bad "back-dated: corrected p50 $c s < 100 ms: the forged create time was believed"
ge "$u" 0.1 && ok "back-dated: uncorrected p50 $u s >= 100 ms" \
    || bad "back-dated: uncorrected p50 $u s < 100 ms"

# 4. two input topics with the same ids and keys
"$BIN" run "$PACK" --scenario two_topics --solution "$T/sols/kafka_stream_hold" -o "$T/two" -q 2>"$T/two.err"
expect_rc "two input topics: the forwarding service passes" 0 $?
c=$(metric "$T/two/run.json" latency.e2e.p50)
m=$(metric "$T/two/run.json" latency.e2e.matched)
[ "$m" = 400 ] && ok "two topics: 400 outputs matched" || bad "two topics: matched $m"
ge "$c" 0.1 && lt "$c" 1 && ok "two topics: p50 $c s is the service's 100 ms, not the 2 s since the card" \
    || bad "two topics: p50 $c s: matched to the other topic's record?"
"$BIN" run "$PACK" --scenario two_topics --solution "$T/sols/kafka_stream_hold_nohdr" -o "$T/twok" -q 2>"$T/twok.err"
expect_rc "two topics, no headers forwarded: passes" 0 $?
m=$(metric "$T/twok/run.json" latency.e2e.matched)
u=$(metric "$T/twok/run.json" latency.e2e.unmatched)
[ "$m" = 0 ] && [ "$u" = 400 ] && ok "two topics by key: each key is on both topics, none matched (400 unmatched)" \
    || bad "two topics by key: matched $m, unmatched $u"

# 5. more than a partition's 5 MiB through a service that starts reading 2.5 s late
"$BIN" run "$PACK" --scenario volume --solution "$T/sols/kafka_stream_late" -o "$T/volume" -q 2>"$T/volume.err"
expect_rc "7.9 MB through one partition, read late: passes (paced to the answers, checked from the spool)" 0 $?
m=$(metric "$T/volume/run.json" latency.e2e.matched)
[ "$m" = 24000 ] && ok "volume: all 24000 matched" || bad "volume: matched $m"
s=$(jq -r '.scenarios[0].checks[0].status' "$T/volume/run.json")
[ "$s" = pass ] && ok "volume: the output topic matches the ledger, none lost to the mock's trimming" \
    || bad "volume: check $s: $(jq -r '.scenarios[0].checks[0].message' "$T/volume/run.json")"

# 6. a filter beyond one partition's budget: paced to its group's committed offsets
"$BIN" run "$PACK" --scenario filter --solution "$T/sols/kafka_stream_filter" -o "$T/filter" -q 2>"$T/filter.err"
expect_rc "7.9 MB through one partition, one in a thousand forwarded: passes (paced to the committed offsets)" 0 $?
s=$(jq -r '.scenarios[0].checks[0].status' "$T/filter/run.json")
[ "$s" = pass ] && ok "filter: the 24 flagged orders, none missing" \
    || bad "filter: check $s: $(jq -r '.scenarios[0].checks[0].message' "$T/filter/run.json")"
m=$(metric "$T/filter/run.json" latency.e2e.matched)
[ "$m" = 24 ] && ok "filter: 24 outputs matched to their inputs" || bad "filter: matched $m"

# 7. every output there, then every broker down for 2 s, then a wait until on the output topic:
# it passes at its first try and the drain reads all 2000, instead of both running to their 10 s
# limit (the service held copies of the mock's sockets)
CI=0 "$BIN" run "$PACK" --scenario outage --solution "$T/sols/kafka_stream" -o "$T/outage" 2>"$T/outage.err" # progress lines
expect_rc "a broker outage after the stream: passes" 0 $?
[ "$(grep -c "wait until 'orders_out matches the ledger': passed" "$T/outage.err")" = 2 ] \
    && ok "outage: the wait until after the outage passes (every output is there)" \
    || bad "outage: a wait until did not pass: $(grep 'wait until' "$T/outage.err")"
grep -q "service: drained for .*, 2000 output messages" "$T/outage.err" \
    && ok "outage: the drain read the output topic (2000 messages)" \
    || bad "outage: the drain did not read the output topic (a dead connection?)"

# 8. a quick wrong guess for every record, then the right answer 300 ms later: the keyed check
# fails (each id answered twice), and the latency is the right answer's
"$BIN" run "$PACK" --scenario delay --solution "$T/sols/kafka_stream_guess" -o "$T/guess" -q 2>"$T/guess.err"
expect_rc "the guessing service fails its check (every id twice)" 1 $?
c=$(metric "$T/guess/run.json" latency.e2e.p50)
u=$(metric "$T/guess/run.json" latency.e2e.uncorrected.p50)
ge "$c" 0.3 && ok "guess: corrected p50 $c s >= 300 ms, the time to the right answer" \
    || bad "guess: corrected p50 $c s < 300 ms: the guess was timed"
ge "$u" 0.3 && ok "guess: uncorrected p50 $u s >= 300 ms" || bad "guess: uncorrected p50 $u s < 300 ms"
h=$(jq -c '[.scenarios[0].histograms[] | select(.name | startswith("latency.e2e")) | [.name, .count]]' "$T/guess/run.json")
to=$(jq '[.scenarios[0].timeline[] | .matched] | add' "$T/guess/run.json")
# 800: the drain waited for the answers still owed once 400 outputs (the guesses) were there
[ "$h" = '[["latency.e2e",400],["latency.e2e.uncorrected",400]]' ] && [ "$to" -eq 800 ] \
    && ok "guess: all 800 outputs matched, one latency a record (400)" || bad "guess: matched $to, histograms $h"

hx_valid_all_runjson "every run.json written"
hx_done
