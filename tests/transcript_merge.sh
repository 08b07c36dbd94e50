#!/bin/sh
# Transcript test of `harness merge`: the real foundation pack run by the set-based reference
# solution as two shards (real PostgreSQL, real solution processes), merged; then the merge's
# refusals and exit codes on those same files (no further runs, to keep this quick).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/scenarios/ecommerce-etl-foundation"
SOL="$ROOT/examples/solutions/ecommerce-etl-foundation/setbased"
XSD="$ROOT/docs/junit-harness.xsd"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-merge-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1

junit_valid() { # name file
    if [ ! -f "$XSD" ]; then bad "$1: JUnit schema not found at $XSD"; return; fi
    if xmllint --noout --schema "$XSD" "$2" 2>"$T/xmllint.err"; then ok "$1: junit.xml valid against junit-harness.xsd"; else bad "$1: junit.xml invalid: $(head -5 "$T/xmllint.err")"; fi
}

# 1. Two shards of the pack.
for i in 1 2; do
    "$BIN" run "$PACK" --solution "$SOL" --probe 0 --shard $i/2 --out "$T/S$i" 2>"$T/S$i.err"
    rc=$?
    expect_rc "shard $i/2 passes" 0 $rc
    [ $rc = 0 ] || tail -20 "$T/S$i.err"
done

# 2. Merged: every scenario once, in the pack's order; pass, exit 0; totals the shards' sums;
#    all four reports; JUnit valid.
env -u CI "$BIN" merge "$T/S1/run.json" "$T/S2/run.json" --out "$T/M" 2>"$T/M.err"
rc=$?
expect_rc "merge of both shards" 0 $rc
[ $rc = 0 ] || cat "$T/M.err"
for f in run.json junit.xml summary.md report.html; do
    [ -s "$T/M/$f" ] && ok "merge wrote $f" || bad "merge did not write $f"
done
junit_valid merged "$T/M/junit.xml"
"$BIN" list "$PACK" --json >"$T/list.json" 2>/dev/null || bad "harness list failed"
python3 - "$T/M/run.json" "$T/S1/run.json" "$T/S2/run.json" "$T/list.json" >"$T/check.txt" 2>&1 <<'PY'
import json, sys
m, a, b = (json.load(open(p)) for p in sys.argv[1:4])
pack = [s["name"] for s in json.load(open(sys.argv[4]))["scenarios"] if s["phase"] <= 1]
names = [s["name"] for s in m["scenarios"]]
problems = []
if len(names) != 6 or len(set(names)) != 6:
    problems.append("want 6 distinct scenarios, got %s" % names)
if names != pack:
    problems.append("order %s is not the pack's %s" % (names, pack))
if sorted(names) != sorted([s["name"] for s in a["scenarios"] + b["scenarios"]]):
    problems.append("not the union of the shards")
if m["verdict"] != "pass" or m["exit_code"] != 0:
    problems.append("verdict %s exit %s" % (m["verdict"], m["exit_code"]))
for k, v in m["totals"].items():
    if v != a["totals"][k] + b["totals"][k]:
        problems.append("totals.%s = %s, shards %s + %s" % (k, v, a["totals"][k], b["totals"][k]))
scores = [s["score"]["value"] for s in m["scenarios"] if s["score"]["scored"]]
if not m["score"]["scored"] or abs(m["score"]["value"] - sum(scores) / len(scores)) > 1e-9:
    problems.append("run score %s is not the mean of the scenarios'" % m["score"])
if m["partial"] or m["interrupted"]:
    problems.append("marked partial/interrupted")
if sorted(x["scenario"] for x in m["seeds"]) != sorted(names):
    problems.append("seeds do not cover the scenarios")
print("\n".join(problems) or "fine")
sys.exit(1 if problems else 0)
PY
[ $? = 0 ] && ok "merged run.json: 6 scenarios once in pack order, pass, totals and score add up" ||
    bad "merged run.json: $(cat "$T/check.txt")"
tests=$(grep -c '<testcase ' "$T/M/junit.xml")
want=$(($(grep -c '<testcase ' "$T/S1/junit.xml") + $(grep -c '<testcase ' "$T/S2/junit.xml")))
[ "$tests" = "$want" ] && ok "junit.xml has the shards' $want test cases" ||
    bad "junit.xml has $tests test cases, the shards $want"
grep -q "solution.wall over 6 scenarios" "$T/M.err" &&
    ok "merge reports the wall-time histogram merged over every scenario" ||
    bad "no merged wall-time line: $(cat "$T/M.err")"

# 3. Run folders as inputs, and the default output folder beside the first input.
"$BIN" merge "$T/S2" "$T/S1" 2>"$T/dirs.err"
expect_rc "merge of run folders, in any order" 0 $?
[ -s "$T/S2/merged/run.json" ] && ok "default output: merged/ beside the first input" ||
    bad "no $T/S2/merged/run.json"
