#!/bin/sh
# Transcript tests of `harness run` on the real foundation pack, a real throwaway PostgreSQL and
# real solution processes. Each case asserts exit codes and report contents.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/scenarios/ecommerce-etl-foundation"
SOL="$ROOT/examples/solutions/ecommerce-etl-foundation"
XSD="$ROOT/docs/junit-harness.xsd"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-run-test
export TMPDIR="$T/tmp"   # the embedded postgres puts its temp dirs here: we can see leftovers
mkdir -p "$TMPDIR"
export CI=1

# Only what this test's runs made: their TMPDIR is ours, and a postgres process's working
# directory is its data directory (other suites may run their own servers meanwhile).
pg_dirs() { ls -d "$TMPDIR"/hx-pg-* 2>/dev/null | sort; }
pg_procs() {
    for p in $(pgrep -x postgres 2>/dev/null); do
        case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$T"/*) echo "$p" ;; esac
    done | sort
}
BASE_DIRS=$(pg_dirs)
BASE_PROCS=$(pg_procs)
no_leftovers() { # name: no postgres temp dir or server beyond what existed before the test
    sleep 0.5
    d=$(pg_dirs)
    if [ "$d" != "$BASE_DIRS" ]; then bad "$1: postgres temp dirs left: $d"; else ok "$1: no temp dirs left"; fi
    p=$(pg_procs)
    if [ "$p" != "$BASE_PROCS" ]; then bad "$1: postgres processes left: $p"; else ok "$1: no postgres left"; fi
}
junit_valid() { # name file
    if [ ! -f "$XSD" ]; then bad "$1: JUnit schema not found at $XSD"; return; fi
    if xmllint --noout --schema "$XSD" "$2" 2>"$T/xmllint.err"; then ok "$1: junit.xml valid against junit-harness.xsd"; else bad "$1: junit.xml invalid: $(head -5 "$T/xmllint.err")"; fi
}

# 1. The set-based reference solution passes every phase-1 scenario.
# (--probe 0 here and below: the pack's cost probe would triple the run time; 2d runs it.)
"$BIN" run "$PACK" --solution "$SOL/setbased" --probe 0 --out "$T/setbased" 2>"$T/setbased.err"
rc=$?
expect_rc "setbased passes" 0 $rc
[ $rc = 0 ] || tail -30 "$T/setbased.err"
for f in run.json junit.xml summary.md; do
    [ -s "$T/setbased/$f" ] && ok "setbased wrote $f" || bad "setbased did not write $f"
done
junit_valid setbased "$T/setbased/junit.xml"
no_leftovers setbased
# --probe 0 overrides the pack's probe: one size measured, the fit says so
pr=$(jq '[.scenarios[].metrics[] | select(.name | startswith("probe."))] | length' "$T/setbased/run.json")
fits=$(jq -r '[.scenarios[].cost[].fit] | unique | join(",")' "$T/setbased/run.json")
[ "$pr" = 0 ] && [ "$fits" = linear ] && ok "--probe 0: no probe ran, every fit linear" ||
    bad "--probe 0: $pr probe metrics, fits $fits"

# 2. The naive solution fails, and junit.xml names the failing checks with expected and actual.
"$BIN" run "$PACK" --solution "$SOL/naive" --probe 0 --out "$T/naive" 2>"$T/naive.err"
expect_rc "naive fails" 1 $?
junit_valid naive "$T/naive/junit.xml"
for s in duplicates late_arrivals; do
    if grep -A3 "<testcase[^>]*classname=\"[^\"]*$s\"" "$T/naive/junit.xml" | grep -q "<failure"; then
        ok "naive: a check of $s fails in junit.xml"
    else
        bad "naive: no failing check of $s in junit.xml"
    fi
done
grep -q "expected" "$T/naive/junit.xml" && grep -q "actual" "$T/naive/junit.xml" &&
    ok "naive: failures carry expected and actual" || bad "naive: failures lack expected/actual"

