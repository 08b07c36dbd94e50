#!/bin/sh
# The `file` check through `harness run`: the pack tests/packs/files replays three CSV drops with
# duplicates and corrupt lines, and its checks compare what the solution writes into its output
# folder with the ledger. files_good (dedup, last version wins; corrupt lines rejected) passes
# every check; files_bad (rows missing, one extra, one altered, a malformed line, a symlink to
# /etc/passwd) fails the right checks with samples that name the rows and the file:line, and the
# harness never reads through the symlink.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/files"
SOLS="$ROOT/tests/solutions"
XSD="$ROOT/docs/junit-harness.xsd"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-files
export CI=1
reports_written() { # name dir
    if xmllint --noout "$2/junit.xml" 2>"$T/xmllint.err"; then
        ok "$1: junit.xml is well-formed"
    else
        bad "$1: junit.xml is not well-formed: $(head -3 "$T/xmllint.err")"
    fi
    xmllint --noout --schema "$XSD" "$2/junit.xml" 2>"$T/xmllint.err" &&
        ok "$1: junit.xml valid against junit-harness.xsd" ||
        bad "$1: junit.xml invalid: $(head -3 "$T/xmllint.err")"
    [ -s "$2/report.html" ] && ok "$1: report.html written" || bad "$1: no report.html"
}
# Assertions on run.json: python3 prints one "ok - ..." or "not ok - ..." line per assertion.
run_json() { # run.json python-body
    python3 - "$1" <<EOF
import json, sys
run = json.load(open(sys.argv[1]))
checks = {c["name"]: c for c in run["scenarios"][0]["checks"]}
def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
def samples(c):
    s = c.get("samples") or {}
    return [dict(zip(s.get("columns", []), r)) for r in s.get("rows", [])]
def counts(c):
    return {k["name"]: k["value"] for k in c.get("counts", [])}
$2
EOF
}
tally() { # output of run_json
    printf '%s\n' "$1"
    n=$(printf '%s\n' "$1" | grep -c '^not ok')
    fails=$((fails + n))
    printf '%s\n' "$1" | grep -q '^ok' || bad "run.json assertions did not run"
}

# 1. files_good passes every file check. Run from $T with a relative --out: the solution runs in
#    its own folder, so the harness must hand it absolute input and output paths.
(cd "$T" && "$BIN" run "$PACK" --solution "$SOLS/files_good" --out good 2>"$T/good.err")
rc=$?
expect_rc "files_good passes" 0 $rc
[ $rc = 0 ] || tail -20 "$T/good.err"
reports_written files_good "$T/good"
tally "$(run_json "$T/good/run.json" '
files = [c for c in checks.values() if c["kind"] == "file"]
check(len(files) == 5, "files_good: 5 file checks ran (%d)" % len(files))
for c in files:
    check(c["status"] == "pass", "files_good: %s passes (%s: %s)" % (c["name"], c["status"], c.get("message", c.get("actual"))))
c = checks["orders.csv matches the ledger"]
check(c["actual"].endswith("0 missing, 0 extra, 0 mismatched") and c["expected"] == c["actual"].split(":")[0],
      "files_good: orders.csv has every expected row (%s / %s)" % (c["expected"], c["actual"]))
n = int(checks["rejects.csv has every corrupt line"]["expected"].split()[0])
check(n > 0, "files_good: the drops held corrupt lines to reject (%d)" % n)
sc = run["scenarios"][0]
b = {m["name"]: m["value"] for m in sc["metrics"]}.get("solution.output.bytes", 0)
check(b > 0, "files_good: its output files are measured (%s bytes)" % b)
for c in sc["cost"]:
    fs = [l for l in c["lines"] if l["component"].startswith("file storage")]
    per = 1e9 if fs and fs[0]["unit"] == "GB-month" else 2 ** 30
    want = b * c["scale_factor"] * c["runs_per_month"] / per
    check(len(fs) == 1 and fs[0]["kind"] == "variable" and abs(fs[0]["quantity"] - want) <= 1e-9 * want,
          "%s: the output files are billed as file storage, %.6g %s a month (%s)" % (c["model"], want, fs[0]["unit"] if fs else "-", fs))
    db = [l["component"] for l in c["lines"] if l["component"].startswith("database")]
    check(not db, "%s: no database line, the pack uses no PostgreSQL (%s)" % (c["model"], db))
