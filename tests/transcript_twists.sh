#!/bin/sh
# transcript_twists.sh - the ecommerce-etl-foundation pack's phase 2 and its success criteria:
# the reference solution passes every scenario with --phase 2; the naive one fails, with the
# erasure and payments failures explained; a solution that keeps one erased customer's email
# fails the erasure scan naming the table and column; one ADR fails adr { min = 2 }; a README
# without a cost section, or with a monthly cost far from the measured one, fails the readme
# check; a correct solution too slow for the 20x drops fails only the threshold (exit 4).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/scenarios/ecommerce-etl-foundation"
SOL="$ROOT/examples/solutions/ecommerce-etl-foundation"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-twists-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1

# check RUN.json SCENARIO NAME: "status<TAB>actual<TAB>message" of one check
check() {
    python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["scenarios"]:
    if s["name"] == sys.argv[2]:
        for c in s["checks"]:
            if c["name"] == sys.argv[3]:
                print("%s\t%s\t%s" % (c["status"], c.get("actual") or "", c.get("message") or ""))
' "$1" "$2" "$3"
}
# variant NAME: a copy of the reference solution to change
variant() { cp -r "$SOL/setbased" "$T/$1"; }

# 1. The pack lists its twists; the reference solution passes both phases.
"$BIN" list "$PACK" --json >"$T/list.json" 2>/dev/null
n=$(python3 -c 'import json,sys; print(sum(s["phase"] == 2 for s in json.load(open(sys.argv[1]))["scenarios"]))' "$T/list.json")
[ "$n" -ge 3 ] && ok "harness list shows $n phase-2 scenarios" || bad "phase-2 scenarios listed: $n"
"$BIN" run "$PACK" --phase 2 --probe 0 --solution "$SOL/setbased" --out "$T/sb" 2>"$T/sb.err"
rc=$?
expect_rc "setbased passes --phase 2" 0 $rc
[ $rc = 0 ] || grep -v "^  pass" "$T/sb.err" | tail -30
check "$T/sb/run.json" baseline "README: design, trade-offs, cost analysis" | grep -q "^pass	.*claims \$15 a month, the run measured" &&
    ok "setbased's README claims a monthly cost near the measured one" ||
    bad "readme check: $(check "$T/sb/run.json" baseline "README: design, trade-offs, cost analysis")"

# The runs that assert no cost figure skip the cost probe (--probe 0): it reruns every batch
# scenario at 4x its records and would only cost test time.

# 2. The naive solution fails the erasure and payments twists, and the reports say why.
"$BIN" run "$PACK" --phase 2 --probe 0 --scenario gdpr_erasure --scenario payments --solution "$SOL/naive" \
    --probe 0 --out "$T/naive" 2>"$T/naive.err"
expect_rc "naive fails the twists" 1 $?
check "$T/naive/run.json" gdpr_erasure "erasure requests for unknown customers are quarantined, once" |
    grep -q '^fail	.*relation "quarantine_erasures" does not exist' &&
    ok "naive: the erasure failure names the missing quarantine" || bad "naive erasure: $(check "$T/naive/run.json" gdpr_erasure "erasure requests for unknown customers are quarantined, once")"
check "$T/naive/run.json" gdpr_erasure "no order keeps an erased customer's id" | grep -q "^fail	order " &&
    ok "naive: the erased customers' ids are still on their orders, named" || bad "naive: erased ids check"
check "$T/naive/run.json" payments "fct_orders payment of each order (its latest event)" |
    grep -q 'payment_status.*does not exist' && ok "naive: the payments failure names the missing column" ||
    bad "naive payments: $(check "$T/naive/run.json" payments "fct_orders payment of each order (its latest event)")"
for f in junit.xml report.html; do
    grep -q "payment_status" "$T/naive/$f" && grep -q "quarantine_erasures" "$T/naive/$f" &&
        ok "naive: $f carries both reasons" || bad "naive: reasons missing from $f"
done

