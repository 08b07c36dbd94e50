#!/bin/sh
# Special files, run folders and early usage errors, through the real binary (issue 12):
# - a FIFO or a link to /dev/zero where the harness reads a file (solution.json, a pack's .lua,
#   a required module, `harness report`'s input, the README and ADRs the adr/readme checks read)
#   is refused at once, naming the file and what it is: exit 2 (the checks: fail), never a hang;
# - two runs with the default --out started together in one folder get two run folders, a name
#   already taken gets a suffix, and runs/latest is swapped whole;
# - --out naming a file is a usage error before anything starts;
# - require stays inside the pack (links included) and a `file` check's absolute or escaping path
#   is refused by `harness check` at the scenario's line.
# Every harness call runs under `timeout`, so a hang fails the test instead of hanging CI.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/tests/packs/special"
SOLS="$ROOT/tests/solutions"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-special
export CI=1
says() { # name file text: the file holds text
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in: $(head -c 600 "$2")"; fi
}
hx() { timeout 120 "$BIN" "$@"; } # 124 (timed out) never matches an expected exit code

# 1. solution.json as a FIFO, then as a link to /dev/zero: exit 2 at once, naming the file.
mkdir "$T/fifo_sol" "$T/zero_sol"
mkfifo "$T/fifo_sol/solution.json"
ln -s /dev/zero "$T/zero_sol/solution.json"
(cd "$T" && hx run "$PACK" --solution fifo_sol --scenario plain 2>"$T/fifo_sol.err")
expect_rc "a FIFO solution.json is a usage error" 2 $?
says "the FIFO solution.json is named" "$T/fifo_sol.err" "'fifo_sol/solution.json' is a FIFO"
(cd "$T" && hx run "$PACK" --solution zero_sol --scenario plain 2>"$T/zero_sol.err")
expect_rc "solution.json linked to /dev/zero is a usage error" 2 $?
says "the /dev/zero link is named" "$T/zero_sol.err" \
    "'zero_sol/solution.json' (a link to '/dev/zero') is a character device"
[ -e "$T/runs" ] && bad "a refused solution made a run folder" || ok "no run folder for a refused solution"

# 2. A FIFO scenario file in a pack: check and run refuse it, naming it.
cp -r "$PACK" "$T/pack_fifo"
mkfifo "$T/pack_fifo/zz.lua"
hx check "$T/pack_fifo" 2>"$T/pack_fifo.err"
expect_rc "check: a FIFO .lua in the pack" 2 $?
says "check names the FIFO .lua" "$T/pack_fifo.err" "pack_fifo/zz.lua' is a FIFO"
(cd "$T" && hx run "$T/pack_fifo" --solution "$SOLS/env_log" --out fifo_run 2>"$T/pack_fifo_run.err")
expect_rc "run: a FIFO .lua in the pack" 2 $?
says "run names the FIFO .lua" "$T/pack_fifo_run.err" "pack_fifo/zz.lua' is a FIFO"

# 3. require: a module that is a FIFO, and a module reached through a link out of the pack.
cp -r "$PACK" "$T/pack_req"
mkdir "$T/pack_req/lib2" "$T/outside"
echo 'return { rows = 5 }' >"$T/outside/m.lua"
mkfifo "$T/pack_req/lib2/m.lua"
sed -i '1i local m = require "lib2.m"' "$T/pack_req/plain.lua"
hx check "$T/pack_req" 2>"$T/req_fifo.err"
expect_rc "check: a required module that is a FIFO" 2 $?
says "the FIFO module is named at the require" "$T/req_fifo.err" \
    "plain.lua:1: require 'lib2.m': '$T/pack_req/lib2/m.lua' is a FIFO"
rm "$T/pack_req/lib2/m.lua"
ln -s "$T/outside/m.lua" "$T/pack_req/lib2/m.lua"
hx check "$T/pack_req" 2>"$T/req_file.err"
expect_rc "check: a module linked out of the pack" 2 $?
says "a file link out of the pack is refused" "$T/req_file.err" "leads outside the pack"
rm -r "$T/pack_req/lib2"
ln -s "$T/outside" "$T/pack_req/lib2"
hx check "$T/pack_req" 2>"$T/req_dir.err"
expect_rc "check: a module in a folder linked out of the pack" 2 $?
says "a folder link out of the pack is refused" "$T/req_dir.err" \
    "leads outside the pack (to '$(cd "$T/outside" && pwd -P)/m.lua')"
