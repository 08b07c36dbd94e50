#!/bin/sh
# transcript_scen.sh - `harness check`, `list` and `gen` on the fixture packs of tests/scen/ and the
# real pack: broken scenarios exit 2 naming file:line, sandbox escapes leave no file behind, gen
# writes whole files or none.
set -eu
: "${HARNESS_BIN:?}" "${HX_SOURCE_ROOT:?}"
cd "$HX_SOURCE_ROOT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect CODE CMD...: run, keep stdout/stderr in $work, compare the exit code
expect() {
    want=$1; shift
    set +e
    "$@" >"$work/out" 2>"$work/err"
    got=$?
    set -e
    [ "$got" = "$want" ] || { cat "$work/err" >&2; fail "exit $got, want $want: $*"; }
}
has() { grep -qF -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "no '$2' in $1"; }; }

# The broken pack: every problem is listed, each with file:line. Run from $work so a sandbox
# escape writing a relative path would land there.
abs=$HX_SOURCE_ROOT/tests/scen/broken
( cd "$work" && "$HARNESS_BIN" check "$abs" >out 2>err; echo $? >rc ) || true
[ "$(cat "$work/rc")" = 2 ] || fail "check on the broken pack exited $(cat "$work/rc")"
has err "a_syntax.lua:4: '}' expected"
has err "b_unknown_fault.lua:3: unknown fault 'lat' (did you mean 'late'?)"
has err "c_wrong_type.lua:2: scenario.seed: expected an integer, got string"
has err "d_loop.lua:3: scenario exceeded its instruction budget (endless loop?)"
has err "e_exec.lua:2: attempt to call a nil value (field 'execute')"
has err "--unsafe-lua"
has err "f_iowrite.lua:1: attempt to index a nil value (global 'io')"
has err "6 problems in"
[ ! -e "$work/hx_scen_pwned_exec.txt" ] || fail "os.execute ran"
[ ! -e "$work/hx_scen_pwned_io.txt" ] || fail "io.open wrote a file"
[ ! -e hx_scen_pwned_io.txt ] || fail "io.open wrote a file"

# gen on a broken scenario: exit 2, file:line, and no --out file (nor a temp beside it)
for f in a_syntax b_unknown_fault c_wrong_type e_exec f_iowrite; do
    expect 2 "$HARNESS_BIN" gen "tests/scen/broken/$f.lua" --out "$work/gen.csv"
    has err "tests/scen/broken/$f.lua:"
    [ -z "$(ls "$work" | grep '^gen\.csv')" ] || fail "gen left a file for $f"
done

# the good packs
expect 0 "$HARNESS_BIN" check tests/scen/good
has out "2 scenarios ok"
expect 0 "$HARNESS_BIN" check scenarios/ecommerce-etl-foundation
has out "9 scenarios ok" # six of phase 1, three phase-2 twists
expect 0 "$HARNESS_BIN" list scenarios/ecommerce-etl-foundation --tag dedup
has out "duplicates"
has out "orders (14000 rows)"
grep -q "late_arrivals" "$work/out" && fail "--tag did not filter"
expect 0 "$HARNESS_BIN" list tests/scen/good --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["scenarios"]) == 2' "$work/out" ||
    fail "list --json is not the expected JSON"

# a threshold or budget on a metric no scenario produces is a load error: exit 2, file:line,
# did-you-mean; so are a kind's own rules (adr's min)
mkdir -p "$work/metrics"
cat >"$work/metrics/challenge.lua" <<'LUA'
return challenge {
  name = "metrics",
  budgets = { ["cost.montly.usd"] = "<= 40" },
}
LUA
cat >"$work/metrics/wal.lua" <<'LUA'
local d = dataset { rows = 5, key = "id", columns = { { "id", "sequence" } } }
return scenario {
  name = "wal", datasets = { d = d },
  checks = { adr { min = "two" } },
  thresholds = { ["solution.wal.max"] = "< 30s" },
}
LUA
expect 2 "$HARNESS_BIN" check "$work/metrics"
has err "challenge.lua:1: challenge.budgets[\"cost.montly.usd\"]: no scenario produces metric 'cost.montly.usd' (did you mean 'cost.monthly.usd'?)"
sed -i 's/cost.montly.usd/cost.monthly.usd/' "$work/metrics/challenge.lua"
expect 2 "$HARNESS_BIN" check "$work/metrics"
has err "wal.lua:4: adr.min: a number of ADRs from 0 to 1000"
sed -i 's/min = "two"/min = 2/' "$work/metrics/wal.lua"
expect 2 "$HARNESS_BIN" check "$work/metrics"
has err "wal.lua:2: scenario.thresholds[\"solution.wal.max\"]: no scenario produces metric 'solution.wal.max' (did you mean 'solution.wall.max'?)"
sed -i 's/solution.wal.max/solution.wall.max/' "$work/metrics/wal.lua"
expect 0 "$HARNESS_BIN" check "$work/metrics"
has out "1 scenario ok"

# gen: several datasets need --dataset; the output is reproducible and whole
sc=scenarios/ecommerce-etl-foundation/03_late_arrivals.lua
expect 2 "$HARNESS_BIN" gen "$sc" --out "$work/o.csv"
has err "choose one with --dataset (customers, orders)"
[ ! -e "$work/o.csv" ] || fail "gen wrote a file without --dataset"
expect 0 "$HARNESS_BIN" gen "$sc" --dataset orders --out "$work/o.csv" --ledger "$work/l.jsonl"
has err "records of dataset 'orders'"
sha=$(sha256sum "$work/o.csv" | cut -d' ' -f1)
has err "$sha"
[ "$(head -1 "$work/o.csv")" = "order_id,customer_id,order_ts,status,channel,amount" ] ||
    fail "unexpected CSV header"
grep -q '"fault":"late"' "$work/l.jsonl" || fail "the ledger has no late records"
expect 0 "$HARNESS_BIN" gen "$sc" --dataset orders --out - --format csv
[ "$(sha256sum <"$work/out" | cut -d' ' -f1)" = "$sha" ] || fail "gen --out - differs from the file"
expect 0 "$HARNESS_BIN" gen "$sc" --dataset orders --out "$work/o7.csv" --seed 7
[ "$(sha256sum "$work/o7.csv" | cut -d' ' -f1)" != "$sha" ] || fail "--seed changed nothing"
expect 2 "$HARNESS_BIN" gen "$sc" --dataset order --out "$work/x.csv"
has err "no dataset 'order'"
expect 0 "$HARNESS_BIN" gen tests/scen/good/rowfn.lua --out "$work/items.jsonl" --batch 1
[ "$(wc -l <"$work/items.jsonl")" = 10 ] || fail "batch 1 of 50 rows in 5 batches is not 10 lines"
grep -q '"label":"item-1' "$work/items.jsonl" || fail "the row function's column is missing"
echo "transcript_scen: ok"
