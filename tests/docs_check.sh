#!/bin/sh
# The facts in docs/ and in comments that a script can check, checked:
#   1. nothing cites a design file that is not in the repository, or reads a path beside it;
#   2. every repository path written in backticks in docs/*.md and README.md exists (a glob must
#      match something; write a file that does not exist yet with a placeholder: `chk_<kind>.c`);
#   3. docs/scoring.md states the weights score.h defines;
#   4. docs/scenarios.md states the default numeric tolerance chk_sql.c applies;
#   5. docs/solutions.md names every _harness_* column replay_pg.c creates;
#   6. the JUnit dialect's schema is where docs/junit.md says;
#   7. docs/architecture.md names every C file under harness/ and reports/ (as `x.c`, `x.h` or
#      `x.[ch]`), so its folder table stays true of the tree.
# usage: docs_check.sh   (env: HX_SOURCE_ROOT)
set -u
src=${HX_SOURCE_ROOT:?HX_SOURCE_ROOT is not set; run through meson test}
cd "$src" || exit 1
fails=0
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; fails=$((fails + 1)); }

# The files of the repository: git's list in a checkout, else every file below (a tarball).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files() { git ls-files; }
else
    files() { find . -type f ! -path './build*' ! -path '*/node_modules/*' | sed 's|^\./||'; }
fi

# 1. The patterns are split so this file does not match itself.
design="DESIGN"" §"
beside="\.\./shared""/"
hits=$(files | grep -v '^tests/docs_check\.sh$' | while read -r f; do
    [ -f "$f" ] && grep -nI -e "$design" -e "DESIGN\.md" -e "$beside" "$f" /dev/null
done)
if [ -z "$hits" ]; then
    ok "no file cites a design section or reads beside the repository"
else
    bad "these lines cite a file that is not in the repository (say the reason, or cite docs/):"
    printf '%s\n' "$hits" | sed 's/^/    /'
fi

# 2. Repository paths in backticks.
missing=""
for doc in README.md docs/*.md; do
    for p in $(grep -oE '`(harness|reports|plugins|tests|tools|bench|include|docs)/[A-Za-z0-9_./*-]*`' "$doc" |
        tr -d '`' | sort -u); do
        # under docs/ only our pages and schema: `docs/adr/` is a solution's folder
        case "$p" in docs/*.md | docs/*.xsd | docs/*.json) ;; docs/*) continue ;; esac
        # shellcheck disable=SC2086 # a glob is meant to expand
        set -- $p
        [ -e "$1" ] || missing="$missing $doc:$p"
    done
done
if [ -z "$missing" ]; then
    ok "every repository path the docs name exists"
else
    bad "docs name paths that do not exist:"
    for m in $missing; do echo "    $m"; done
fi

# 3. Score weights.
w() { sed -n "s/^#define SCORE_W_$1 \([0-9]*\)\(\.0\)*$/\1/p" harness/cost/score.h; }
weights="$(w CORRECTNESS) / $(w PERFORMANCE) / $(w COST)"
if [ "$weights" != " /  / " ] && grep -q "$weights" docs/scoring.md; then
    ok "docs/scoring.md states the weights ($weights)"
else
    bad "docs/scoring.md does not state score.h's weights '$weights'"
fi

# 4. Default tolerance: the constant numbers_match() falls back to.
tol=$(sed -n 's/^ *return d <= \([0-9.e+-]*\) \* fmax(1\.0, fabs(exp));.*/\1/p' harness/check/chk_sql.c)
if [ -n "$tol" ] && grep -q "\`$tol\`" docs/scenarios.md; then
    ok "docs/scenarios.md states the default tolerance ($tol)"
else
    bad "docs/scenarios.md does not state chk_sql.c's default tolerance '${tol:-(not found in chk_sql.c)}'"
fi

# 5. Raw table columns.
cols=$(grep -oE '_harness_[a-z]+' harness/replay/replay_pg.c | grep -v '_harness_id_idx' | sort -u)
[ -n "$cols" ] || bad "no _harness_* column found in harness/replay/replay_pg.c"
for c in $cols; do
    grep -q "\`$c\`" docs/solutions.md && ok "docs/solutions.md documents raw column $c" ||
        bad "docs/solutions.md does not document raw column $c"
done

# 6. The JUnit schema.
[ -f docs/junit-harness.xsd ] && grep -q 'junit-harness.xsd' docs/junit.md &&
    ok "docs/junit.md names its schema, docs/junit-harness.xsd" ||
    bad "docs/junit-harness.xsd missing or not named in docs/junit.md"

# 6b. The JSON schemas: named in docs/architecture.md, their "schema" const the version the code
# writes (a bump changes both).
schema_const() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["properties"]["schema"]["const"])' "$1" 2>/dev/null; }
v=$(sed -n 's/^#define RESULTS_SCHEMA "\(.*\)"$/\1/p' harness/results/results.h)
[ -n "$v" ] && [ "$(schema_const docs/run.schema.json)" = "$v" ] && grep -q 'docs/run.schema.json' docs/architecture.md &&
    ok "docs/run.schema.json describes $v and docs/architecture.md names it" ||
    bad "docs/run.schema.json's schema const is not results.h's RESULTS_SCHEMA '$v', or docs/architecture.md does not name it"
v=$(sed -n 's/.*json_string("\(harness\.compare\/[0-9]*\)").*/\1/p' harness/cli/cmd_compare.c)
[ -n "$v" ] && [ "$(schema_const docs/compare.schema.json)" = "$v" ] && grep -q 'docs/compare.schema.json' docs/architecture.md &&
    ok "docs/compare.schema.json describes $v and docs/architecture.md names it" ||
    bad "docs/compare.schema.json's schema const is not cmd_compare.c's '$v', or docs/architecture.md does not name it"

# 7. Every C file in the folder table.
unnamed=""
for f in $(files | grep -E '^(harness|reports)/.*\.[ch]$' | grep -v '^harness/include/'); do
    b=${f##*/}
    grep -q -e "\`$b\`" -e "\`${b%.*}.\[ch\]\`" docs/architecture.md || unnamed="$unnamed $f"
done
if [ -z "$unnamed" ]; then
    ok "docs/architecture.md names every C file under harness/ and reports/"
else
    bad "docs/architecture.md's folder table does not name (add them to their folder's row):"
    for f in $unnamed; do echo "    $f"; done
fi

# 8. No C file of the core over 1,200 lines (docs/architecture.md: split a module by job first).
long=""
for f in $(files | grep -E '^(harness|reports)/.*\.c$'); do
    n=$(wc -l <"$f")
    [ "$n" -le 1200 ] || long="$long $f:$n"
done
[ -z "$long" ] && ok "no C file under harness/ or reports/ is over 1,200 lines" ||
    bad "C files over 1,200 lines (split them by job):$long"

echo "$fails failures"
[ "$fails" = 0 ]
