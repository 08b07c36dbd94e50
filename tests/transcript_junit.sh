#!/usr/bin/env bash
# Render junit.xml from every run.json fixture with the report writer, then check each file the
# way CI consumers will see it:
#   1. xmllint validates it against the dialect's own schema, docs/junit-harness.xsd (the npm
#      parsers accept broken XML silently, so only a schema-validating parser proves it is well
#      formed and in the dialect docs/junit.md describes);
#   2. npm's test-results-parser counts the same tests, failures, errors and skips as run.json's
#      totals, both from the attributes and from the testcase elements;
#   3. junit-report-merger merges all files (as shards are merged) and the merged file still
#      parses with the summed counts.
# usage: transcript_junit.sh REP_DRIVER   (env: HX_SOURCE_ROOT)
set -euo pipefail
driver=${1:?usage: transcript_junit.sh path/to/rep_driver}
src=${HX_SOURCE_ROOT:?HX_SOURCE_ROOT is not set; run through meson test}
xsd="$src/docs/junit-harness.xsd"
consumers="$src/tests/junit_consumers"

fail() { echo "transcript_junit: FAIL: $*" >&2; exit 1; }

[ -r "$xsd" ] || fail "the JUnit schema is missing: looked for '$xsd'"
command -v xmllint >/dev/null || fail "xmllint is not installed (apt-get install libxml2-utils)"
command -v node >/dev/null || fail "node is not installed; the JUnit consumer check needs Node.js 18 or later"
if [ ! -d "$consumers/node_modules" ]; then
    echo "transcript_junit: installing the JUnit consumers (npm ci in tests/junit_consumers)" >&2
    command -v npm >/dev/null || fail "npm is not installed and tests/junit_consumers/node_modules is missing"
    if ! (cd "$consumers" && npm ci --no-audit --no-fund >&2); then
        rm -rf "$consumers/node_modules"
        fail "npm ci failed in tests/junit_consumers (is the npm registry reachable?); the consumer check cannot run"
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hx-transcript-junit.XXXXXX")
trap 'rm -rf "$work"' EXIT

xmls=()
for run in "$src"/tests/fixtures/runs/*.json; do
    name=$(basename "$run" .json)
    xml="$work/$name.xml"
    "$driver" "$run" "$xml" "$work/$name.md" || fail "$name: the writer failed"
    xmllint --noout --schema "$xsd" "$xml" 2>"$work/lint.txt" ||
        fail "$name: junit.xml does not validate against junit-harness.xsd: $(head -5 "$work/lint.txt")"
    xmls+=("$xml")
done

node "$consumers/check.js" "${xmls[@]}" >"$work/counts.json" || fail "check.js failed (see above)"

python3 - "$work/counts.json" "$src"/tests/fixtures/runs/*.json <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
runs = sys.argv[2:]
def expect(path):
    t = json.load(open(path))["totals"]
    tests = sum(t.get(k, 0) for k in ("checks_passed", "checks_warned", "checks_failed",
                                      "checks_errored", "checks_skipped", "thresholds_passed",
                                      "thresholds_failed", "thresholds_skipped",
                                      "invocations_passed", "invocations_failed",
                                      "scenario_errors", "run_errors"))
    # A solution invocation is a testcase (failed on a non-zero exit, a signal or a timeout); a
    # run that did not finish cleanly is one error testcase.
    failures = t["checks_failed"] + t["thresholds_failed"] + t.get("invocations_failed", 0)
    errors = t["checks_errored"] + t["scenario_errors"] + t.get("run_errors", 0)
    skipped = t["checks_skipped"] + t["thresholds_skipped"]
    passed = tests - failures - errors - skipped
    # test-results-parser's total leaves skipped tests out; a case with <error> is a FAIL to it.
    return {"totals": {"total": tests - skipped, "passed": passed, "failed": failures,
                       "errors": errors, "skipped": skipped},
            "cases": {"pass": passed, "fail": failures + errors, "skip": skipped}}
bad = 0
def compare(label, want, have):
    global bad
    for part in ("totals", "cases"):
        if want[part] != have[part]:
            print(f"transcript_junit: FAIL: {label}: {part} from run.json {want[part]} != "
                  f"test-results-parser {have[part]}", file=sys.stderr)
            bad = 1
total = {"totals": {}, "cases": {}}
for run, f in zip(runs, got["files"]):
    want = expect(run)
    compare(run.rsplit("/", 1)[-1], want, f)
    for part in ("totals", "cases"):
        for k, v in want[part].items():
            total[part][k] = total[part].get(k, 0) + v
    print(f"{run.rsplit('/', 1)[-1]}: {json.dumps(f['totals'])}")
compare("merged", total, got["merged"])
print(f"merged: {json.dumps(got['merged']['totals'])}")
sys.exit(bad)
PY
echo "transcript_junit: ok (${#xmls[@]} files valid against junit-harness.xsd, counts equal run.json in test-results-parser and after junit-report-merger)"