')"

# 2. files_bad, under strace when it can run here: every file the processes open is logged.
SPOILED="$T/bad/orders_to_files/logs/batch-0002.stdout.log"
seccomp=--seccomp-bpf # only the traced calls stop the processes, where the kernel allows it
strace -f $seccomp -qq -o /dev/null true 2>/dev/null || seccomp=
# files_bad starts from files_good's output: the box shows a solution only its own folder, so
# the copy under test carries files_good's program beside its own.
cp -r "$SOLS/files_bad" "$T/files_bad" && cp "$SOLS/files_good/run.lua" "$T/files_bad/good.lua"
if strace -f $seccomp -qq -o /dev/null true 2>/dev/null; then
    # LeakSanitizer cannot run under ptrace (the ASan pass would abort); the other runs of this
    # test keep leak detection.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f $seccomp -qq -e trace=open,openat -o "$T/bad.trace" \
        "$BIN" run "$PACK" --solution "$T/files_bad" --out "$T/bad" 2>"$T/bad.err"
    rc=$?
else
    "$BIN" run "$PACK" --solution "$T/files_bad" --out "$T/bad" 2>"$T/bad.err"
    rc=$?
fi
expect_rc "files_bad fails" 1 $rc
reports_written files_bad "$T/bad"
[ -s "$SPOILED" ] && ok "files_bad said what it spoiled" || bad "no $SPOILED"
missing=$(awk '$1 == "missing" { printf "%s\"%s\"", sep, $2; sep = "," }' "$SPOILED")
mismatched=$(awk '$1 == "mismatched" { print $2 }' "$SPOILED")
tally "$(run_json "$T/bad/run.json" "
st = {n: c['status'] for n, c in checks.items()}
for n in ('orders.csv matches the ledger', 'orders.csv row count', 'summary.jsonl has one row'):
    check(st.get(n) == 'fail', 'files_bad: %s fails (%s)' % (n, st.get(n)))
for n in ('orders.jsonl matches the ledger', 'rejects.csv has every corrupt line'):
    check(st.get(n) == 'pass', 'files_bad: %s still passes (%s)' % (n, st.get(n)))
c = checks['orders.csv matches the ledger']
k = counts(c)
check(k.get('missing') == 2 and k.get('extra') == 1 and k.get('mismatched') == 1,
      'files_bad: counts 2 missing, 1 extra, 1 mismatched (%s)' % k)
rows = samples(c)
kinds = {}
for r in rows:
    kinds.setdefault(r['kind'], []).append(r)
check(sorted(r['id'] for r in kinds.get('missing', [])) == sorted([$missing]),
      'files_bad: the missing sample names the dropped ids [$missing]')
check([r['id'] for r in kinds.get('extra', [])] == ['999999'], 'files_bad: the extra sample names id 999999')
mm = kinds.get('mismatch', [])
check(len(mm) == 1 and mm[0]['id'] == '$mismatched' and mm[0]['column'] == 'amount'
      and round(float(mm[0]['actual']) - float(mm[0]['expected']), 2) == 1,
      'files_bad: the mismatch sample names id $mismatched, amount, expected and actual (%s)' % mm)
mal = kinds.get('malformed', [])
check(len(mal) == 1 and mal[0]['id'] == 'out/orders.csv:3' and 'fields' in mal[0]['actual'],
      'files_bad: the malformed line is sampled as out/orders.csv:3 (%s)' % mal)
c = checks['orders.csv row count']
check([r['where'] for r in samples(c)] == ['out/orders.csv:3'], 'files_bad: the row count samples out/orders.csv:3')
check(c['expected'] != c['actual'], 'files_bad: the row count shows expected and actual (%s / %s)' % (c['expected'], c['actual']))
c = checks['summary.jsonl has one row']
check('leads outside the output folder' in c.get('message', ''),
      'files_bad: the symlink leaves the output folder (%s)' % c.get('message'))
check(c.get('actual') == 'a link to /etc/passwd', 'files_bad: actual names the link target (%s)' % c.get('actual'))
")"

