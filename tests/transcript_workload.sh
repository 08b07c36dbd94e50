#!/bin/sh
# transcript_workload.sh - the query workload step ({ run = "workload" }) through `harness run` on
# tests/packs/analytics (a small warehouse, three queries): per-query metrics and histograms in
# run.json; answers compared with the truth as decimals (a solution that serves numeric(14,4) for
# numeric passes); a wrong answer fails that query's check naming the query with sampled rows
# (exit 1); a solution that deletes base rows gets wrong answers (the truth is the harness's own
# copy); a threshold only fails the run with exit 4 and keeps the slow query's plan in run.json,
# summary.md and report.html; harness check refuses a threshold on an undeclared query and a
# workload step without a workload; a summary not refreshed after new rows answers wrongly;
# max_duration ends a count in whole rounds and bills the count; serving materialised views costs
# less variable money than scanning, under every sheet; the shipped pack loads.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/analytics"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-workload-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1

# py RUN.json EXPR: evaluate a Python expression over the run (r) and its scenarios by name (s)
py() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["scenarios"]}
m = lambda sc, n: next((x["value"] for x in s[sc]["metrics"] if x["name"] == n), None)
c = lambda sc, n: next((x for x in s[sc]["checks"] if x["name"] == n), None)
print(eval(sys.argv[2]))
' "$1" "$2"
}
# sol NAME BATCH: a solution folder whose batch command is BATCH
sol() {
    mkdir -p "$T/$1"
    printf '{ "name": "%s", "batch": "%s" }\n' "$1" "$2" >"$T/$1/solution.json"
}

# 1. A solution that adds nothing: answers right, generous limits, exit 0; the metrics are there.
sol plain "true"
"$BIN" run "$PACK" --scenario queries --solution "$T/plain" --out "$T/plain.out" 2>"$T/plain.err"
rc=$?
expect_rc "plain solution passes the workload" 0 $rc
[ $rc = 0 ] || tail -20 "$T/plain.err"
[ "$(py "$T/plain.out/run.json" 'm("queries", "query.top_products.count")')" = "20.0" ] &&
    ok "query.top_products.count is the declared count (20)" || bad "count: $(py "$T/plain.out/run.json" 'm("queries", "query.top_products.count")')"
[ "$(py "$T/plain.out/run.json" 'all(m("queries", "query.%s.%s" % (q, k)) > 0 for q in ("top_products", "revenue_by_country", "daily_revenue") for k in ("p50", "p95", "p99", "max"))')" = "True" ] &&
    ok "every query has p50/p95/p99/max" || bad "percentile metrics missing"
[ "$(py "$T/plain.out/run.json" '[h["count"] for h in s["queries"]["histograms"] if h["name"].startswith("query.")]')" = "[20, 20, 20]" ] &&
    ok "a histogram of 20 executions per query" || bad "histograms: $(py "$T/plain.out/run.json" '[(h["name"], h["count"]) for h in s["queries"]["histograms"]]')"
[ "$(py "$T/plain.out/run.json" 'm("queries", "workload.qps") > 0 and m("queries", "workload.errors") == 0 and m("queries", "db.cpu.workload") >= 0')" = "True" ] &&
    ok "workload.qps, workload.errors and db.cpu.workload recorded" || bad "workload metrics"
[ "$(py "$T/plain.out/run.json" '[c("queries", "query " + q)["status"] for q in ("revenue_by_country", "top_products", "daily_revenue")]')" = "['pass', 'pass', 'pass']" ] &&
    ok "each query's answer checked and right" || bad "answer checks: $(py "$T/plain.out/run.json" 's["queries"]["checks"]')"

# 2. Its own text for a query, numeric(14,4) instead of numeric: the same decimals, a pass.
sol scaled "true"
mkdir -p "$T/scaled/queries"
sed 's/sum(o.amount::numeric)/sum(o.amount::numeric)::numeric(14,4)/' \
    "$PACK/queries/revenue_by_country.sql" >"$T/scaled/queries/revenue_by_country.sql"
"$BIN" run "$PACK" --scenario queries --solution "$T/scaled" --out "$T/scaled.out" 2>"$T/scaled.err"
expect_rc "a query served as numeric(14,4) is the same decimals" 0 $?

# 3. A wrong answer for one query: that query's check fails naming it, with the rows (exit 1).
sol wrong "true"
mkdir -p "$T/wrong/queries"
sed 's/where o.status <> .cancelled./where true/' "$PACK/queries/revenue_by_country.sql" \
    >"$T/wrong/queries/revenue_by_country.sql"
"$BIN" run "$PACK" --scenario queries --solution "$T/wrong" --out "$T/wrong.out" 2>"$T/wrong.err"
expect_rc "a wrong answer fails the run" 1 $?
[ "$(py "$T/wrong.out/run.json" 'c("queries", "query revenue_by_country")["status"]')" = "fail" ] &&
    ok "query revenue_by_country fails" || bad "wrong: $(py "$T/wrong.out/run.json" 'c("queries", "query revenue_by_country")')"