# 2b. compare: the checks that differ between the two solutions, and the --fail-on gates.
"$BIN" compare "$T/setbased/run.json" "$T/naive/run.json" --md >"$T/cmp.md" 2>"$T/cmp.err"
expect_rc "compare without gates" 0 $?
grep -q "duplicates" "$T/cmp.md" && grep -qi "fail" "$T/cmp.md" &&
    ok "compare lists the flipped checks" || bad "compare output lacks flips: $(head -20 "$T/cmp.md")"
"$BIN" compare "$T/setbased/run.json" "$T/naive/run.json" --fail-on checks >/dev/null 2>&1
expect_rc "compare --fail-on checks trips on newly failing checks" 1 $?
"$BIN" compare "$T/naive/run.json" "$T/setbased/run.json" --fail-on checks >/dev/null 2>&1
expect_rc "compare --fail-on checks passes when checks were fixed" 0 $?
"$BIN" compare "$T/setbased/run.json" "$T/setbased/run.json" --fail-on cost.monthly.usd:+10% >/dev/null 2>&1
expect_rc "compare --fail-on cost gate passes on equal runs" 0 $?

# 2c. The cost figures recompute from run.json alone (docs/cost-models.md "Recomputing from
# run.json alone"): per line monthly = quantity x unit price, the fixed and variable sums, the
# total, the per-run figure and the unit economics; a database line under every sheet, the
# price sheets' paths and hashes in the manifest.
for sol in setbased naive; do
    python3 - "$T/$sol/run.json" >"$T/$sol.costcheck" 2>&1 <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
bad = []
near = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))
sheets = {p["name"]: p for p in r["price_sheets"]}
for s in r["scenarios"]:
    for c in s["cost"]:
        where = "%s/%s" % (s["name"], c["model"])
        p = sheets.get(c["model"], {})
        if len(p.get("sha256") or "") != 64 or not p.get("path"): bad.append(where + ": no path/sha256")
        fixed = var = 0.0
        for l in c["lines"]:
            if not near(l["monthly"], l["quantity"] * l["unit_price"]): bad.append(where + ": " + l["component"])
            if not near(l["cost"], l["monthly"] / c["runs_per_month"]): bad.append(where + ": run " + l["component"])
            if l["kind"] == "fixed": fixed += l["monthly"]
            elif l["kind"] == "variable": var += l["monthly"]
            else: bad.append(where + ": kind " + str(l["kind"]))
        if not near(c["monthly_fixed"], fixed) or not near(c["monthly_variable"], var): bad.append(where + ": split")
        if not near(c["monthly_total"], fixed + var): bad.append(where + ": total")
        if not near(c["per_run_total"], c["monthly_total"] / c["runs_per_month"]): bad.append(where + ": per run")
        pm = c["monthly_total"] / (c["records_per_run"] * c["runs_per_month"]) * 1e6
        if abs(c["per_million_input"] - pm) > 0.01 * pm: bad.append(where + ": per million")
        if not any(l["component"].startswith("database instance") for l in c["lines"]): bad.append(where + ": no database")
        if var <= 0: bad.append(where + ": no variable cost")
print("\n".join(bad) if bad else "ok")
PY
    [ "$(cat "$T/$sol.costcheck")" = ok ] && ok "$sol: cost figures recompute from run.json" ||
        bad "$sol: cost figures do not recompute: $(head -5 "$T/$sol.costcheck")"
done

# 2d. The cost probe: the pack declares scale.probe = 4, so the scenario runs again at 4x the
# records (no checks) and the pricer fits fixed + per-record from the two sizes; the probe's
# database is gone afterwards. (CI=0: the progress lines on stderr name the probe's runs in order.)
CI=0 "$BIN" run "$PACK" --solution "$SOL/setbased" --scenario baseline --out "$T/probe" \
    2>"$T/probe.err"