# 3. One erased customer's email kept in a table of the solution's: the scan names it.
variant leaky
cat >>"$T/leaky/erase.sql" <<'SQL'
create table if not exists support_notes (id serial, body text);
insert into support_notes (body) select 'call back ' || email from raw_customers where customer_id = '42';
SQL
"$BIN" run "$PACK" --phase 2 --scenario gdpr_erasure --solution "$T/leaky" --probe 0 --out "$T/leaky-run" 2>"$T/leaky.err"
expect_rc "leaky fails gdpr_erasure" 1 $?
check "$T/leaky-run/run.json" gdpr_erasure "no personal data of an erased customer anywhere in the sink" |
    grep -q "^fail	support_notes.body: 1 rows	" && ok "the erasure scan names support_notes.body" ||
    bad "scan: $(check "$T/leaky-run/run.json" gdpr_erasure "no personal data of an erased customer anywhere in the sink")"

# 4. One ADR and a README without a cost section.
variant thin
rm "$T/thin/docs/adr/0002-erasure-and-payments.md"
awk '/^## Cost analysis/ { exit } { print }' "$SOL/setbased/README.md" >"$T/thin/README.md"
"$BIN" run "$PACK" --scenario baseline --solution "$T/thin" --probe 0 --out "$T/thin-run" 2>"$T/thin.err"
expect_rc "thin documentation fails baseline" 1 $?
check "$T/thin-run/run.json" baseline "decision records: at least 2 ADRs" |
    grep -q "^fail	1 complete ADR, 0 incomplete	1 complete ADR, 2 needed (min = 2)" &&
    ok "one ADR fails adr { min = 2 }" || bad "adr: $(check "$T/thin-run/run.json" baseline "decision records: at least 2 ADRs")"
check "$T/thin-run/run.json" baseline "README: design, trade-offs, cost analysis" |
    grep -q "	README.md lacks sections on cost$" && ok "no cost section fails the readme check" ||
    bad "readme: $(check "$T/thin-run/run.json" baseline "README: design, trade-offs, cost analysis")"

# 5. A monthly cost claim far from the measured one.
variant boast
sed -i 's/about \$15 a month/about $1,000 a month/' "$T/boast/README.md"
"$BIN" run "$PACK" --probe 0 --scenario baseline --solution "$T/boast" --out "$T/boast-run" 2>"$T/boast.err"
expect_rc "a wrong cost claim fails baseline" 1 $?
check "$T/boast-run/run.json" baseline "README: design, trade-offs, cost analysis" |
    grep -q "	README.md claims \$1,000 a month, the run measured \$[0-9.]* (+[0-9]*%, tolerance 50%)$" &&
    ok "the claim and the measured cost are both named" ||
    bad "claim: $(check "$T/boast-run/run.json" baseline "README: design, trade-offs, cost analysis")"

# 6. Correct but slow on the 20x drops: only the threshold fails.
# One drop over the 15 s limit is enough (the first; each extra slow drop would only cost test time).
variant slow
echo '[ -e "$HARNESS_OUTPUT_DIR/.slept" ] || { touch "$HARNESS_OUTPUT_DIR/.slept"; sleep 16; }' >>"$T/slow/run.sh"
"$BIN" run "$PACK" --phase 2 --scenario sla_20x --solution "$T/slow" --probe 0 --out "$T/slow-run" 2>"$T/slow.err"
expect_rc "slow but correct fails only the SLA threshold" 4 $?
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
bad = [c["name"] for c in s["checks"] if c["status"] != "pass"]
th = [(t["metric"], t["status"]) for t in s["thresholds"] if t["status"] != "pass"]
print("checks not passing: %s; thresholds failing: %s" % (bad, th))
sys.exit(0 if not bad and [m for m, _ in th] == ["solution.wall.max"] else 1)
' "$T/slow-run/run.json" >"$T/slow.txt" 2>&1 && ok "every check passes, solution.wall.max fails" ||
    bad "sla_20x: $(cat "$T/slow.txt")"

hx_valid_all_runjson "every run.json written"
hx_done
