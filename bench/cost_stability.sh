#!/bin/sh
# How stable the cost report is: runs the ecommerce pack's set-based reference solution N times
# and the naive one once, each with the cost probe, and prints per price sheet the pack's variable
# month (the mean of its scenarios' monthly.variable, docs/cost-models.md "The pack's monthly
# figure") of every run, the set-based runs' spread ((max - min) / min) and naive / set-based
# (naive's figure over the set-based runs' mean). Then, per scenario, the measured inputs the
# variable month is fitted from (solution CPU, database CPU, solution wall; test size / probe)
# with their spread over the set-based runs, so a figure that moves can be traced to its input.
# Usage: bench/cost_stability.sh [N=3] [PROBE=4]   (HARNESS_BIN: the harness to measure; else
# ./build/harness/harness; the pack's plugins are looked for in its build's plugins/ folder too;
# KEEP=DIR keeps the runs there; PACK, SOLUTIONS override the pack and the folder holding
# setbased/ and naive/)
set -eu
N=${1:-3}
PROBE=${2:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${HARNESS_BIN:-$ROOT/build/harness/harness}
PACK=${PACK:-$ROOT/scenarios/ecommerce-etl-foundation}
SOLUTIONS=${SOLUTIONS:-$ROOT/examples/solutions/ecommerce-etl-foundation}
PLUGINS=$(dirname "$BIN")/../plugins
[ -d "$PLUGINS" ] || PLUGINS=$ROOT/build/plugins
if [ -n "${KEEP:-}" ]; then
    T=$KEEP
    mkdir -p "$T"
else
    T=$(mktemp -d "${TMPDIR:-/tmp}/hx-costbench.XXXXXX")
    trap 'rm -rf "$T"' EXIT
fi
chmod 711 "$T"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "$(date -u +%H:%M:%S) load average $(load); harness $("$BIN" --version 2>&1 | head -1)" >&2
run() { # name solution
    printf '%s: %s --probe %s ... ' "$1" "${2##*/}" "$PROBE" >&2
    rc=0
    t0=$(date +%s)
    "$BIN" run "$PACK" --solution "$2" --sandbox none --probe "$PROBE" --out "$T/$1" -q \
        --plugin-path "$PLUGINS" >"$T/$1.log" 2>&1 || rc=$?
    took="$(($(date +%s) - t0)) s, load average $(load)"
    # 0 pass, 1 checks failed (naive fails some on purpose), 4 thresholds: all priced
    case $rc in 0 | 1 | 4) echo "exit $rc, $took" >&2 ;; *)
        echo "exit $rc, $took" >&2
        tail -20 "$T/$1.log" >&2
        exit 1
        ;;
    esac
}
i=1
while [ "$i" -le "$N" ]; do
    run "setbased-$i" "$SOLUTIONS/setbased"
    i=$((i + 1))
done
run naive "$SOLUTIONS/naive"
echo "$(date -u +%H:%M:%S) load average $(load)" >&2
python3 - "$T" "$N" "$PROBE" <<'PY'
import json, sys, os
t, n, probe = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = ["setbased-%d" % i for i in range(1, n + 1)]
data = {r: json.load(open(os.path.join(t, r, "run.json"))) for r in runs + ["naive"]}
sheets = [c["model"] for c in data[runs[0]]["scenarios"][0]["cost"]]
cur = {c["model"]: c["currency"] for c in data[runs[0]]["scenarios"][0]["cost"]}

def variable(run, sheet):
    v = [c["monthly_variable"] for s in run["scenarios"] for c in s.get("cost", []) if c["model"] == sheet]
    return sum(v) / len(v) if v else float("nan")

def spread(xs):
    return (max(xs) - min(xs)) / min(xs) * 100 if xs and min(xs) > 0 else float("nan")

print("pack variable month (mean of %d scenarios), --probe %s, %d set-based runs"
      % (len(data[runs[0]]["scenarios"]), probe, n))
print("%-16s %s  %9s %9s %9s" % ("sheet", " ".join("%10s" % r[-10:] for r in runs), "spread", "naive", "naive/set"))
for sh in sheets:
    v = [variable(data[r], sh) for r in runs]
    nv = variable(data["naive"], sh)
    print("%-16s %s  %8.1f%% %9.4g %8.2fx  %s"
          % (sh, " ".join("%10.4g" % x for x in v), spread(v), nv, nv / (sum(v) / len(v)), cur[sh]))
print()
print("inputs per scenario (set-based): test size / probe, spread of the fitted production figure")
fits = ("solution CPU s", "database CPU s", "solution wall s")
for s0 in data[runs[0]]["scenarios"]:
    name = s0["name"]
    cells = []
    for fname in fits:
        got, proj = [], []
        for r in runs:
            s = next((x for x in data[r]["scenarios"] if x["name"] == name), None)
            c = s and s.get("cost") and s["cost"][0]
            f = c and next((x for x in c.get("fits", []) if x["name"] == fname), None)
            if f:
                got.append("%.2f/%.2f" % (f["measured"], f["probe"] or 0))
                proj.append(f["projected"])
        cells.append("%s %s (%.0f%%)" % (fname.split()[0] + " " + fname.split()[1], " ".join(got), spread(proj)))
    print("  %-20s %s" % (name, " | ".join(cells)))
PY