expect_rc "setbased with a cost probe passes" 0 $?
python3 - "$T/probe/run.json" >"$T/probe.check" 2>&1 <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
m = {x["name"]: x["value"] for x in s["metrics"]}
bad = []
if m.get("probe.records") != 4 * m.get("replay.records", -1): bad.append("probe records %s" % m.get("probe.records"))
for c in s["cost"]:
    if c["fit"] != "fixed+per-record": bad.append(c["model"] + " fit " + str(c["fit"]))
    f = {x["name"]: x for x in c["fits"]}
    w = f.get("solution wall s")
    if not w or not w["probe"] or abs(w["fixed"] + w["per_record"] * c["records_per_run"] - w["projected"]) > 1e-6 * w["projected"]:
        bad.append(c["model"] + " wall fit")
    # Each size is measured twice (the main run and the repeat at the test size, the probe and
    # its second run at 4x): the fit's test-size figure is the smaller of the first two, its
    # probe figure the smaller of the other two, and the line between them is the fitted fixed +
    # per-record (recomputed here from the recorded samples).
    r, r2 = m.get("replay.records"), m.get("probe.records")
    for name, main, rep, big, again in (
            ("solution CPU s", "solution.cpu.total", "probe.repeat.solution.cpu.total", "probe.solution.cpu.total", "probe.again.solution.cpu.total"),
            ("database CPU s", "db.cpu.solution", "probe.repeat.db.cpu.solution", "probe.db.cpu.solution", "probe.again.db.cpu.solution"),
            ("solution wall s", "solution.wall.sum", "probe.repeat.solution.wall.sum", "probe.solution.wall.sum", "probe.again.solution.wall.sum")):
        x = f.get(name)
        want = min(m.get(main, -1), m.get(rep, -1))
        want2 = min(m.get(big, -1), m.get(again, -1))
        if not x or abs(x["measured"] - want) > 1e-6 * max(want, 1e-3) or abs(x["probe"] - want2) > 1e-6 * max(want2, 1e-3):
            bad.append("%s %s: measured %s probe %s, want the minima %s and %s" % (c["model"], name, x and x["measured"], x and x["probe"], want, want2))
            continue
        if name == "solution wall s": continue
        b = (x["probe"] - x["measured"]) / (r2 - r)
        a = x["measured"] - b * r
        if b < 0: b, a = 0, (x["measured"] + x["probe"]) / 2
        elif a < 0: a, b = 0, x["probe"] / r2
        if abs(x["per_record"] - b) > 1e-6 * max(b, 1e-12) or abs(x["fixed"] - a) > 1e-6 * max(a, 1e-6):
            bad.append("%s %s: fixed %s per_record %s, recomputed %s %s" % (c["model"], name, x["fixed"], x["per_record"], a, b))
if m.get("probe.repeat.records") != r: bad.append("repeat records %s" % m.get("probe.repeat.records"))
if m.get("probe.again.records") != r2: bad.append("second probe records %s" % m.get("probe.again.records"))
print("\n".join(bad) if bad else "ok")
PY
[ "$(cat "$T/probe.check")" = ok ] && ok "probe: fixed + per-record fitted from two sizes" ||
    bad "probe: $(head -5 "$T/probe.check")"
# The order is the test size (the main run), 4x, the test size again, 4x again.
if [ "$(grep "cost probe" "$T/probe.err" | sed -n '1s/.*at 4x.*/big/p;2s/.*test size again.*/small/p;3s/.*at 4x.*/big/p' | tr '\n' ' ')" = "big small big " ]; then
    ok "probe: 4x, the test size again, 4x again"
else bad "probe: order not 4x, test size, 4x: $(grep "cost probe" "$T/probe.err")"; fi

# 3. --pg pointing at a closed port is an infrastructure error naming the address.
"$BIN" run "$PACK" --solution "$SOL/setbased" --pg "postgresql://x@127.0.0.1:1/postgres" \
    --out "$T/closed" 2>"$T/closed.err"
expect_rc "--pg closed port" 3 $?
if [ -s "$T/closed/summary.md" ] && ! head -1 "$T/closed/summary.md" | grep -q "pass"; then
    ok "--pg closed port: summary.md is not headed pass ($(head -1 "$T/closed/summary.md"))"
