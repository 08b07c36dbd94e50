#!/bin/sh
# transcript_author.sh - the mistakes a pack author makes first, each a clear error with
# file:line and what to do (exit 2), and a run whose failures say why on the terminal: a batch
# command that cannot start prints its status and last stderr line, a failed threshold its value
# or why it was not measured.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
. "$ROOT/tests/lib.sh"
hx_tempdir hx-author-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
unset HARNESS_SEED CI
cd "$T" || exit 1

mkdir -p good/scenarios
cat >good/challenge.lua <<'LUA'
return challenge { name = "author", sources = { "files" }, sinks = { "files" },
                   budgets = { ["cost.monthly.eur"] = "<= 5" } }
LUA
cat >good/scenarios/a.lua <<'LUA'
local ships = dataset {
  rows = 40, key = "ship_id",
  columns = { { "ship_id", "sequence" }, { "weight", "decimal", min = 1, max = 9 } },
}
return scenario {
  name = "a", seed = 1,
  datasets = { ships = ships },
  solution = { mode = "batch", timeout = "30s" },
  replay = { { into = "files", dataset = "ships", dir = "ships" }, { run = "solution" } },
  checks = {
    file { path = "ships.csv", key = "ship_id", expect = ships:valid() },
  },
  thresholds = { ["solution.wall.max"] = "< 1us", ["solution.output.bytes"] = "< 1MiB" },
}
LUA
"$BIN" check good >"$T/good.txt" 2>&1
expect_rc "the pack loads" 0 $?

# mistake NAME SED WANT: the scenario with SED applied fails check with exit 2 and prints WANT
mistake() {
    rm -rf bad && cp -r good bad && sed -i "$2" bad/scenarios/a.lua
    "$BIN" check bad >"$T/bad.txt" 2>&1
    rc=$?
    if [ $rc = 2 ] && grep -qF -- "$3" "$T/bad.txt"; then
        ok "$1: exit 2, $3"
    else
        bad "$1: exit $rc, wanted '$3' in: $(cat "$T/bad.txt")"
    fi
}
mistake "a misspelt check kind" 's/    file {/    fil {/' \
    "bad/scenarios/a.lua:11: attempt to call a nil value (global 'fil') (did you mean 'file'?)"
mistake "a misspelt local" 's/expect = ships:valid()/expect = shps:valid()/' \
    "bad/scenarios/a.lua:11: attempt to index a nil value (global 'shps') (did you mean 'ships'?)"
mistake "a misspelt constructor" 's/^return scenario {/return scenaro {/' \
    "bad/scenarios/a.lua:5: attempt to call a nil value (global 'scenaro') (did you mean 'scenario'?)"
mistake "an unknown name is not guessed" 's/^return scenario {/return zzzzzzzz {/' \
    "bad/scenarios/a.lua:5: attempt to call a nil value (global 'zzzzzzzz')"
grep -q "did you mean" "$T/bad.txt" && bad "a guess for zzzzzzzz: $(cat "$T/bad.txt")"
mistake "a dataset left out of datasets" \
    's/^return scenario {/local other = dataset { rows = 1, key = "id", columns = { { "id", "sequence" } } }\nreturn scenario {/; s/expect = ships:valid()/expect = other:valid()/' \
    "bad/scenarios/a.lua:12: file: the expected query uses a dataset that is not in this scenario's datasets (add it: datasets = { <name> = <the dataset>, ... })"
mistake "a misspelt key" 's/path = "ships.csv"/pth = "ships.csv"/' \
    "bad/scenarios/a.lua:11: file: unknown key 'pth' (did you mean 'path'?)"
mistake "a misspelt metric" 's/solution.wall.max/solution.wal.max/' \
    "bad/scenarios/a.lua:5: scenario.thresholds[\"solution.wal.max\"]: no scenario produces metric 'solution.wal.max' (did you mean 'solution.wall.max'?)"
mistake "a metric the scenario never produces" 's/solution.wall.max/latency.e2e.p99/' \
    "bad/scenarios/a.lua:5: scenario.thresholds[\"latency.e2e.p99\"]: metric 'latency.e2e.p99': scenario 'a' runs the solution in batches"
mistake "a dataset's option on a step" 's/dataset = "ships", dir = "ships" }/dataset = "ships", dir = "ships", batches = 2 }/' \
    "bad/scenarios/a.lua:5: scenario.replay[1]: 'batches' is the dataset's (dataset { batches = \"day\" or N, ... }: how its records are cut); a step takes batch = K"
mistake "a service no step starts" 's/mode = "batch", timeout = "30s"/mode = "service"/; s/, { run = "solution" } }/ }/' \
    "bad/scenarios/a.lua:5: scenario.solution: mode = \"service\", but no step starts it (add { run = \"solution\" } to scenario.replay"
mistake "a stream metric in a scenario that streams nothing" 's/solution.wall.max/replay.stream.bytes/; s/"< 1us"/"< 1MB"/' \
    "bad/scenarios/a.lua:5: scenario.thresholds[\"replay.stream.bytes\"]: metric 'replay.stream.bytes': scenario 'a' uses no Kafka topic"
mistake "a threshold in the wrong unit" 's/"< 1us"/"< 1MB"/' \
    "bad/scenarios/a.lua:5: scenario.thresholds[\"solution.wall.max\"]: '< 1MB' is a byte size but the metric is a duration"
mistake "a dataset a step does not have" 's/dataset = "ships", dir/dataset = "shps", dir/' \
    "bad/scenarios/a.lua:5: scenario.replay[1].dataset: no dataset 'shps' in scenario.datasets (did you mean 'ships'?)"
