#!/bin/sh
# The query workload step against pgbench: the same query files, the same concurrency, the same
# server, the same data, in the same run. A bench pack (tests/packs/analytics's warehouse and
# queries, one scenario with COUNT executions of each query and verify = false) is run with a
# solution whose batch step runs `pgbench -n -f <each query> -c CLIENTS -t <its share>` against
# the scenario's database just before the workload step and again just after it (so a machine
# whose load drifts during the run, or whatever runs first, favours neither side); the script
# prints pgbench's tps (without connection time) of both, the workload's workload.qps and its
# ratio to their mean, and each query's p50 and p95 from both tools.
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
  replay = (function()
    local r = {}
    for i, st in ipairs(lib.replay) do r[i] = st end
    r[#r + 1] = { run = "solution" } -- pgbench again, after the workload
    return r
  end)(),
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
# pgbench logs every transaction (-l: its latency in us and which script ran); the solution prints
# each script's p50 and p95 from those logs, sorted, with the rank hist.h defines for percentiles
# (max(1, round(p/100 x n))).
cat >"$T/sol/run.sh" <<SH
#!/bin/sh
L=\$(mktemp -d)
pgbench -n -c $CLIENTS -j $CLIENTS -t $PER -l --log-prefix="\$L/pgb" -f revenue_by_country.sql \
    -f top_products.sql -f daily_revenue.sql "\$DATABASE_URL" > "\$HARNESS_OUTPUT_DIR/pgbench.txt" 2>&1
cat "\$HARNESS_OUTPUT_DIR/pgbench.txt"
cat "\$L"/pgb.* | python3 -c '
import sys
lat = {}
for line in sys.stdin:
    f = line.split()
    lat.setdefault(int(f[3]), []).append(int(f[2]))
for k in sorted(lat):
    v = sorted(lat[k])
    at = lambda p: v[max(1, min(len(v), int(p / 100 * len(v) + 0.5))) - 1]
    print("pgbench-script %d n %d p50 %d p95 %d" % (k, len(v), at(50), at(95)))
'
rm -rf "\$L"
SH
chmod +x "$T/sol/run.sh"
printf '{ "name": "pgbench", "batch": "./run.sh", "timeout": "600s" }\n' >"$T/sol/solution.json"
chmod -R a+rX "$T/pack" "$T/sol"
"$BIN" run "$T/pack" --solution "$T/sol" --out "$T/out" --keep >/dev/null 2>"$T/run.err" || {
    tail -20 "$T/run.err"
    exit 1
}
python3 - "$T/out/run.json" "$T/out/bench/logs" "$COUNT" "$CLIENTS" <<'PY'
import json, re, sys
run = json.load(open(sys.argv[1]))
m = {x["name"]: x["value"] for x in run["scenarios"][0]["metrics"]}
pgs = [open("%s/batch-%04d.stdout.log" % (sys.argv[2], i)).read() for i in (0, 1)]
tps = [float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", pg).group(1))
       for pg in pgs]
qps = m["workload.qps"]
print("queries: 3 (tests/packs/analytics), %s executions each, %s clients, same server and data" % (sys.argv[3], sys.argv[4]))
print("pgbench -f (3 scripts, random mix): %.1f queries/s before, %.1f after the workload" % tuple(tps))
print("harness workload (shuffled mix):    %.1f queries/s" % qps)
print("ratio harness / pgbench: %.2fx (to their mean; %.2fx / %.2fx to each)" % (
    qps / (sum(tps) / 2), qps / tps[0], qps / tps[1]))
print("per query, p50 / p95 in ms (harness: its histogram; pgbench: its per-transaction log, sorted;")
print("before / after)")
pct = [{int(k): (int(a), int(b)) for k, n, a, b in
        re.findall(r"pgbench-script (\d+) n (\d+) p50 (\d+) p95 (\d+)", pg)} for pg in pgs]
for i, q in enumerate(("revenue_by_country", "top_products", "daily_revenue")):
    pb = [p.get(i, (float("nan"), float("nan"))) for p in pct]
    print("  %-20s harness %6.2f / %6.2f   pgbench %6.2f / %6.2f, %6.2f / %6.2f" % (
        q, m["query.%s.p50" % q] * 1e3, m["query.%s.p95" % q] * 1e3,
        pb[0][0] / 1e3, pb[0][1] / 1e3, pb[1][0] / 1e3, pb[1][1] / 1e3))
PY