else bad "--pg closed port: summary.md missing or headed pass"; fi
grep -q "127.0.0.1:1" "$T/closed.err" && ok "--pg error names the address" ||
    bad "--pg error lacks the address: $(cat "$T/closed.err")"

# 4. A hanging solution is killed at its timeout with all its children.
"$BIN" run "$PACK" --solution "$ROOT/tests/solutions/hang" --probe 0 --scenario baseline --keep \
    --out "$T/hang" 2>"$T/hang.err"
expect_rc "hang fails its scenario" 1 $?
if pgrep -f "sleep 1000" >/dev/null && pgrep -f "sleep 1000" | xargs -r ps -o pid=,args= -p | grep -q .; then
    # only ours: the hang solution's sleeps run with cwd in tests/solutions/hang
    left=$(for p in $(pgrep -f "sleep 1000"); do readlink "/proc/$p/cwd"; done | grep -c "tests/solutions/hang")
    [ "$left" = 0 ] && ok "hang: no children left" || bad "hang: $left children still running"
else
    ok "hang: no children left"
fi
grep -q '"timed_out": *true' "$T/hang/run.json" && ok "hang: run.json says timed out" ||
    bad "hang: run.json lacks timed_out"
no_leftovers hang

# 5. A crashing solution fails its scenario; the other scenarios still run and pass.
"$BIN" run "$PACK" --solution "$ROOT/tests/solutions/crash" --probe 0 --scenario baseline \
    --scenario duplicates --out "$T/crash" 2>"$T/crash.err"
expect_rc "crash fails the run" 1 $?
grep -q '"SIGSEGV"' "$T/crash/run.json" && ok "crash: run.json names SIGSEGV" || bad "crash: no SIGSEGV"
n=$(grep -c '"status": *"pass"' "$T/crash/run.json")
[ "$n" -ge 1 ] && ok "crash: other scenarios still ran" || bad "crash: nothing passed"

# 6. Hostile output yields well-formed, schema-valid XML.
"$BIN" run "$PACK" --solution "$ROOT/tests/solutions/hostile" --probe 0 --scenario baseline \
    --out "$T/hostile" 2>"$T/hostile.err"
expect_rc "hostile fails" 1 $?
if grep -q "$(printf '\033')" "$T/hostile.err"; then bad "hostile: a raw escape reached the console"
else ok "hostile: no raw escape on the console"; fi
xmllint --noout "$T/hostile/junit.xml" && ok "hostile: junit.xml well-formed" || bad "hostile: junit.xml broken"
junit_valid hostile "$T/hostile/junit.xml"

# 7. Ctrl-C mid-run: exit 130, no postgres or temp dir left, run.json covers what finished.
"$BIN" run "$PACK" --solution "$ROOT/tests/solutions/slow" --probe 0 --scenario baseline \
    --scenario duplicates --out "$T/int" 2>"$T/int.err" &
pid=$!
i=0
# the journal's first line (the run, its argv) names baseline too: wait for the scenario's line
while [ $i -lt 600 ] && [ "$(cat "$T/int/run.journal.jsonl" 2>/dev/null | grep -c '"baseline"')" -lt 2 ]; do
    sleep 0.2; i=$((i + 1))
done
sleep 1
# the leftover checks can see a live server of ours (else they would prove nothing)
[ -n "$(pg_procs)" ] && [ -n "$(pg_dirs)" ] && ok "interrupt: the running server is visible" ||
    bad "interrupt: no server of ours visible while running"
kill -INT $pid
wait $pid
expect_rc "interrupt" 130 $?
[ -s "$T/int/run.json" ] && grep -q '"baseline"' "$T/int/run.json" &&
    ok "interrupt: run.json covers the finished scenario" || bad "interrupt: no run.json with baseline"
no_leftovers interrupt

hx_valid_all_runjson "every run.json written"
hx_done