rm "$T/pack_req/lib2"
mkdir "$T/pack_req/lib2"
cp "$T/outside/m.lua" "$T/pack_req/lib2/m.lua"
hx check "$T/pack_req" >"$T/req_ok.out" 2>&1
expect_rc "check: the same module as a file of the pack loads" 0 $?

# 3b. A workload's query file of the pack: a link out of the pack, then a FIFO, refused at load
#     naming the file; a FIFO as the solution's own queries/<name>.sql puts the scenario in error.
cp -r "$ROOT/tests/packs/analytics" "$T/pack_q"
mv "$T/pack_q/queries/top_products.sql" "$T/top_products.sql"
ln -s "$T/top_products.sql" "$T/pack_q/queries/top_products.sql"
hx check "$T/pack_q" 2>"$T/q_link.err"
expect_rc "check: a query file linked out of the pack" 2 $?
says "the query file link is refused" "$T/q_link.err" \
    "queries[2].file: '$T/pack_q/queries/top_products.sql' leads outside the pack"
rm "$T/pack_q/queries/top_products.sql"
mkfifo "$T/pack_q/queries/top_products.sql"
hx check "$T/pack_q" 2>"$T/q_fifo.err"
expect_rc "check: a query file that is a FIFO" 2 $?
says "the FIFO query file is named" "$T/q_fifo.err" \
    "queries[2].file: '$T/pack_q/queries/top_products.sql' is a FIFO"
mkdir -p "$T/q_sol/queries"
printf '{ "name": "q", "batch": "true" }\n' >"$T/q_sol/solution.json"
mkfifo "$T/q_sol/queries/top_products.sql"
chmod -R a+rX "$T/q_sol"
(cd "$T" && hx run "$ROOT/tests/packs/analytics" --scenario queries --solution q_sol --out q_run \
    2>"$T/q_sol.err")
expect_rc "run: the solution's query file is a FIFO" 2 $?
says "the solution's FIFO query file is named" "$T/q_sol.err" \
    "q_sol/queries/top_products.sql' is a FIFO"

# 4. A file check's path: absolute, or leaving the output folder: check refuses it at its line.
for p in /etc/passwd ../seen.csv out/../../seen.csv; do
    rm -rf "$T/pack_path"
    cp -r "$PACK" "$T/pack_path"
    sed -i "s|path = \"seen.csv\"|path = \"$p\"|" "$T/pack_path/plain.lua"
    line=$(grep -n "path = \"$p\"" "$T/pack_path/plain.lua" | cut -d: -f1)
    hx check "$T/pack_path" 2>"$T/path.err"
    expect_rc "check: file path '$p'" 2 $?
    says "check names plain.lua:$line for '$p'" "$T/path.err" "plain.lua:$line: file.path: '$p'"
done

# 5. harness report of a FIFO run.json or journal: exit 2, naming it.
mkfifo "$T/run.json" "$T/run.journal.jsonl"
hx report "$T/run.json" 2>"$T/report.err"
expect_rc "report: a FIFO run.json" 2 $?
says "report names the FIFO run.json" "$T/report.err" "'$T/run.json' is a FIFO"
hx report "$T/run.journal.jsonl" 2>"$T/report_j.err"
expect_rc "report: a FIFO journal" 2 $?
says "report names the FIFO journal" "$T/report_j.err" "'$T/run.journal.jsonl' is a FIFO"
hx compare "$T/run.json" "$T/run.json" >/dev/null 2>"$T/compare.err"
expect_rc "compare: a FIFO run.json" 2 $?
rm "$T/run.json" "$T/run.journal.jsonl"

# 6. --out naming a file (or a path through one): a usage error before any service starts.
echo keep >"$T/afile"
(cd "$T" && hx run "$PACK" --solution "$SOLS/env_log" --out afile 2>"$T/out_file.err")
expect_rc "--out naming a file" 2 $?
says "--out's file is named" "$T/out_file.err" "--out 'afile': 'afile' exists and is not a folder"
(cd "$T" && hx run "$PACK" --solution "$SOLS/env_log" --out afile/sub 2>"$T/out_sub.err")
expect_rc "--out through a file" 2 $?
says "--out's file on the way is named" "$T/out_sub.err" "'afile' exists and is not a folder"
[ "$(cat "$T/afile")" = keep ] && ok "the file named by --out is untouched" || bad "--out's file changed"
grep -q "postgres" "$T/out_file.err" && bad "--out naming a file started postgres" ||
    ok "--out naming a file is refused before postgres starts"

