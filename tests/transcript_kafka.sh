#!/bin/sh
# Transcript tests of Kafka replay and topic checks: `harness run` on tests/packs/kafka, with the
# in-process mock cluster, a real throwaway PostgreSQL and kcat solutions. A good solution passes
# (exit 0); one that drops every tenth order fails (exit 1) with the missing keys in junit.xml;
# --kafka to a closed port is an infrastructure error (exit 3); nothing is left running.
# Streaming (tests/packs/kafka_stream, a paced replay while a service solution runs): a forwarding
# service passes with an end-to-end latency histogram; a slow one trips only the latency
# threshold (exit 4); one that drops key and headers leaves every output unmatched, so its latency
# threshold cannot be measured and fails saying why (exit 4); one that crashes fails naming SIGSEGV
# (exit 1).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/kafka"
SOLS="$ROOT/tests/solutions"
T=$(mktemp -d "${TMPDIR:-/tmp}/hx-kafka-test.XXXXXX")
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
chmod 711 "$T"
export CI=1
fails=0
trap 'rm -rf "$T"' EXIT

. "$ROOT/tests/lib.sh" # ok, bad, expect_rc, hx_valid_all_runjson
if ! command -v kcat >/dev/null 2>&1; then
    echo "1..0 # SKIP kcat is not installed (tools/setup.sh --tests installs it)"
    exit 77
fi
# The solutions' processes carry the run's token and an output folder under $T; none may outlive
# the run. Matching on $T keeps other tests' runs (the suite runs in parallel) out of the count.
procs() {
    for p in $(pgrep -x kcat 2>/dev/null) $(pgrep -x lua5.4 2>/dev/null) \
             $(pgrep -x hx_kafka_stream 2>/dev/null); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q "^HARNESS_OUTPUT_DIR=$T/" &&
            grep -qz HARNESS_RUN_TOKEN "/proc/$p/environ" 2>/dev/null && echo "$p"
    done | sort
}
BASE=$(procs)
no_leftovers() {
    sleep 0.3
    if [ "$(procs)" != "$BASE" ]; then bad "$1: solution processes left: $(procs)"; else ok "$1: nothing left running"; fi
}
reports() { # name dir
    for f in run.json junit.xml summary.md report.html; do
        [ -s "$2/$f" ] || { bad "$1: no $f"; return; }
    done
    ok "$1: reports written"
}

# 1. the good solution
"$BIN" run "$PACK" --solution "$SOLS/kafka_echo" -o "$T/good" -q 2>"$T/good.err"
expect_rc "kafka_echo passes" 0 $?
reports "kafka_echo" "$T/good"
n=$(jq '[.scenarios[0].checks[] | select(.status == "pass")] | length' "$T/good/run.json")
[ "$n" = 2 ] && ok "both topic checks pass" || bad "topic checks passed: $n of 2"
rows=$(jq '.scenarios[0].metrics[] | select(.name == "replay.records") | .value' "$T/good/run.json")
[ "$rows" = 419 ] && ok "419 records replayed into the topic" || bad "replay.records = $rows"
inv=$(jq '.scenarios[0].invocations | length' "$T/good/run.json")
[ "$inv" = 2 ] && ok "the solution ran after each of 2 batches" || bad "invocations: $inv"
# Priced on streaming, never on a database: every sheet bills what the replay produced (bytes,
# or events where the service bills per event); the
# partitions are the input topic's (1, left to the harness) and the output topic's the checks
# read (as many as the largest input): 2 x 730 partition-hours where the sheet prices them.
sheets=$(jq '.scenarios[0].cost | length' "$T/good/run.json")
with_in=$(jq '[.scenarios[0].cost[] | select(any(.lines[]; (.component | startswith("streaming")) and .cost > 0))] | length' "$T/good/run.json")
[ "$sheets" -ge 3 ] && [ "$with_in" = "$sheets" ] && ok "every sheet ($sheets) has a non-zero streaming line" \
    || bad "streaming lines: $with_in of $sheets sheets"
db=$(jq '[.scenarios[0].cost[].lines[] | select(.component | startswith("database"))] | length' "$T/good/run.json")
[ "$db" = 0 ] && ok "no database line: the pack uses no PostgreSQL" || bad "$db database lines"
# No PostgreSQL was started for it: run.json says so, the solution saw no PG* or DATABASE_URL
# (kafka_echo exits 9 if it does), no data dir is in the run folder, and --pg to a closed port
# is not even tried.
[ "$(jq -r .database "$T/good/run.json")" = none ] && ok "run.json: database none" ||
    bad "run.json database: $(jq -r .database "$T/good/run.json")"