[ "$(py "$T/wrong.out/run.json" 'sorted(set(row["cells"][0] if isinstance(row, dict) else row[0] for row in c("queries", "query revenue_by_country")["samples"]["rows"]))')" = "['missing', 'unexpected']" ] &&
    ok "its samples show the missing and the unexpected rows" || bad "samples: $(py "$T/wrong.out/run.json" 'c("queries", "query revenue_by_country")["samples"]')"
[ "$(py "$T/wrong.out/run.json" 'c("queries", "query top_products")["status"]')" = "pass" ] &&
    ok "the other queries still pass" || bad "other queries"
grep -qF 'query revenue\_by\_country returned a wrong answer' "$T/wrong.out/summary.md" &&
    ok "summary.md names the query" || bad "summary.md does not name the query"

# 4. A solution that deletes base rows: its answers differ from the harness's untouched copy.
sol tamper "psql \\\"\$DATABASE_URL\\\" -qX -c 'delete from orders where customer_id::int % 7 = 0'"
"$BIN" run "$PACK" --scenario queries --solution "$T/tamper" --out "$T/tamper.out" 2>"$T/tamper.err"
expect_rc "deleting base rows cannot move the truth" 1 $?
[ "$(py "$T/tamper.out/run.json" 'c("queries", "query daily_revenue")["status"]')" = "fail" ] &&
    ok "daily_revenue differs from the truth" || bad "tamper: $(py "$T/tamper.out/run.json" 's["queries"]["checks"]')"

# 5. Only a latency threshold fails: exit 4, and the slow query's plan is kept and shown.
"$BIN" run "$PACK" --scenario tight --solution "$T/plain" --out "$T/tight.out" 2>"$T/tight.err"
expect_rc "a slow query fails only its threshold" 4 $?
[ "$(py "$T/tight.out/run.json" '"Seq Scan on orders" in s["tight"]["thresholds"][0]["explain"]')" = "True" ] &&
    ok "run.json keeps EXPLAIN (ANALYZE, BUFFERS) of the slow query" || bad "explain: $(py "$T/tight.out/run.json" 's["tight"]["thresholds"]')"
grep -q "<details><summary>plan of query.revenue_by_country.p95" "$T/tight.out/summary.md" &&
    grep -q "Seq Scan on orders" "$T/tight.out/summary.md" && ok "summary.md shows the plan, collapsed" ||
    bad "summary.md has no plan"
grep -q '<details class="plan"><summary>plan of query.revenue_by_country.p95' "$T/tight.out/report.html" &&
    ok "report.html shows the plan, collapsed" || bad "report.html has no plan"

# 6. harness check: a threshold on a query the workload does not declare; a step with no workload.
mkdir -p "$T/badpack"
cp -r "$PACK/challenge.lua" "$PACK/wl" "$PACK/queries" "$T/badpack/"
sed 's/query.top_products.p95/query.top_product.p95/' "$PACK/queries.lua" >"$T/badpack/queries.lua"
"$BIN" check "$T/badpack" >"$T/check1.out" 2>&1
expect_rc "a threshold on an undeclared query is a scenario error" 2 $?
grep -q "no workload query 'top_product'" "$T/check1.out" && ok "the message names the query" ||
    bad "check message: $(cat "$T/check1.out")"
sed 's/workload = lib.workload(),//' "$PACK/queries.lua" | sed 's/\["query.top_products.p95"\] = "< 30s", //; s/, \["workload.errors"\] = "== 0"//; s/\["workload.errors"\] = "== 0"//' >"$T/badpack/queries.lua"
"$BIN" check "$T/badpack" >"$T/check2.out" 2>&1
expect_rc "a workload step without a workload is a scenario error" 2 $?
grep -q 'needs scenario.workload' "$T/check2.out" && ok "the message says what is missing" ||
    bad "check message: $(cat "$T/check2.out")"

# 7. New rows between two workloads: a materialised view built once and never refreshed answers
#    the second workload wrongly; refreshed on every run, right.
for v in stale fresh; do
    mkdir -p "$T/$v/queries"
    printf '{ "name": "%s", "batch": "./run.sh" }\n' "$v" >"$T/$v/solution.json"
    {
        echo '#!/bin/sh'
        echo 'set -eu'
        echo 'q="select day, revenue, sum(revenue) over (order by day) as running_total from (select (order_ts::timestamptz at time zone '"'"'UTC'"'"')::date as day, sum(amount::numeric) as revenue from orders where status <> '"'"'cancelled'"'"' group by 1) d"'
        echo 'psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -c "create materialized view if not exists mv_daily as $q"'
        [ $v = fresh ] && echo 'psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -c "refresh materialized view mv_daily"'
        echo 'exit 0'
    } >"$T/$v/run.sh"
    chmod +x "$T/$v/run.sh"
    echo "select day, revenue, running_total from mv_daily order by day" >"$T/$v/queries/daily_revenue.sql"
