#!/bin/sh
# transcript_tutorial.sh - docs/tutorial.md is a working walk-through: its files, taken from the
# page (each fenced block after a `<!-- file: PATH -->` line), make a pack that loads, data that
# starts as the page shows, a first solution that fails and a fixed one that passes, and every
# output line the page quotes (each block after `<!-- output: NAME -->`) is printed as quoted.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
DOC="$ROOT/docs/tutorial.md"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-tutorial-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1 # the runs below unset it: the page quotes the per-check lines CI=1 leaves out
unset HARNESS_SEED

# The page's files, written under $T; the quoted outputs, one file each under $T/out.
mkdir -p "$T/out"
hx_doc_files "$DOC" "$T"
for f in shop/challenge.lua shop/scenarios/daily.lua copy-all/solution.json copy-all/load.sh \
    latest/solution.json latest/load.sh out/check out/typo out/gen out/copy-all out/latest; do
    [ -s "$T/$f" ] && ok "the page has $f" || bad "the page lacks $f"
done

# quoted NAME FILE: every line of the page's output block NAME is a line of FILE
quoted() {
    missing=$(while IFS= read -r line; do
        grep -qxF -- "$line" "$2" || echo "$line"
    done <"$T/out/$1")
    [ -z "$missing" ] && ok "$1: the output is as the page quotes it" ||
        bad "$1: not printed: $missing; printed: $(cat "$2")"
}

cd "$T" || exit 1
"$BIN" check shop >"$T/check.txt" 2>&1
expect_rc "harness check shop" 0 $?
quoted check "$T/check.txt"

mkdir -p typo/scenarios
cp shop/challenge.lua typo/
sed 's/:duplicates {/:duplicate {/' shop/scenarios/daily.lua >typo/scenarios/daily.lua
"$BIN" check typo >"$T/typo.txt" 2>&1
expect_rc "a misspelt fault" 2 $?
sed 's#typo/#shop/#' "$T/typo.txt" >"$T/typo-as-shop.txt"
quoted typo "$T/typo-as-shop.txt"

"$BIN" gen shop/scenarios/daily.lua --landing "$T/landing" 2>"$T/gen.err"
expect_rc "harness gen --landing" 0 $?
head -3 "$T/landing/orders/orders-0000.csv" >"$T/gen.txt"
quoted gen "$T/gen.txt"

CI= "$BIN" run shop --solution copy-all --out "$T/run-1" 2>"$T/run-1.err"
expect_rc "copy-all fails its checks" 1 $?
quoted copy-all "$T/run-1.err"
CI= "$BIN" run shop --solution latest --out "$T/run-2" 2>"$T/run-2.err"
expect_rc "latest passes" 0 $?
quoted latest "$T/run-2.err"

hx_done