[ -z "$(find "$T/good" -name PG_VERSION)" ] && ok "no PostgreSQL data dir in the run folder" ||
    bad "a data dir: $(find "$T/good" -name PG_VERSION)"
"$BIN" run "$PACK" --solution "$SOLS/kafka_echo" -o "$T/nopg" --pg "postgresql://127.0.0.1:1/none" \
    2>"$T/nopg.err"
expect_rc "--pg to a closed port on a Kafka-only pack" 0 $?
grep -qF "harness: warning: --pg is not used: the pack declares no PostgreSQL source or sink and no scenario reads a database" "$T/nopg.err" &&
    ok "a warning says --pg is not used" || bad "no warning: $(cat "$T/nopg.err")"
parts=$(jq '.scenarios[0].cost[] | select(.model == "aws-us-east-1") | .lines[] | select(.component == "streaming partitions") | .quantity' "$T/good/run.json")
[ "$parts" = 1460 ] && ok "aws: 2 partitions x 730 h" || bad "aws streaming partitions: '$parts' partition-hours"
# Each sheet's streaming lines, labelled fixed or variable and recomputed from the run's own
# measurements: data in is the bytes the replay produced (replay.stream.bytes) at a production
# run's size, a month of runs; data out the same bytes read once; partitions stream.partitions x
# 730 h; the service's fee a fixed 730 cluster-hours (MSK) or throughput-unit-hours (Event
# Hubs); Pub/Sub has no fee and no partition charge, so gcp shows neither line.
python3 - "$T/good/run.json" >"$T/stream.check" 2>&1 <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
m = {x["name"]: x["value"] for x in s["metrics"]}
base = {"GiB": 2 ** 30, "GB": 1e9, "TiB": 2 ** 40, "TB": 1e12}
bad = []
for c in s["cost"]:
    w = c["model"]
    lines = {l["component"]: l for l in c["lines"]}
    fee = [l for l in c["lines"] if l["component"].endswith(" fee")]
    want_bytes = m["replay.stream.bytes"] * c["records_per_run"] / m["replay.records"] * c["runs_per_month"]
    for name in ("streaming data in", "streaming data out"):
        l = lines.get(name)
        if l is None:
            if w != "azure-eastus": bad.append("%s: no %s line" % (w, name))  # Event Hubs bills events
            continue
        if l["kind"] != "variable": bad.append("%s: %s is %s" % (w, name, l["kind"]))
        got = l["quantity"] * base[l["unit"]]
        if abs(got - want_bytes) > 1e-6 * want_bytes: bad.append("%s: %s %s bytes, want %s" % (w, name, got, want_bytes))
    p = lines.get("streaming partitions")
    if w == "gcp-us-central1":
        if p or fee: bad.append("gcp: Pub/Sub shows a partition or fee line")
    else:
        if w == "aws-us-east-1" and (not p or p["kind"] != "fixed" or p["quantity"] != m["stream.partitions"] * 730):
            bad.append("aws: partitions %s" % p)
        if len(fee) != 1 or fee[0]["kind"] != "fixed" or fee[0]["quantity"] != 730:
            bad.append("%s: fee lines %s" % (w, fee))
        elif w == "aws-us-east-1" and fee[0]["component"] != "MSK Serverless fee": bad.append("aws fee " + fee[0]["component"])
        elif w == "azure-eastus" and fee[0]["unit"] != "throughput-unit-hour": bad.append("azure fee unit " + fee[0]["unit"])
    if w == "azure-eastus":
        ev = lines.get("streaming events")
        if not ev or ev["kind"] != "variable" or abs(ev["quantity"] * 1e6 - m["replay.stream.records"] * c["runs_per_month"]) > 1e-6 * ev["quantity"] * 1e6:
            bad.append("azure: events %s" % ev)
    fixed = sum(l["monthly"] for l in c["lines"] if l["kind"] == "fixed")
    var = sum(l["monthly"] for l in c["lines"] if l["kind"] == "variable")
    if abs(fixed - c["monthly_fixed"]) > 1e-9 * max(fixed, 1) or abs(var - c["monthly_variable"]) > 1e-9 * max(var, 1):
        bad.append("%s: fixed %s / variable %s do not add up" % (w, c["monthly_fixed"], c["monthly_variable"]))
