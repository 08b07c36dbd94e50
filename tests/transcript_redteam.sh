#!/bin/sh
# Hostile solutions against the real binary, the embedded PostgreSQL and bubblewrap (docs/
# solutions.md "Threat model"): each attack here once changed a verdict or hid evidence, and each
# test fails if its hole reopens.
# 1. lingering (tests/packs/redteam late): the command ends at once and leaves the copy to a
#    server session that holds the output table locked, sleeps, then fills it. The harness ends
#    that session when the command ends: the check sees no rows and does not wait for the lock.
# 2. cdc_mirror_eat (tests/packs/cdc sync): the role has REPLICATION and keeps advancing the
#    harness's audit slot, so the changes in between never reach the audit. The audit sees the
#    slot moved and cdc_order fails saying so, instead of judging half the stream.
# 3. thief (tests/packs/redteam steal): copies nothing; its output is a view over a function that
#    returns the truth the diff keeps in a TEMP table of the check's session (the scenario role's).
#    The diff reads the sink before the truth is loaded: the view finds nothing and the check
#    fails. thief_plant: the function leaves a TEMP table of its own in that session; the diff
#    sees it and does not load the truth (an error).
# 4. thief_cdc (tests/packs/cdc sync): the same against cdc_state, with a plain table whose
#    columns are of its own type, cast to text by a function that returns the truth of the check's
#    session, and a forced row security policy that hides the keys the truth calls deleted. It
#    proves in its own session that this reads a truth exactly; cdc_state copies the target as
#    text before it loads the truth, so the casts find none and the check fails.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
. "$ROOT/tests/lib.sh"
hx_tempdir hx-redteam
export CI=1
unset HARNESS_SEED
mkdir -p "$T/sols"
for s in lingering cdc_mirror_eat thief thief_plant thief_cdc; do
    cp -r "$ROOT/tests/solutions/$s" "$T/sols/$s"
done
cp "$ROOT/tests/solutions/cdc_mirror/serve.sh" "$T/sols/cdc_mirror_eat/serve.sh"
cp "$ROOT/tests/solutions/thief/run.sh" "$T/sols/thief_plant/run.sh"
chmod -R o+rX "$T/sols"
field() { # run.json expression
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}

# 1. Work left to a session that outlives the command.
timeout 120 "$BIN" run "$ROOT/tests/packs/redteam" --solution "$T/sols/lingering" --scenario late \
    --out "$T/late" 2>"$T/late.err"
expect_rc "lingering: its check fails" 1 $?
st=$(field "$T/late/run.json" 'd["scenarios"][0]["checks"][0]["status"]')
act=$(field "$T/late/run.json" 'd["scenarios"][0]["checks"][0].get("actual")')
[ "$st" = fail ] && ok "lingering: orders_out rows fails ($act)" ||
    bad "lingering: orders_out rows is '$st' ($act): the session it left did the work"
grep -q "ended 1 PostgreSQL session of its role" "$T/late.err" &&
    ok "lingering: the warning says a session was ended" ||
    bad "lingering: no warning: $(tail -3 "$T/late.err")"
out=$(field "$T/late/run.json" 'd["scenarios"][0]["invocations"][0]["stdout_tail"]')
case "$out" in *"left the work to the server"*) ok "lingering: the attack ran" ;;
*) bad "lingering: the attack did not run: $out" ;;
esac

# 2. The harness's audit slot consumed by the solution's role.
timeout 120 "$BIN" run "$ROOT/tests/packs/cdc" --solution "$T/sols/cdc_mirror_eat" --scenario sync \
    --out "$T/eat" 2>"$T/eat.err"
expect_rc "cdc_mirror_eat fails" 1 $?
msg=$(field "$T/eat/run.json" '[c["message"] for c in d["scenarios"][0]["checks"] if c["name"] == "cdc_order customers"][0]')
case "$msg" in
*"advanced or consumed by another session"*) ok "cdc_mirror_eat: cdc_order names the moved audit slot" ;;
*) bad "cdc_mirror_eat: cdc_order: $msg" ;;
esac

# 3. The truth read through a view on the check's own session.
timeout 120 "$BIN" run "$ROOT/tests/packs/redteam" --solution "$T/sols/thief" --scenario steal \
    --out "$T/steal" 2>"$T/steal.err"
expect_rc "thief fails" 1 $?
act=$(field "$T/steal/run.json" 'd["scenarios"][0]["checks"][0].get("actual")')
case "$act" in
"0 rows: 50 missing"*) ok "thief: its view found no truth ($act)" ;;
*) bad "thief: orders_out diff: $act" ;;
esac
timeout 120 "$BIN" run "$ROOT/tests/packs/redteam" --solution "$T/sols/thief_plant" --scenario steal \
    --out "$T/plant" 2>"$T/plant.err"
expect_rc "thief_plant: the check is an error" 3 $?
msg=$(field "$T/plant/run.json" 'd["scenarios"][0]["checks"][0].get("message")')
case "$msg" in
*"temporary objects the harness did not make"*) ok "thief_plant: the diff names what was planted" ;;
*) bad "thief_plant: orders_out diff: $msg" ;;
esac

# 4. The truth read through casts and a row security policy on cdc_state's session.
timeout 120 "$BIN" run "$ROOT/tests/packs/cdc" --solution "$T/sols/thief_cdc" --scenario sync \
    --out "$T/cdcsteal" 2>"$T/cdcsteal.err"
expect_rc "thief_cdc fails" 1 $?
out=$(field "$T/cdcsteal/run.json" 'd["scenarios"][0]["invocations"][0]["stdout_tail"]')
case "$out" in
*"the table reads a session's truth: 7/e@x/3"*) ok "thief_cdc: its table reads a truth in its own session" ;;
*) bad "thief_cdc: the attack did not work in its own session: $out" ;;
esac
act=$(field "$T/cdcsteal/run.json" '[c.get("actual") for c in d["scenarios"][0]["checks"] if c["name"] == "cdc_state customers"][0]')
case "$act" in
*" 0 with a wrong version"* | *" 0 deleted at the source"*) bad "thief_cdc: cdc_state customers read the truth: $act" ;;
*"deleted at the source but present"*"with a wrong version or value"*) ok "thief_cdc: cdc_state found no truth ($act)" ;;
*) bad "thief_cdc: cdc_state customers: $act" ;;
esac

hx_valid_all_runjson "redteam"
hx_done