mistake "a quarantine of a dataset that plants no corrupt record" \
    's/    file { path = "ships.csv",/    quarantine { topic = "dlq", column = "ship_id", expect = ships:corrupt() }, file { path = "ships.csv",/' \
    "bad/scenarios/a.lua:11: quarantine: dataset 'ships' plants no corrupt records, so there is nothing to quarantine (add ships:corrupt { fraction = 0.01 }"

# A system the scenario uses that challenge.lua does not declare: the run would price and
# measure the pack without it, so check names the step.
mistake "a Kafka step in a files-only pack" \
    's/{ into = "files", dataset = "ships", dir = "ships" }/{ into = "kafka", dataset = "ships", topic = "ships" }/' \
    "bad/scenarios/a.lua:5: scenario.replay[1]: replays into kafka, but challenge.lua's sources and sinks do not list \"kafka\""
mistake "a topic check in a files-only pack" \
    's/    file { path = "ships.csv",/    topic { topic = "out", equals = 1 }, file { path = "ships.csv",/' \
    "bad/scenarios/a.lua:11: topic out reads a Kafka topic, but challenge.lua's sources and sinks do not list \"kafka\""
mistake "a PostgreSQL fault in a files-only pack" \
    's/, { run = "solution" } }/, { fault = "pg_drop" }, { run = "solution" } }/' \
    "bad/scenarios/a.lua:5: scenario.replay[2]: fault pg_drop acts on postgres, but challenge.lua's sources and sinks do not list \"postgres\""
mistake "a broker fault in a files-only pack" \
    's/, { run = "solution" } }/, { fault = "broker_down" }, { run = "solution" } }/' \
    "bad/scenarios/a.lua:5: scenario.replay[2]: fault broker_down acts on kafka"

"$BIN" run good --solution nosuch --out "$T/r0" >"$T/r0.txt" 2>&1
expect_rc "a solution folder that is not there" 2 $?
grep -qF "solution folder 'nosuch' not found (--solution names a folder holding a solution.json" "$T/r0.txt" &&
    ok "it is named as a missing folder" || bad "missing folder: $(cat "$T/r0.txt")"

mkdir -p sol
echo '{ "name": "typo", "batch": "sh ./laod.sh" }' >sol/solution.json
chmod -R a+rX good sol
"$BIN" run good --solution sol --out "$T/r1" >"$T/r1.txt" 2>&1
expect_rc "a batch command that cannot start" 1 $?
grep -q "^  batch 0: solution exited with status [0-9]*: .*laod.sh" "$T/r1.txt" &&
    ok "the terminal says how it ended and its last stderr line" || bad "batch line: $(cat "$T/r1.txt")"
grep -qF "  fail  solution.wall.max < 1 µs: " "$T/r1.txt" &&
    ok "a failed threshold is on the terminal with its limit" || bad "threshold line: $(cat "$T/r1.txt")"
grep -qF "  fail  solution.output.bytes < 1 MiB: not measured: the solution wrote no file to its output folder" "$T/r1.txt" &&
    ok "an output size that is not there says the solution wrote nothing" || bad "output line: $(cat "$T/r1.txt")"
grep -qF "  fail  cost.monthly.eur <= 5 EUR: not measured: no price sheet of the run gave it (sheets: aws-us-east-1 in USD" "$T/r1.txt" &&
    ok "a budget in a currency no sheet has says which currencies there are" || bad "budget line: $(cat "$T/r1.txt")"
# A budget's limit carries its currency in every report, measured or not.
grep -qF "| cost.monthly.eur | &lt;= 5 EUR | not measured" "$T/r1/summary.md" &&
    ok "summary.md: the budget's limit in EUR" || bad "summary.md budget: $(grep -F cost.monthly "$T/r1/summary.md")"
grep -qF '<td>cost.monthly.eur</td><td>&lt;=</td><td class="num">5 EUR</td>' "$T/r1/report.html" &&
    ok "report.html: the budget's limit in EUR" || bad "report.html: no '5 EUR' limit"
grep -qF ', limit &lt;= 5 EUR (good/challenge.lua:' "$T/r1/junit.xml" &&
    ok "junit.xml: the budget's limit in EUR" || bad "junit.xml budget: $(grep -o 'message="cost[^"]*"' "$T/r1/junit.xml")"
sed -i 's/\["cost.monthly.eur"\] = "<= 5"/["cost.monthly.usd"] = "<= 0.000001"/' good/challenge.lua
"$BIN" run good --solution sol --out "$T/r2" >"$T/r2.txt" 2>&1
expect_rc "a budget the run exceeds" 1 $?
grep -qE "^  fail  cost.monthly.usd <= 0.000001 USD: [0-9.e-]+ USD \(good/challenge.lua:1\)" "$T/r2.txt" &&
    ok "the terminal shows value and limit in USD" || bad "usd budget line: $(grep cost.monthly "$T/r2.txt")"
grep -qE "^\| cost.monthly.usd \| &lt;= 0.000001 USD \| [0-9.e-]+ USD \| " "$T/r2/summary.md" &&
    ok "summary.md: value and limit in USD" || bad "summary.md usd: $(grep -F cost.monthly "$T/r2/summary.md")"
grep -qE 'message="cost.monthly.usd = [0-9.e-]+ USD, limit &lt;= 0.000001 USD' "$T/r2/junit.xml" &&
    ok "junit.xml: value and limit in USD" || bad "junit.xml usd: $(grep -o 'message="cost[^"]*"' "$T/r2/junit.xml")"
hx_done
