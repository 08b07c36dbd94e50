#!/bin/sh
# diff_memory.sh [BUILD_DIR] [ROWS]: the harness's peak memory (RSS) through a `diff` check of ROWS
# rows (default 4M). A pack made for the purpose replays ROWS orders into PostgreSQL; the solution
# copies them, typed, into the output table; the scenario's one check diffs that table against
# orders:valid() (every row, every column). The whole `harness run` is measured with
# /usr/bin/time -v, so the figure covers generation, replay and the check. Prints the run's exit
# code, its wall time and "Maximum resident set size". Needs psql and the PostgreSQL binaries the
# harness finds for its embedded server. Not a test: nothing asserts on the numbers.
set -eu
BUILD=${1:-build}
ROWS=${2:-4000000}
BIN="$BUILD/harness/harness"
[ -x "$BIN" ] || { echo "no $BIN: build first (ninja -C $BUILD)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hx-diffmem.XXXXXX")
chmod 711 "$T"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/pack" "$T/sol"
cat >"$T/pack/challenge.lua" <<LUA
return challenge {
  name = "diff-memory", level = "bench",
  description = "A diff of $ROWS rows.",
  sources = { "postgres" }, sinks = { "postgres" },
}
LUA
cat >"$T/pack/big.lua" <<LUA
local orders = dataset {
  rows = $ROWS, key = "id", time = "ts",
  columns = {
    { "id", "sequence", start = 1 },
    { "customer", "int", min = 1, max = 100000, nulls = 0.01 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "status", "categorical", values = { "placed", "paid", "shipped" }, weights = { 3, 2, 1 } },
    { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 100 },
  },
}

return scenario {
  name = "big", seed = 1,
  description = "Copy every order; the check diffs them all.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "30min" },
  replay = {
    { into = "postgres", dataset = "orders", table = "raw_orders" },
    { run = "solution" },
  },
  checks = { diff { table = "orders_out", expect = orders:valid() } },
}
LUA
cat >"$T/sol/solution.json" <<JSON
{ "name": "copy", "batch": "sh ./run.sh", "timeout": "1800s" }
JSON
cat >"$T/sol/run.sh" <<'SH'
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "create table orders_out as select id::bigint as id,
  customer::bigint as customer, amount::numeric(12,2) as amount, status, ts::timestamptz as ts
  from raw_orders"
SH
start=$(date +%s)
set +e
CI=1 /usr/bin/time -v "$BIN" run "$T/pack" --solution "$T/sol" --sandbox none --out "$T/run" \
    2>"$T/time.txt"
rc=$?
set -e
end=$(date +%s)
echo "rows: $ROWS"
echo "exit code: $rc (0: the diff passed)"
echo "wall: $((end - start)) s"
grep "Maximum resident set size" "$T/time.txt"
if [ -s "$T/run/run.json" ]; then
    python3 - "$T/run/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
for s in run["scenarios"]:
    for c in s.get("checks", []):
        print("check %s: %s, %.1f s, expected %s, actual %s" % (c["name"], c["status"],
              c.get("duration_s", 0), c.get("expected"), c.get("actual")))
PY
fi
[ $rc = 0 ] || head -20 "$T/time.txt"