# 7. The README and an ADR the adr and readme checks read, as a FIFO and a link to /dev/zero:
#    both checks fail naming the file and what it is; the run ends (exit 1).
mkdir "$T/docs_run"
cp -r "$SOLS/env_log" "$T/docs_sol"
chmod -R a+rX "$T/docs_sol"
mkfifo "$T/docs_sol/README.md"
mkdir "$T/docs_sol/adr"
ln -s /dev/zero "$T/docs_sol/adr/0001-choice.md"
(cd "$T" && hx run "$PACK" --solution docs_sol --scenario docs --out docs_run 2>"$T/docs.err")
expect_rc "a FIFO README and a /dev/zero ADR fail their checks" 1 $?
python3 - "$T/docs_run/run.json" <<'EOF' >"$T/docs.tap"
import json, sys
run = json.load(open(sys.argv[1]))
checks = {c["name"]: c for c in run["scenarios"][0]["checks"]}
def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
r = checks["readme reads the README"]
check(r["status"] == "fail" and r["message"].startswith("'README.md' is a FIFO"),
      "readme: fails naming the FIFO README.md (%s: %s)" % (r["status"], r["message"]))
a = checks["adr reads the README"]
rows = {row[0]: row[1] for row in a["samples"]["rows"]}
check(a["status"] == "fail", "adr: fails (%s)" % a["status"])
check("'README.md' is a FIFO" in rows.get("README.md", ""), "adr: names the FIFO README (%s)" % rows)
check("'adr/0001-choice.md' (a link to '/dev/zero') is a character device" in
      rows.get("adr/0001-choice.md", ""), "adr: names the /dev/zero ADR (%s)" % rows)
EOF
cat "$T/docs.tap"
fails=$((fails + $(grep -c '^not ok' "$T/docs.tap")))
grep -q '^ok' "$T/docs.tap" || bad "the run.json assertions did not run"

# 8. Two runs with the default --out started together in one folder. The folder names of the
#    next seconds are taken already (a previous run's, with a file in it), so both runs must
#    find a free name: two new run folders, the old ones untouched, runs/latest one of the two.
mkdir -p "$T/par/runs"
now=$(date -u +%s)
for i in 0 1 2 3 4 5; do
    d="$T/par/runs/$(date -u -d "@$((now + i))" +%Y%m%d-%H%M%S)-special"
    mkdir "$d" && echo old >"$d/marker"
done
chmod -R 711 "$T/par"
(cd "$T/par" && hx run "$PACK" --solution "$SOLS/env_log" --scenario plain -q 2>"$T/par1.err") &
p1=$!
(cd "$T/par" && hx run "$PACK" --solution "$SOLS/env_log" --scenario plain -q 2>"$T/par2.err") &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
expect_rc "parallel run 1" 0 $rc1
expect_rc "parallel run 2" 0 $rc2
[ $rc1 = 0 ] || tail -5 "$T/par1.err"
[ $rc2 = 0 ] || tail -5 "$T/par2.err"
new=$(cd "$T/par/runs" && for d in *-special*; do [ -e "$d/marker" ] || echo "$d"; done)
n=$(printf '%s\n' "$new" | grep -c .)
[ "$n" = 2 ] && ok "two new run folders ($(echo $new))" || bad "expected 2 new run folders, got $n: $new"
for d in $new; do
    [ -s "$T/par/runs/$d/run.json" ] && ok "$d has its run.json" || bad "$d has no run.json"
    # each folder holds one run: its journal has one scenario line
    j=$(grep -c '"name":"plain"' "$T/par/runs/$d/run.journal.jsonl" 2>/dev/null || echo 0)
    [ "$j" = 1 ] && ok "$d's journal holds one run" || bad "$d's journal holds $j scenario lines"
done
m=$(cat "$T"/par/runs/*/marker | grep -c old)
[ "$m" = 6 ] && ok "the taken folders are untouched" || bad "taken folders changed ($m markers left)"
printf '%s\n' "$new" | grep -qx -- "$(readlink "$T/par/runs/latest")" &&
    ok "runs/latest points at one of them ($(readlink "$T/par/runs/latest"))" ||
    bad "runs/latest points at '$(readlink "$T/par/runs/latest")'"
ls -A "$T/par/runs" | grep -q '^\.latest' && bad "a temporary latest link was left" ||
    ok "no temporary latest link left"

hx_valid_all_runjson "every run.json written"
hx_done