print("\n".join(bad) if bad else "ok")
PY
[ "$(cat "$T/stream.check")" = ok ] && ok "streaming lines per sheet: data in/out variable, partitions and fee fixed, recomputed" \
    || bad "streaming lines: $(head -5 "$T/stream.check")"
no_leftovers "kafka_echo"

# 2. a solution that drops every tenth order
"$BIN" run "$PACK" --solution "$SOLS/kafka_drop" -o "$T/drop" -q 2>"$T/drop.err"
expect_rc "kafka_drop fails" 1 $?
reports "kafka_drop" "$T/drop"
if grep -Eq 'missing=[1-9][0-9]* extra=0 mismatched=0' "$T/drop/junit.xml"; then
    ok "junit.xml counts the dropped orders as missing, and nothing else"
else
    bad "junit.xml lacks the missing count: $(grep -o 'missing=[0-9]*[^"<]*' "$T/drop/junit.xml" | head -3)"
fi
grep -q 'missing | [0-9]' "$T/drop/junit.xml" && ok "junit.xml samples missing keys" \
    || bad "junit.xml has no missing-key samples"
no_leftovers "kafka_drop"

# 3. --kafka to a port nobody listens on: an infrastructure error naming the address
port=1 # tcpmux: nothing listens there on a test machine
"$BIN" run "$PACK" --solution "$SOLS/kafka_echo" -o "$T/down" -q --kafka "127.0.0.1:$port" 2>"$T/down.err"
expect_rc "--kafka to a closed port" 3 $?
grep -q "127.0.0.1:$port" "$T/down.err" && ok "the error names the address" \
    || bad "error lacks the address: $(cat "$T/down.err")"

# 4. streaming: a service forwards the paced input topic as it comes
# The solution's box sees only its own folder (docs/solutions.md "Threat model"): the helper
# program goes into a copy of each streaming solution, found relative to its folder.
HELPER="${HX_KAFKA_STREAM:-$(dirname "$BIN")/../tests/helpers/hx_kafka_stream}"
mkdir -p "$T/sols"
for s in kafka_stream kafka_stream_slow kafka_stream_crash kafka_stream_unmatched; do
    cp -R "$SOLS/$s" "$T/sols/$s" && cp "$HELPER" "$T/sols/$s/hx_kafka_stream" &&
        cp "$SOLS/kafka_stream/serve.sh" "$T/sols/$s/serve.sh" &&
        sed -i 's|\.\./kafka_stream/serve\.sh|./serve.sh|' "$T/sols/$s/solution.json"
done
export HX_KAFKA_STREAM=./hx_kafka_stream
SOLS="$T/sols"
SPACK="$ROOT/tests/packs/kafka_stream"
"$BIN" run "$SPACK" --solution "$SOLS/kafka_stream" -o "$T/stream" -q 2>"$T/stream.err"
expect_rc "kafka_stream (service) passes" 0 $?
reports "kafka_stream" "$T/stream"
h=$(jq -c '.scenarios[0].histograms[] | select(.name == "latency.e2e") | [.count, .p99 > 0, .unit]' "$T/stream/run.json")
[ "$h" = '[100,true,"s"]' ] && ok "run.json has the latency.e2e histogram: 100 matched, p99 > 0" \
    || bad "latency.e2e histogram: $h"
m=$(jq '[.scenarios[0].metrics[] | select(.name == "latency.e2e.matched") | .value][0]' "$T/stream/run.json")
[ "$m" = 100 ] && ok "latency.e2e.matched = 100" || bad "latency.e2e.matched = $m"
t=$(jq -r '.scenarios[0].thresholds[] | select(.metric == "latency.e2e.p99") | .status' "$T/stream/run.json")
[ "$t" = pass ] && ok "latency.e2e.p99 < 500ms passes" || bad "latency threshold: $t"
r=$(jq '.scenarios[0].metrics[] | select(.name == "replay.seconds") | .value >= 0.9' "$T/stream/run.json")
[ "$r" = true ] && ok "the replay was paced (100 records at 100/s)" || bad "replay not paced"
inv=$(jq -c '.scenarios[0].invocations | map([.batch, .exit_code])' "$T/stream/run.json")
[ "$inv" = '[[-1,0]]' ] && ok "one service invocation, stopped cleanly" || bad "invocations: $inv"
grep -q 'fetch.wait.max.ms=5)' "$T/stream/orders_stream/logs/service.stdout.log" \
    && ok "the service got KAFKA_FETCH_WAIT_MAX_MS=5 (the mock's fetch wait)" \
    || bad "service fetch wait: $(cat "$T/stream/orders_stream/logs/service.stdout.log")"
