#!/bin/sh
# transcript_pack.sh - the ecommerce-etl-foundation pack checks what its challenge asks for, all of
# it: a solution that takes the lazy shortcuts (daily_sales.orders left at 0, dim_customers keys
# without attributes, every quarantined line written twice) fails exactly the checks that say so,
# and `harness gen --landing` writes the landing files a run lands, byte for byte.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/scenarios/ecommerce-etl-foundation"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-pack-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1
export LC_ALL=C

# statuses RUN.json SCENARIO: "status<TAB>check name" lines of one scenario's checks
statuses() {
    python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["scenarios"]:
    if s["name"] == sys.argv[2]:
        for c in s["checks"]:
            print(c["status"] + "\t" + c["name"])
' "$1" "$2"
}
# failing RUN.json SCENARIO: the names of its failing checks, sorted, one line
failing() { statuses "$1" "$2" | awk -F'\t' '$1 == "fail" { print $2 }' | sort | paste -sd'|' -; }

# 1. The lazy shortcuts each fail a check, and nothing else fails.
"$BIN" run "$PACK" --solution "$ROOT/tests/solutions/ecommerce_lazy" --probe 0 --scenario baseline \
    --scenario corrupt_quarantine --out "$T/lazy" 2>"$T/lazy.err"
expect_rc "lazy fails" 1 $?
dims="dim_customers customers per country|dim_customers customers per segment|dim_customers emails"
# (it ships no README or ADRs either, which baseline checks)
want="README: design, trade-offs, cost analysis|daily_sales orders per day|decision records: at least 2 ADRs|$dims"
got=$(failing "$T/lazy/run.json" baseline)
[ "$got" = "$want" ] && ok "lazy baseline: fails exactly orders per day, the dimension's attributes and the docs" ||
    bad "lazy baseline fails [$got], want [$want]"
want="daily_sales orders per day|$dims|one quarantine row per corrupt line"
got=$(failing "$T/lazy/run.json" corrupt_quarantine)
[ "$got" = "$want" ] && ok "lazy corrupt_quarantine: the doubled quarantine rows fail too" ||
    bad "lazy corrupt_quarantine fails [$got], want [$want]"
statuses "$T/lazy/run.json" corrupt_quarantine | grep -q "^pass	quarantine quarantine_orders.order_id" &&
    ok "lazy: the key-set quarantine check alone would have passed" ||
    bad "lazy: the quarantine key check did not pass"
statuses "$T/lazy/run.json" baseline | grep -q "^pass	dim_customers has the unknown member 0" &&
    ok "lazy: the unknown member 0 is counted apart from the customers" ||
    bad "lazy: member 0 check did not pass"
grep -q "\"message\": \"off by 151 " "$T/lazy/run.json" && ok "lazy: the doubled quarantine says by how much" ||
    bad "lazy: no off-by message for the doubled quarantine in run.json"

# 2. gen --landing lands what a run lands: same names, same bytes, a header per batch.
sc="$PACK/04_schema_drift.lua"
"$BIN" run "$PACK" --solution "$ROOT/tests/solutions/noop" --probe 0 --scenario schema_drift --keep \
    --out "$T/noop" 2>"$T/noop.err"
expect_rc "noop fails schema_drift" 1 $?
# Doing nothing earns no speed or cost credit: at most 10 (issue 11), however cheap its bill.
score=$(jq '[.score.value, (.scenarios[] | .score.value)] | max' "$T/noop/run.json")
jq -e '[.score.value, (.scenarios[] | .score.value)] | max <= 10' "$T/noop/run.json" >/dev/null &&
    ok "noop scores at most 10 ($score)" || bad "noop scores $score"
"$BIN" gen "$sc" --landing "$T/gen" 2>"$T/gen.err"
expect_rc "gen --landing" 0 $?
grep -q "wrote 14000 records of dataset 'orders' to $T/gen/orders (7 files, sha256 " "$T/gen.err" &&
    ok "gen --landing names the folder and the files" || bad "gen --landing said: $(cat "$T/gen.err")"
diff -r "$T/gen" "$T/noop/schema_drift/landing" >"$T/diff.txt" 2>&1 &&
    ok "gen --landing = the run's landing folder, byte for byte" ||
    bad "gen --landing differs from the run: $(head -5 "$T/diff.txt")"
[ "$(head -1 "$T/gen/orders/orders-0003.csv")" = "order_id,customer_id,order_ts,status,channel,total_amount" ] &&
    ok "the drifted batch has its own header" || bad "orders-0003.csv header: $(head -1 "$T/gen/orders/orders-0003.csv")"
"$BIN" gen "$sc" --dataset orders --batch 5 --out "$T/b5.csv" 2>/dev/null &&
    cmp -s "$T/b5.csv" "$T/gen/orders/orders-0005.csv" && ok "gen --batch 5 = the run's orders-0005.csv" ||
    bad "gen --batch 5 differs from the run's file"
"$BIN" gen "$sc" --dataset orders --out "$T/all.csv" 2>"$T/all.err"
expect_rc "gen without --batch" 0 $?
grep -q "note: a run lands 'orders' as one file per batch" "$T/all.err" &&
    ok "gen without --batch says a run lands one file per batch" || bad "no note: $(cat "$T/all.err")"
# the whole file is the batches' records in order under batch 0's header
for f in "$T"/gen/orders/orders-*.csv; do tail -n +2 "$f"; done >"$T/records.txt"
tail -n +2 "$T/all.csv" | cmp -s - "$T/records.txt" && ok "one file = the batches' records in order" ||
    bad "the whole file's records differ from the batches'"
"$BIN" gen "$sc" --landing "$T/x" --out "$T/x.csv" 2>"$T/x.err"
expect_rc "--landing with --out" 2 $?
"$BIN" gen "$ROOT/tests/packs/kafka/orders_to_topic.lua" --landing "$T/y" 2>"$T/y.err"
expect_rc "--landing of a scenario without files steps" 2 $?
grep -q "lands no files" "$T/y.err" && ok "and says it lands no files" || bad "said: $(cat "$T/y.err")"

# 3. Several per-batch landing steps before one run step drop together, lined up by calendar
#    day: the erasure requests (one day, Thursday) land with that day's orders, before its run.
"$BIN" run "$PACK" --phase 2 --probe 0 --scenario gdpr_erasure --solution "$ROOT/tests/solutions/drops_log" \
    --keep --out "$T/drops" 2>"$T/drops.err"
expect_rc "drops_log fails gdpr_erasure" 1 $?
seen="$T/drops/gdpr_erasure/output/seen.txt"
[ "$(wc -l <"$seen")" = 7 ] && ok "one run per day of the week" || bad "runs: $(cat "$seen")"
[ "$(grep -c erasures "$seen")" = 4 ] && ok "the erasure file is there for the last four runs" ||
    bad "erasure file seen in $(grep -c erasures "$seen") runs"
grep -q "^batch 3: erasures/erasures-0000.csv orders/orders-0000.csv .*orders/orders-0003.csv $" "$seen" &&
    ok "it lands on Thursday, with Thursday's orders, before Thursday's run" ||
    bad "batch 3 saw: $(grep '^batch 3' "$seen")"
grep -q "^batch 2: .*erasures" "$seen" && bad "the erasure file landed before its day" ||
    ok "nothing lands before its day"

hx_valid_all_runjson "every run.json written"
hx_done
