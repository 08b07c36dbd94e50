#!/bin/sh
# `harness run --jobs N` (issue 12, parallel scenarios) on the real binary, a real throwaway
# PostgreSQL and real solution processes in their boxes: the pack tests/packs/jobs (four small
# scenarios with pass, fail and threshold verdicts) run serially and with --jobs 2 gives the same
# run.json apart from timings and resource figures; the parallel console never mixes two lines;
# a SIGINT to the harness alone (as CI's cancel sends it) stops every worker's solution and
# server (exit 130); a Kafka scenario (run in the engine's own process) gives the same too.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/jobs"
SOL="$ROOT/tests/solutions/files_good"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-jobs-test
# The console is read below: under CI=true (GitHub, .ci/run) the harness is quiet by default.
export CI=
export TMPDIR="$T/tmp" # the embedded postgres puts its temp dirs here: we can see leftovers
mkdir -p "$TMPDIR"

pg_dirs() { ls -d "$TMPDIR"/hx-pg-* 2>/dev/null | sort; }
pg_procs() {
    for p in $(pgrep -x postgres 2>/dev/null); do
        case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$T"/*) echo "$p" ;; esac
    done | sort
}
# run.json without what differs between any two runs: times, durations, the command line, the
# machine, and what was measured (invocations, resources, histograms, metrics, cost, measured
# threshold values).
SAME='del(.started, .finished, .duration_s, .argv, .jobs, .machine)
  | .scenarios |= map(del(.started, .duration_s, .invocations, .resources, .histograms,
                          .metrics, .cost)
                      | .checks |= map(del(.duration_s))
                      | .thresholds |= map(del(.actual)))'
same_run() { # name a.json b.json
    if jq -S "$SAME" "$2" >"$T/a.json" && jq -S "$SAME" "$3" >"$T/b.json" &&
        cmp -s "$T/a.json" "$T/b.json"; then
        ok "$1: run.json the same apart from timings and measurements"
    else
        bad "$1: run.json differs: $(diff "$T/a.json" "$T/b.json" | head -20)"
    fi
}

# 1. Serial and two at once: the same verdicts, checks, thresholds, seeds, datasets and score.
start=$(date +%s)
"$BIN" run "$PACK" --solution "$SOL" --out "$T/serial" 2>"$T/serial.err"
expect_rc "serial run" 1 $?
mid=$(date +%s)
"$BIN" run "$PACK" --solution "$SOL" --out "$T/par" --jobs 2 2>"$T/par.err"
expect_rc "--jobs 2 run" 1 $?
end=$(date +%s)
echo "# wall: serial $((mid - start)) s, --jobs 2 $((end - mid)) s (noisy on a shared machine)"
same_run "--jobs 2" "$T/serial/run.json" "$T/par/run.json"
v=$(jq -c '[.verdict, .exit_code, (.scenarios | map([.name, .status]))]' "$T/par/run.json")
[ "$v" = '["fail",1,[["a_clean","pass"],["b_faults","pass"],["c_wrong","fail"],["d_threshold","threshold"]]]' ] &&
    ok "--jobs 2: verdicts in pack order ($v)" || bad "--jobs 2: verdicts $v"
[ "$(jq .jobs "$T/serial/run.json") $(jq .jobs "$T/par/run.json")" = "1 2" ] &&
    ok "run.json records jobs (1, then 2)" || bad "run.json jobs: $(jq .jobs "$T/par/run.json")"
n=$(tail -n +2 "$T/par/run.journal.jsonl" | jq -r .scenario.name | tr '\n' ' ')
[ "$n" = "a_clean b_faults c_wrong d_threshold " ] && ok "--jobs 2: journal in pack order" ||
    bad "--jobs 2: journal order '$n'"
[ ! -e "$T/par/.jobs" ] && ok "--jobs 2: no worker results left" || bad "--jobs 2: .jobs left"
for f in junit.xml summary.md report.html; do
    [ -s "$T/par/$f" ] && ok "--jobs 2 wrote $f" || bad "--jobs 2 did not write $f"
done
[ -z "$(pg_dirs)" ] && [ -z "$(pg_procs)" ] && ok "no postgres left" || bad "postgres left"

# 2. The console: every line of a worker is whole and names its scenario; per scenario, its
# check lines are the serial run's, in the same order. A failed threshold's line shows what was
# measured (`solution.wall.max < 1 µs: 507 ms (file:line)`), which two runs never share.
measured='s/^([a-z_]+:  fail  [^ ]+ [<>=]+ [^:]+: )[^(]*[(]/\1MEASURED (/'
awk '/^\[[0-9]+\/[0-9]+\] [a-z_]+ \(phase/ { s = $2; next }
     /^  (pass|fail|error|warn|skip) / { print s ":" $0 }' "$T/serial.err" |
    sed -E "$measured" >"$T/serial.lines"