no_leftovers "kafka_stream"

# 5. a slow service: the data is right, the latency threshold fails (thresholds only: exit 4)
"$BIN" run "$SPACK" --solution "$SOLS/kafka_stream_slow" -o "$T/slow" -q 2>"$T/slow.err"
expect_rc "kafka_stream_slow trips the latency threshold" 4 $?
c=$(jq -r '.scenarios[0].checks[0].status' "$T/slow/run.json")
[ "$c" = pass ] && ok "the slow service's output is still correct" || bad "slow check: $c"
m=$(jq '[.scenarios[0].metrics[] | select(.name == "latency.e2e.matched") | .value][0]' "$T/slow/run.json")
[ "$m" = 100 ] && ok "without forwarded headers, all 100 are matched by key" || bad "matched by key: $m"
"$BIN" compare "$T/stream/run.json" "$T/slow/run.json" --fail-on 'latency.e2e.p99:+20%' >/dev/null 2>"$T/cmp.err"
expect_rc "compare gate latency.e2e.p99:+20% trips on the slow service" 1 $?
no_leftovers "kafka_stream_slow"

# 6. a service that drops the key and the harness-id header: no output can be matched to its
#    input, so latency.e2e.p99 < 500ms is not measured: an unmet requirement, not a skip
"$BIN" run "$SPACK" --solution "$SOLS/kafka_stream_unmatched" -o "$T/unmatched" -q 2>"$T/unmatched.err"
expect_rc "kafka_stream_unmatched fails its unmeasurable latency threshold" 4 $?
c=$(jq -r '.scenarios[0].checks[0].status' "$T/unmatched/run.json")
[ "$c" = pass ] && ok "the unmatched service's output is still correct" || bad "unmatched check: $c"
t=$(jq -r '.scenarios[0].thresholds[] | select(.metric == "latency.e2e.p99") | .status' "$T/unmatched/run.json")
[ "$t" = fail ] && ok "latency.e2e.p99 fails when nothing can be matched" || bad "threshold status: $t"
why="no output could be matched to an input (0 of 100 matched by key or harness-id header)"
n=$(jq -r '.scenarios[0].thresholds[] | select(.metric == "latency.e2e.p99") | .note' "$T/unmatched/run.json")
case "$n" in *"$why"*) ok "run.json says why: $n" ;; *) bad "threshold note: $n" ;; esac
grep -qF "not measured: $why" "$T/unmatched/summary.md" && ok "summary.md says why" \
    || bad "summary.md lacks the reason: $(grep latency "$T/unmatched/summary.md")"
grep -qF "latency.e2e.p99 not measured: $why" "$T/unmatched/junit.xml" && ok "junit.xml fails it saying why" \
    || bad "junit.xml lacks the reason: $(grep -o 'threshold latency[^>]*' "$T/unmatched/junit.xml")"
no_leftovers "kafka_stream_unmatched"

# 7. a service that crashes mid-run: the scenario fails naming the signal
"$BIN" run "$SPACK" --solution "$SOLS/kafka_stream_crash" -o "$T/crash" 2>"$T/crash.err"
expect_rc "kafka_stream_crash fails" 1 $?
sig=$(jq -r '.scenarios[0].invocations[0].signal' "$T/crash/run.json")
[ "$sig" = SIGSEGV ] && ok "the service's SIGSEGV is recorded" || bad "signal: $sig"
grep -q SIGSEGV "$T/crash/summary.md" && ok "summary.md names SIGSEGV" \
    || bad "summary.md does not name SIGSEGV"
no_leftovers "kafka_stream_crash"

hx_valid_all_runjson "every run.json written"
[ $fails -eq 0 ] && echo "# all passed" || echo "# $fails failed"
exit $((fails > 0))