done
"$BIN" run "$PACK" --scenario append --solution "$T/stale" --out "$T/stale.out" 2>"$T/stale.err"
expect_rc "a summary never refreshed fails after new rows" 1 $?
[ "$(py "$T/stale.out/run.json" '[c("append", n)["status"] for n in ("query daily_revenue", "query daily_revenue (workload 2)")]')" = "['pass', 'fail']" ] &&
    ok "right the first time, wrong the second" || bad "stale: $(py "$T/stale.out/run.json" 's["append"]["checks"]')"
"$BIN" run "$PACK" --scenario append --solution "$T/fresh" --out "$T/fresh.out" 2>"$T/fresh.err"
expect_rc "a summary refreshed every run passes" 0 $?
[ "$(py "$T/fresh.out/run.json" 'm("append", "query.daily_revenue.count")')" = "6.0" ] &&
    ok "both workloads' executions in one histogram" || bad "append count: $(py "$T/fresh.out/run.json" 'm("append", "query.daily_revenue.count")')"

# 8. max_duration ends a count no run reaches: whole rounds (each query as many executions as
#    the others, fewer than the count), and the database CPU billed at the count: more than the
#    server's cores could spend in the measured time.
"$BIN" run "$PACK" --scenario capped --solution "$T/plain" --out "$T/capped.out" 2>"$T/capped.err"
expect_rc "a workload ended by max_duration passes" 0 $?
[ "$(py "$T/capped.out/run.json" 'len(set(m("capped", "query.%s.count" % q) for q in ("top_products", "revenue_by_country", "daily_revenue"))) == 1 and 0 < m("capped", "query.top_products.count") < 100000')" = "True" ] &&
    ok "every query measured as often as the others, fewer than the count" ||
    bad "capped counts: $(py "$T/capped.out/run.json" '[m("capped", "query.%s.count" % q) for q in ("top_products", "revenue_by_country", "daily_revenue")]')"
[ "$(py "$T/capped.out/run.json" '__import__("os").cpu_count() * 2 * m("capped", "workload.seconds") < m("capped", "db.cpu.workload")')" = "True" ] &&
    ok "its database CPU is billed at the declared count" ||
    bad "capped cpu: $(py "$T/capped.out/run.json" '(m("capped", "workload.seconds"), m("capped", "db.cpu.workload"))')"

# 9. Cost: answering from materialised views costs less variable money a month than scanning
#    every time, under every shipped sheet (two measured runs of the same scenario compared).
mkdir -p "$T/mv/queries"
printf '{ "name": "mv", "batch": "./run.sh" }\n' >"$T/mv/solution.json"
{
    echo '#!/bin/sh'
    echo 'set -eu'
    echo 'psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -f ./views.sql'
} >"$T/mv/run.sh"
{
    echo "create materialized view mv_rev as $(grep -v '^--' "$PACK/queries/revenue_by_country.sql");"
    echo "create materialized view mv_top as $(grep -v '^--' "$PACK/queries/top_products.sql")"
    echo "create materialized view mv_daily as select day, revenue, sum(revenue) over (order by day) as running_total from (select (order_ts::timestamptz at time zone 'UTC')::date as day, sum(amount::numeric) as revenue from orders where status <> 'cancelled' group by 1) d;"
} >"$T/mv/views.sql"
chmod +x "$T/mv/run.sh"
echo "select country, revenue, orders from mv_rev" >"$T/mv/queries/revenue_by_country.sql"
echo "select product_id, revenue from mv_top order by revenue desc, product_id" >"$T/mv/queries/top_products.sql"
echo "select day, revenue, running_total from mv_daily order by day" >"$T/mv/queries/daily_revenue.sql"
"$BIN" run "$PACK" --scenario served --solution "$T/mv" --out "$T/mv.out" 2>"$T/mv.err"
expect_rc "a solution serving materialised views passes" 0 $?
"$BIN" run "$PACK" --scenario served --solution "$T/plain" --out "$T/scan.out" 2>"$T/scan.err"
expect_rc "a solution scanning every time passes" 0 $?
# var RUN: {sheet: the scenario's variable money a month}
var() { py "$1" '{c["model"]: c["monthly_variable"] for c in s["served"]["cost"]}'; }
python3 -c '
import ast, sys
mv, scan = ast.literal_eval(sys.argv[1]), ast.literal_eval(sys.argv[2])
assert len(mv) >= 3 and mv.keys() == scan.keys(), (mv, scan)
assert all(mv[k] < scan[k] for k in mv), (mv, scan)
' "$(var "$T/mv.out/run.json")" "$(var "$T/scan.out/run.json")" &&
    ok "the views' variable cost is below the scans' under every sheet" ||
    bad "variable cost: views $(var "$T/mv.out/run.json"), scans $(var "$T/scan.out/run.json")"

# 10. The shipped pack loads (its full run is measured by hand: docs/scenarios.md names it).
"$BIN" check "$ROOT/scenarios/sql-analytics-engine" >"$T/pack.out" 2>&1
expect_rc "scenarios/sql-analytics-engine loads" 0 $?
grep -q "6 scenarios ok" "$T/pack.out" && ok "its six scenarios" || bad "pack check: $(cat "$T/pack.out")"

hx_valid_all_runjson "every run.json written"
hx_done