# junit.xml names each failing file check, with expected and actual in the failure.
for name in "orders.csv matches the ledger" "orders.csv row count" "summary.jsonl has one row"; do
    body=$(awk -v n="name=\"$name\"" 'index($0, n) { on = 1 } on { print } on && /<\/testcase>/ { exit }' \
        "$T/bad/junit.xml")
    if printf '%s' "$body" | grep -q "<failure" && printf '%s' "$body" | grep -q ">expected: " &&
        printf '%s' "$body" | grep -q "^actual: "; then
        ok "junit.xml: '$name' fails with expected and actual"
    else
        bad "junit.xml: '$name' lacks a failure with expected/actual: $body"
    fi
done
grep -q "out/orders.csv:3" "$T/bad/junit.xml" && ok "junit.xml: the malformed line is named" ||
    bad "junit.xml lacks out/orders.csv:3"
grep -q "leads outside the output folder" "$T/bad/junit.xml" &&
    ok "junit.xml: the symlink leaves the output folder" || bad "junit.xml lacks the symlink message"

# Nothing outside the run's folder was read through the symlink: no report holds a line of
# /etc/passwd, and (under strace) no process opened the link, nor /etc/passwd once the checks
# had begun reading the output folder (the harness looks up the server's user at start-up).
line=$(head -1 /etc/passwd)
leak=$(grep -lF "$line" "$T/bad/run.json" "$T/bad/junit.xml" "$T/bad/summary.md" "$T/bad/report.html")
[ -z "$leak" ] && ok "no report holds the content of /etc/passwd" || bad "/etc/passwd leaked into $leak"
if [ -f "$T/bad.trace" ]; then
    grep -q 'output/out/orders.csv", O_RDONLY' "$T/bad.trace" &&
        ok "strace saw the checks read the output folder" || bad "strace saw no check read out/orders.csv"
    opened=$(awk '/output\/out\/orders.csv", O_RDONLY/ { on = 1 }
                  /output\/out\/summary.jsonl"/ || (on && /"\/etc\/passwd"/)' "$T/bad.trace")
    [ -z "$opened" ] && ok "neither the symlink nor /etc/passwd was opened during the checks" ||
        bad "opened during the checks: $opened"
else
    ok "# skip strace cannot trace here"
fi

# 3. The manifest: run.json records each sheet's path and the sha256 of its bytes, so one changed
#    price is a changed hash (issue 11's acceptance). A copy of a shipped sheet, then the same
#    copy with one price a hundredth of a cent higher.
mkdir -p "$T/sheets"
cp "$ROOT/cost-models/aws-us-east-1.json" "$T/sheets/"
sheet_hash() { # out-dir: the sha256 run.json records for the sheet
    jq -r '.price_sheets[] | select(.name == "aws-us-east-1") | .sha256' "$1/run.json"
}
for n in 1 2; do
    [ $n = 2 ] && sed -i 's/"price": 0.04048/"price": 0.04049/' "$T/sheets/aws-us-east-1.json"
    (cd "$T" && "$BIN" run "$PACK" --solution "$SOLS/files_good" --out "sheet$n" \
        --cost-models "$T/sheets" --cost-model aws-us-east-1 2>"$T/sheet$n.err")
    expect_rc "files_good priced with sheet copy $n" 0 $?
    want=$(sha256sum "$T/sheets/aws-us-east-1.json" | cut -d' ' -f1)
    [ "$(sheet_hash "$T/sheet$n")" = "$want" ] &&
        ok "run.json holds the sha256 of the sheet's bytes ($n)" ||
        bad "run.json sha256 '$(sheet_hash "$T/sheet$n")', the file's $want ($n)"
    jq -e --arg p "$T/sheets/aws-us-east-1.json" '.price_sheets[0].path == $p' "$T/sheet$n/run.json" \
        >/dev/null && ok "run.json names the sheet's path ($n)" || bad "run.json: sheet path ($n)"
done
[ "$(sheet_hash "$T/sheet1")" != "$(sheet_hash "$T/sheet2")" ] &&
    ok "one changed price changes the sheet's sha256 in run.json" ||
    bad "one changed price left the sheet's sha256 as it was"

hx_valid_all_runjson "every run.json written"
hx_done
