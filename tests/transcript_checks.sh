#!/bin/sh
# The limits of the check queries (tests/packs/checks, solution tests/solutions/stuck): a view
# over pg_sleep(3600) ends its check at the check's timeout as an error naming the limit (exit 3);
# a lock left held by a session of the solution is gone, the harness ended that session; Ctrl-C
# during a check that would run for its whole 10-minute default cancels the query and the run
# exits 130 with run.json written. Every harness call runs under `timeout 120`, so a hang fails.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/checks"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-checks
export CI=1
cp -r "$ROOT/tests/solutions/stuck" "$T/stuck"
run_json() { # run.json python-body
    python3 - "$1" <<PY
import json, sys
run = json.load(open(sys.argv[1]))
scen = {s["name"]: s for s in run["scenarios"]}
checks = {c["name"]: c for s in run["scenarios"] for c in s.get("checks", [])}
def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
$2
PY
}
tally() { # output of run_json
    printf '%s\n' "$1"
    n=$(printf '%s\n' "$1" | grep -c '^not ok')
    fails=$((fails + n))
    printf '%s\n' "$1" | grep -q '^ok' || bad "run.json assertions did not run"
}

# 1. A never-ending view ends its check in error at its limit; a lock left held does not hold up
#    its check (the session that held it was ended with the command).
timeout 120 "$BIN" run "$PACK" --solution "$T/stuck" --scenario sleepy --scenario locked \
    --out "$T/stuck-run" 2>"$T/stuck.err"
rc=$?
expect_rc "stuck outputs are an infrastructure error, not a hang" 3 $rc
[ $rc = 3 ] || tail -20 "$T/stuck.err"
tally "$(run_json "$T/stuck-run/run.json" '
c = checks.get("orders_out rows", {})
check(c.get("status") == "pass", "the check on the real table passes (%s)" % c.get("status"))
c = checks.get("sleepy_out diff", {})
m = c.get("message", "")
check(c.get("status") == "error", "the check on the sleeping view is an error (%s)" % c.get("status"))
check("timeout (2s" in m and "sleepy_out" in m,
      "its message names the limit and the query (%s)" % m)
c = checks.get("locked_out rows", {})
check(c.get("status") == "pass",
      "the lock left held is gone with the session the harness ended: the check passes (%s %s)"
      % (c.get("status"), c.get("message", "")))
check(scen["sleepy"]["status"] == "error", "scenario sleepy is in error (%s)" % scen["sleepy"]["status"])
check(scen["locked"]["status"] == "pass", "scenario locked passes (%s)" % scen["locked"]["status"])
')"

# 2. Ctrl-C during a check under the 10-minute default: the query is cancelled, exit 130, reports
#    written. The harness prints a line per finished check (not under CI=1): the first one means
#    the slow one runs.
CI= timeout 120 "$BIN" run "$PACK" --solution "$T/stuck" --scenario slow_check --out "$T/int" \
    2>"$T/int.err" &
pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q "pass  orders_out rows" "$T/int.err" 2>/dev/null; do
    sleep 0.2
    i=$((i + 1))
done
grep -q "pass  orders_out rows" "$T/int.err" && ok "interrupt: the slow check is running" ||
    bad "interrupt: the first check never finished: $(tail -5 "$T/int.err")"
sleep 1
kill -INT $pid
wait $pid
expect_rc "interrupt during a check" 130 $?
[ -s "$T/int/run.json" ] && ok "interrupt: run.json written" || bad "interrupt: no run.json"
[ -s "$T/int/summary.md" ] && ok "interrupt: summary.md written" || bad "interrupt: no summary.md"
tally "$(run_json "$T/int/run.json" '
check(run.get("interrupted") is True or run.get("exit_code") == 130,
      "run.json says the run was interrupted (exit_code %s)" % run.get("exit_code"))
check("sleepy_out rows" not in checks, "the cancelled check is not a verdict")
')"

hx_valid_all_runjson "every run.json written"
hx_done
