#!/bin/sh
# Plugins through the real CLI: `harness check` refuses a plugin parameter the plugin does not
# declare, and `harness run` turns a segfaulting, hanging, exiting and wrong-ABI plugin into error
# results (with the cause in run.json and junit.xml) while the checks around them still run.
# Containment (docs/solutions.md "Threat model"): `harness check` lets no plugin constructor
# write a file, a plugin whose init crashes is exit 3 for check and run (with reports), and a
# check's daemon is gone 3 s after the run.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
BUILD=${HX_BUILD_ROOT:?}
. "$ROOT/tests/lib.sh"
hx_tempdir hx-plugrun
export CI=1

cp -r "$ROOT/scenarios/ecommerce-etl-foundation" "$T/pack"
sed -i 's/fact_grain { table = "fct_orders"/fact_grain { tabel = "fct_orders"/' "$T/pack/lib/foundation.lua"
"$BIN" check "$T/pack" 2>"$T/check.err"
rc=$?
[ $rc = 2 ] && ok "check: unknown plugin parameter exits 2" || bad "check exit $rc"
grep -q "foundation.lua:[0-9]*: .*'tabel' (did you mean 'table'?)" "$T/check.err" &&
    ok "check: names file:line and suggests the parameter" || bad "check said: $(cat "$T/check.err")"

CI= "$BIN" run "$ROOT/tests/packs/plugins" --solution "$ROOT/tests/solutions/noop" \
    --plugin-path "$BUILD/tests/plugins" --plugin-timeout 2s --out "$T/run" 2>"$T/run.err"
rc=$?
[ $rc = 3 ] && ok "run: plugin errors make the run an error (exit 3)" || bad "run exit $rc: $(tail -5 "$T/run.err")"
# A passing check's message stays out of the terminal line, and so does its separator.
grep -q '^  pass  misbehave.ok$' "$T/run.err" && ! grep -q '^  pass .*: *$' "$T/run.err" &&
    ok "run: a passing plugin check's line ends at its name" ||
    bad "run: pass lines: $(grep '^  pass' "$T/run.err")"
for cause in SIGSEGV "timed out" "status 3" "ABI version 99"; do
    grep -q "$cause" "$T/run/run.json" && ok "run.json names '$cause'" || bad "run.json lacks '$cause'"
    grep -q "$cause" "$T/run/junit.xml" && ok "junit.xml names '$cause'" || bad "junit.xml lacks '$cause'"
done
n=$(grep -c "<error" "$T/run/junit.xml")
[ "$n" = 4 ] && ok "junit.xml has 4 errors" || bad "junit.xml has $n errors, want 4"
grep -q '"after the plugins"' "$T/run/run.json" &&
    python3 -c "
import json,sys
r=json.load(open('$T/run/run.json'))
c={k['name']:k['status'] for k in r['scenarios'][0]['checks']}
sys.exit(0 if c['after the plugins']=='pass' and c['misbehave.ok']=='pass' else 1)" &&
    ok "the checks after the broken plugins still ran and passed" || bad "later checks did not pass"
# A plugin's measurements reach run.json: metric() as plugin.<plugin>.<name>, hist_record() as a
# histogram of that name with its percentiles as metrics, all usable in thresholds.
python3 - "$T/run/run.json" <<'EOF' && ok "run.json holds the plugin's metrics and histogram" ||
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
m = {x["name"]: x["value"] for x in s.get("metrics", [])}
h = {x["name"]: x for x in s.get("histograms", [])}
t = {x["metric"]: x for x in s.get("thresholds", [])}
print("metrics", {k: v for k, v in m.items() if k.startswith("plugin.")}, "thresholds", t)
assert m.get("plugin.misbehave.answer") == 2
lat = h["plugin.misbehave.lat"]
assert lat["count"] == 5 and lat["unit"] == "s" and abs(lat["max"] - 2) < 0.01
assert abs(m["plugin.misbehave.lat.p99"] - 2) < 0.01
assert t["plugin.misbehave.answer"]["status"] == "pass"
assert t["plugin.misbehave.lat.p99"]["status"] == "pass"
EOF
    bad "plugin measurements missing from run.json"

# Containment. The constructor of ctor_marker writes $HX_TEST_MARKER wherever it runs.
LOAD="$ROOT/tests/packs/plugin_load"
HX_TEST_MARKER="$T/marker" "$BIN" check "$LOAD" --plugin-path "$BUILD/tests/plugins" 2>"$T/load.err"
rc=$?
[ $rc = 3 ] && ok "check: a plugin whose init crashes exits 3" || bad "check exit $rc: $(cat "$T/load.err")"
grep -q "init_crash.so' crashed while loading: its worker killed by signal SIGSEGV" "$T/load.err" &&
    ok "check: names the crash" || bad "check said: $(cat "$T/load.err")"
if grep -q "no Landlock" "$T/load.err"; then
    # a kernel without Landlock: check refuses to run the plugins' code at all
    ok "check: no Landlock here, the plugins were refused: $(grep -c "no Landlock" "$T/load.err") lines"
else
    [ "$(grep -c "containment.lua" "$T/load.err")" = 1 ] &&
        ok "check: the confined worker read the other plugins" || bad "check said: $(cat "$T/load.err")"
fi
[ ! -e "$T/marker" ] && ok "check: the plugin's constructor wrote nothing" ||
    bad "check: the constructor wrote $T/marker (from pid $(cat "$T/marker"))"
HX_TEST_MARKER="$T/marker" "$BIN" check "$LOAD" --plugin-path "$BUILD/tests/plugins" \
    --trust-plugins 2>"$T/trust.err"
[ -s "$T/marker" ] && ok "check --trust-plugins: the constructor ran, in its worker" ||
    bad "check --trust-plugins: no marker: $(cat "$T/trust.err")"
rm -f "$T/marker"
HX_TEST_MARKER="$T/marker" "$BIN" run "$LOAD" --solution "$ROOT/tests/solutions/noop" \
    --plugin-path "$BUILD/tests/plugins" --out "$T/load" 2>"$T/loadrun.err"
rc=$?
[ $rc = 3 ] && ok "run: a plugin whose init crashes exits 3" || bad "run exit $rc: $(tail -5 "$T/loadrun.err")"
st=$(python3 -c "
import json,sys
r=json.load(open('$T/load/run.json'))
c={k['name']:k for k in r['scenarios'][0]['checks']}
print(c['init_crash.never']['status'], 'SIGSEGV' in c['init_crash.never']['message'],
      c['ctor_marker.ok']['status'], c['daemonize.spawn']['status'], c['after the plugins']['status'])" 2>&1)
[ "$st" = "error True pass pass pass" ] && ok "run.json: the crashing init is an error of its check, the others pass" ||
    bad "run.json checks: $st"
grep -q "init_crash" "$T/load/junit.xml" && ok "junit.xml written with the crash" || bad "junit.xml lacks init_crash"
daemon=$(python3 -c "
import json
r=json.load(open('$T/load/run.json'))
print([k for k in r['scenarios'][0]['checks'] if k['name']=='daemonize.spawn'][0]['actual'])" 2>/dev/null)
sleep 3
case "$daemon" in
'' | *[!0-9]*) bad "run.json: no daemon pid: '$daemon'" ;;
*) if [ -e "/proc/$daemon" ] && grep -q hx-plug-daemon "/proc/$daemon/comm" 2>/dev/null; then
    bad "the plugin's daemon $daemon is alive 3 s after the run"
    kill -9 "$daemon"
else
    ok "no process of the plugin alive 3 s after the run (daemon $daemon)"
fi ;;
esac

hx_valid_all_runjson "every run.json written"
hx_done