sed -n 's/^\[\([a-z_]*\)\] \(  .*\)$/\1:\2/p' "$T/par.err" | sed -E "$measured" >"$T/par.lines"
for s in a_clean b_faults c_wrong d_threshold; do
    grep "^$s:" "$T/serial.lines" >"$T/s1"
    grep "^$s:" "$T/par.lines" >"$T/s2"
    if [ -s "$T/s1" ] && cmp -s "$T/s1" "$T/s2"; then
        ok "console: $s's check lines whole and in order"
    else
        bad "console: $s's lines differ: $(diff "$T/s1" "$T/s2" | head -5)"
    fi
done
other=$(grep -v -E '^\[[a-z_]+\] |^\[[0-9]+/4\] [a-z_]+ (\(phase [0-9]\)|-> [a-z]+)$|^postgres |^fail: jobs, score' "$T/par.err")
[ -z "$other" ] && ok "console: no other lines" || bad "console: unexpected lines: $other"

# 3. Usage errors at parse time.
for j in 0 x 65 -1; do
    "$BIN" run "$PACK" --solution "$SOL" --out "$T/bad" --jobs "$j" 2>"$T/bad.err"
    rc=$?
    if [ $rc = 2 ] && grep -q -- "--jobs: expected how many scenarios run at once, 1 to 64, got '$j'" "$T/bad.err"; then
        ok "--jobs $j: usage error (exit 2)"
    else
        bad "--jobs $j: exit $rc: $(cat "$T/bad.err")"
    fi
done
[ ! -e "$T/bad" ] && ok "a usage error makes no run folder" || bad "run folder made on a usage error"

# 4. SIGINT to the harness alone while two workers' solutions run: exit 130, each worker's
# solution stopped, no worker, server or temp dir left; run.json says interrupted.
TAG="7$$"
mkdir -p "$T/sleepy"
printf '{ "name": "sleepy", "batch": "sh ./run.sh" }\n' >"$T/sleepy/solution.json"
printf 'exec sleep %s\n' "$TAG" >"$T/sleepy/run.sh"
chmod 755 "$T/sleepy"
chmod 644 "$T/sleepy/solution.json" "$T/sleepy/run.sh"
"$BIN" run "$PACK" --solution "$T/sleepy" --out "$T/int" --jobs 2 2>"$T/int.err" &
pid=$!
i=0
while [ $i -lt 600 ] && [ "$(pgrep -c -f "^sleep $TAG\$")" -lt 2 ]; do
    sleep 0.2
    i=$((i + 1))
done
[ "$(pgrep -c -f "^sleep $TAG\$")" = 2 ] && ok "interrupt: two solutions running at once" ||
    bad "interrupt: $(pgrep -c -f "^sleep $TAG\$") solutions running"
[ -n "$(pg_procs)" ] && ok "interrupt: the server is visible" || bad "interrupt: no server visible"
kill -INT $pid
wait $pid
expect_rc "interrupt" 130 $?
sleep 0.5
[ "$(pgrep -c -f "^sleep $TAG\$")" = 0 ] && ok "interrupt: no solution left" ||
    bad "interrupt: solutions left: $(pgrep -a -f "^sleep $TAG\$")"
[ -z "$(pgrep -f -- "--out $T/int")" ] && ok "interrupt: no worker left" ||
    bad "interrupt: workers left: $(pgrep -a -f -- "--out $T/int")"
[ -z "$(pg_dirs)" ] && [ -z "$(pg_procs)" ] && ok "interrupt: no postgres left" ||
    bad "interrupt: postgres left: $(pg_dirs) $(pg_procs)"
[ "$(jq -c '[.interrupted, .exit_code]' "$T/int/run.json")" = "[true,130]" ] &&
    ok "interrupt: run.json says interrupted" || bad "interrupt: run.json $(jq -c '[.interrupted, .exit_code]' "$T/int/run.json")"

# 5. Kafka scenarios run in the engine's own process, one at a time: the same run.json too.
KPACK="$ROOT/tests/packs/kafka"
KSOL="$ROOT/tests/solutions/kafka_echo"
"$BIN" run "$KPACK" --solution "$KSOL" --out "$T/k1" -q 2>"$T/k1.err"
expect_rc "kafka serial" 0 $?
"$BIN" run "$KPACK" --solution "$KSOL" --out "$T/k2" --jobs 2 2>"$T/k2.err"
expect_rc "kafka --jobs 2" 0 $?
grep -q "1 of 1 scenarios use Kafka: they run one at a time after the others" "$T/k2.err" &&
    ok "kafka --jobs 2: says the Kafka scenario runs in the engine" || bad "kafka: no note in $(cat "$T/k2.err")"
same_run "kafka --jobs 2" "$T/k1/run.json" "$T/k2/run.json"

rm -f "$T/a.json" "$T/b.json" # same_run's stripped copies: not run.json any more
hx_valid_all_runjson "every run.json written"
hx_done
