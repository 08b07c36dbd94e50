#!/bin/sh
# The query workload step against pgbench: the same query files, the same concurrency, the same
# server, the same data, in the same run. A bench pack (tests/packs/analytics's warehouse and
# queries, one scenario with COUNT executions of each query and verify = false) is run with a
# solution whose batch step runs `pgbench -n -f <each query> -c CLIENTS -t <its share>` against
# the scenario's database just before the workload step; the script prints pgbench's tps (without
# connection time), the workload's workload.qps and their ratio.
# Usage: bench/workload.sh [COUNT=2000] [CLIENTS=2]   (HARNESS_BIN: the harness to measure; else
# ./build/harness/harness)
set -eu
COUNT=${1:-2000}
CLIENTS=${2:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${HARNESS_BIN:-$ROOT/build/harness/harness}
T=$(mktemp -d "${TMPDIR:-/tmp}/hx-wlbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
chmod 711 "$T"
mkdir -p "$T/pack" "$T/sol/queries"
cp -r "$ROOT/tests/packs/analytics/challenge.lua" "$ROOT/tests/packs/analytics/wl" \
    "$ROOT/tests/packs/analytics/queries" "$T/pack/"
cat >"$T/pack/bench.lua" <<LUA
local lib = require "wl.common"
return scenario {
  name = "bench", seed = 13,
  datasets = lib.datasets(),
  replay = lib.replay,
  workload = lib.workload { clients = $CLIENTS, count = $COUNT, warmup = 20, verify = false },
}
LUA
# pgbench's scripts: the workload's three queries, each its own file (the inline one written out)
cp "$ROOT/tests/packs/analytics/queries/"*.sql "$T/sol/"
python3 - "$ROOT/tests/packs/analytics/wl/common.lua" "$T/sol/daily_revenue.sql" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(re.search(r"sql = \[\[(.*?)\]\]", src, re.S).group(1).strip() + "\n")
PY
# each query COUNT times in all: -t is per client, so the share of one client
PER=$(( (COUNT * 3 + CLIENTS - 1) / CLIENTS ))
cat >"$T/sol/run.sh" <<SH
#!/bin/sh
pgbench -n -c $CLIENTS -j $CLIENTS -t $PER -f revenue_by_country.sql -f top_products.sql \
    -f daily_revenue.sql "\$DATABASE_URL" > "\$HARNESS_OUTPUT_DIR/pgbench.txt" 2>&1
cat "\$HARNESS_OUTPUT_DIR/pgbench.txt"
SH
chmod +x "$T/sol/run.sh"
printf '{ "name": "pgbench", "batch": "./run.sh", "timeout": "600s" }\n' >"$T/sol/solution.json"
chmod -R a+rX "$T/pack" "$T/sol"
"$BIN" run "$T/pack" --solution "$T/sol" --out "$T/out" --keep >/dev/null 2>"$T/run.err" || {
    tail -20 "$T/run.err"
    exit 1
}
python3 - "$T/out/run.json" "$T/out/bench/logs/batch-0000.stdout.log" "$COUNT" "$CLIENTS" <<'PY'
import json, re, sys
run = json.load(open(sys.argv[1]))
m = {x["name"]: x["value"] for x in run["scenarios"][0]["metrics"]}
pg = open(sys.argv[2]).read()
tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", pg).group(1))
qps = m["workload.qps"]
print("queries: 3 (tests/packs/analytics), %s executions each, %s clients, same server and data" % (sys.argv[3], sys.argv[4]))
print("pgbench -f (3 scripts, random mix): %.1f queries/s" % tps)
print("harness workload (shuffled mix):    %.1f queries/s" % qps)
print("ratio harness / pgbench: %.2fx" % (qps / tps))
for q in ("revenue_by_country", "top_products", "daily_revenue"):
    print("  %-20s p50 %.2f ms  p95 %.2f ms" % (q, m["query.%s.p50" % q] * 1e3, m["query.%s.p95" % q] * 1e3))
PY