cmp -s "$T/M/junit.xml" "$T/S2/merged/junit.xml" && ok "input order does not change the result" ||
    bad "junit.xml differs with the inputs swapped"

# 4. A missing shard: merged, partial, and said so.
"$BIN" merge "$T/S1/run.json" --out "$T/half" 2>"$T/half.err"
expect_rc "one shard of two" 0 $?
grep -q "shard 2/2 is not among the inputs" "$T/half.err" && ok "the missing shard is named" ||
    bad "missing shard not named: $(cat "$T/half.err")"
grep -q '"partial": true' "$T/half/run.json" && grep -q "partial run" "$T/half/summary.md" &&
    ok "the merged run is partial, and summary.md says so" || bad "half merge not marked partial"

# 4b. A shard that left only its journal (it did not finish): read, and the merged run is partial.
"$BIN" merge "$T/S1/run.journal.jsonl" "$T/S2" --out "$T/journal" 2>"$T/journal.err"
expect_rc "a shard's journal and a run" 0 $?
grep -q "run.journal.jsonl' is partial" "$T/journal.err" && grep -q '"partial": true' "$T/journal/run.json" &&
    ok "a journal input makes the merged run partial, and merge says so" ||
    bad "journal merge: $(cat "$T/journal.err")"

# 5. The same scenario twice: refused, naming it and both files.
"$BIN" merge "$T/S1/run.json" "$T/S1" --out "$T/dup" 2>"$T/dup.err"
expect_rc "the same shard twice" 2 $?
grep -q "scenario '[a-z_]*' is in both '$T/S1/run.json' and '$T/S1/run.json'" "$T/dup.err" &&
    ok "the duplicate scenario and both files are named" || bad "duplicate message: $(cat "$T/dup.err")"
[ ! -e "$T/dup" ] && ok "nothing written on refusal" || bad "$T/dup written although refused"

# 6. Runs of different solutions (or harness versions): refused, naming both files and the field.
mkdir -p "$T/other"
sed 's/"solution_name": "[^"]*"/"solution_name": "naive"/' "$T/S2/run.json" >"$T/other/run.json"
"$BIN" merge "$T/S1/run.json" "$T/other/run.json" --out "$T/mix" 2>"$T/mix.err"
expect_rc "different solutions" 2 $?
grep -q "'$T/S1/run.json' and '$T/other/run.json': their solution differs" "$T/mix.err" &&
    ok "the mismatch names both files and the field" || bad "mismatch message: $(cat "$T/mix.err")"
sed 's/"harness_version": "[^"]*"/"harness_version": "9.9.9"/' "$T/S2/run.json" >"$T/other/run.json"
"$BIN" merge "$T/S1/run.json" "$T/other/run.json" --out "$T/mix" 2>"$T/mix.err"
expect_rc "different harness versions" 2 $?
grep -q "harness version differs" "$T/mix.err" && ok "names the harness version" ||
    bad "version mismatch message: $(cat "$T/mix.err")"

# 7. A different machine is fine, and listed.
sed 's/"hostname": "[^"]*"/"hostname": "ci-runner-2"/' "$T/S2/run.json" >"$T/other/run.json"
"$BIN" merge "$T/S1/run.json" "$T/other/run.json" --out "$T/machines" 2>"$T/machines.err"
expect_rc "shards from two machines" 0 $?
grep -q "different machines" "$T/machines.err" && grep -q "ci-runner-2" "$T/machines.err" &&
    ok "the machines are listed" || bad "machines not listed: $(cat "$T/machines.err")"

# 8. Bad input and unwritable output.
printf '{"schema": "harness.run/1", "scenarios": [' >"$T/broken.json"
"$BIN" merge "$T/S1/run.json" "$T/broken.json" --out "$T/x" 2>"$T/broken.err"
expect_rc "a truncated run.json" 2 $?
grep -q "broken.json" "$T/broken.err" && ok "the bad file is named" || bad "bad file not named: $(cat "$T/broken.err")"
"$BIN" merge "$T/S1/run.json" "$T/nonexistent.json" 2>/dev/null
expect_rc "a missing input" 2 $?
"$BIN" merge 2>/dev/null
expect_rc "no input" 2 $?
: >"$T/afile"
"$BIN" merge "$T/S1/run.json" "$T/S2/run.json" --out "$T/afile/sub" 2>"$T/unwritable.err"
expect_rc "unwritable output" 3 $?

# 9. The merged exit code is the merged run's: a failing check in one shard fails the merge.
python3 - "$T/S2/run.json" "$T/other/run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["scenarios"][0]["checks"][0]["status"] = "fail"
json.dump(r, open(sys.argv[2], "w"))
PY
"$BIN" merge "$T/S1/run.json" "$T/other/run.json" --out "$T/failing" 2>/dev/null
expect_rc "a failed check in a shard" 1 $?

"$BIN" help merge | grep -q "usage: harness merge" && ok "harness help merge" || bad "no help for merge"

hx_valid_all_runjson "every run.json written"
hx_done
