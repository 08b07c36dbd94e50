#!/bin/sh
# transcript_compare_workload.sh - `harness compare` on two real runs of tests/packs/analytics's
# query workload: one solution adds nothing, the other indexes the source tables and keeps a
# materialised view. Whatever the timings came out as on this machine, every served query's
# p50/p95/p99 line (terminal, Markdown, HTML, JSON) must say the change the way a reader does
# ("2.86x faster" / "1.41x slower", coloured only beyond 10 %), the headline must count what
# run.json says, the storage section must show the indexes and view the solution added, and a
# --fail-on gate on a query percentile must trip exactly where the recomputed rise exceeds it.
# Every expected string is recomputed here from the two run.json files.
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
. "$ROOT/tests/lib.sh"
PACK="$ROOT/tests/packs/analytics"
hx_tempdir hx-cmpwl-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1 NO_COLOR=1

# plain: answers from the raw tables. indexed: indexes on the source tables, a materialised view
# its revenue query reads.
mkdir -p "$T/plain" "$T/indexed/queries"
printf '{ "name": "plain", "batch": "true" }\n' >"$T/plain/solution.json"
printf '{ "name": "indexed", "batch": "./run.sh" }\n' >"$T/indexed/solution.json"
cat >"$T/indexed/run.sh" <<'SH'
#!/bin/sh
set -eu
psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 \
    -c "create index if not exists orders_status_idx on orders (status, customer_id)" \
    -c "create index if not exists items_product_idx on order_items (product_id)" \
    -c "create materialized view if not exists mv_country as select c.country, sum(o.amount::numeric) as revenue, count(*) as orders from orders o join customers c on c.customer_id = o.customer_id where o.status <> 'cancelled' group by c.country" \
    -c "refresh materialized view mv_country"
SH
chmod +x "$T/indexed/run.sh"
echo "select country, revenue, orders from mv_country" >"$T/indexed/queries/revenue_by_country.sql"
chmod -R a+rX "$T/plain" "$T/indexed"

for s in plain indexed; do
    "$BIN" run "$PACK" --scenario queries --solution "$T/$s" --out "$T/$s.out" 2>"$T/$s.err"
    rc=$?
    if [ $rc = 0 ]; then ok "$s solution passes the workload"; else
        bad "$s solution: exit $rc"
        tail -20 "$T/$s.err"
    fi
done
B="$T/plain.out/run.json"
H="$T/indexed.out/run.json"

"$BIN" compare "$B" "$H" >"$T/term.txt" 2>"$T/term.err"
[ $? = 0 ] && ok "compare exits 0 without gates" || bad "compare: $(cat "$T/term.err")"
"$BIN" compare --md "$B" "$H" >"$T/cmp.md" 2>/dev/null || bad "compare --md"
"$BIN" compare --json "$B" "$H" >"$T/cmp.json" 2>/dev/null || bad "compare --json"
hx_valid_comparejson "compare --json" "$T/cmp.json"
"$BIN" compare --html "$T/cmp.html" "$B" "$H" >/dev/null 2>&1 || bad "compare --html"

# Recompute every expectation from the two run.json files and look for it in each output.
python3 - "$B" "$H" "$T" <<'PY' >"$T/check.out"
import json, math, sys
b, h, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
term = open(t + "/term.txt").read()
md = open(t + "/cmp.md").read()
html = open(t + "/cmp.html").read()
js = json.load(open(t + "/cmp.json"))
NOISE = 1.10
bad = []

def metrics(run):
    return {m["name"]: m["value"] for m in run["scenarios"][0]["metrics"]}

mb, mh = metrics(b), metrics(h)

def sig(v, digits=3):  # rep_sig: significant digits, no exponent, trailing zeros trimmed
    if v == 0:
        return "0"
    dec = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    s = "%.*f" % (dec, v)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s

def dur(s):  # rep_duration
    if s == 0:
        return "0 s"
    if abs(s) < 1e-3:
        return sig(s * 1e6) + " \u00b5s"
    if abs(s) < 1:
        return sig(s * 1e3) + " ms"
    return sig(s) + " s"

def size(v):  # rep_bytes
    units = ["B", "KiB", "MiB", "GiB"]
    u = 0
    while abs(v) >= 1024 and u + 1 < len(units):
        v /= 1024
        u += 1
    return sig(v) + " " + units[u]

def money(v, cur="USD"):  # rep_money: two decimals from 1 up, else three significant digits
    if abs(v) >= 1:
        s = ("%.2f" % v).rstrip("0").rstrip(".")
    else:
        s = sig(v)
    return s + " " + cur

def change(bv, hv):  # (text, verdict): the ratio as a reader says it; within 10 % is the same
    lo, hi = min(bv, hv), max(bv, hv)
    r = 1.0 if lo == hi else hi / lo
    verdict = 0 if r < NOISE - 1e-9 or lo == hi else (1 if hv < bv else -1)
    num = "%.3g" % r
    text = "same" if num == "1" else "%sx %s" % (num, "faster" if hv < bv else "slower")
    return text, verdict, r

queries = ["revenue_by_country", "top_products", "daily_revenue"]
tally = [0, 0, 0]  # faster, slower, same at p95
jq = {q["name"]: q for q in js["scenarios"][0]["queries"]}
for q in queries:
    for p in ("p50", "p95", "p99"):
        bv, hv = mb["query.%s.%s" % (q, p)], mh["query.%s.%s" % (q, p)]
        text, v, r = change(bv, hv)
        if p == "p95":
            tally[0 if v > 0 else 1 if v < 0 else 2] += 1
        row = "%s %s -> %s %s" % (p, dur(bv), dur(hv), text)
        if row not in " ".join(term.split()):
            bad.append("terminal: no '%s' for %s" % (row, q))
        mark = "\U0001f7e2 " if v > 0 else "\U0001f534 " if v < 0 else ""
        mdrow = "| %s | %s | %s | %s | %s%s |" % (q.replace("_", "\\_"), p, dur(bv), dur(hv), mark, text)
        if mdrow not in md:
            bad.append("markdown: no '%s'" % mdrow)
        cls = "d-better" if v > 0 else "d-worse" if v < 0 else "d-same"
        hrow = '<td>%s</td><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="%s">%s</td>' % (
            q, p, dur(bv), dur(hv), cls, text)
        if hrow not in html:
            bad.append("html: no '%s'" % hrow)
        jp = jq[q][p]
        if jp["change"] != text or abs(jp["ratio"] - r) > 1e-9 * r or jp["verdict"] != ("better" if v > 0 else "worse" if v < 0 else "same"):
            bad.append("json: %s %s is %s, want %s %.12g" % (q, p, jp, text, r))
        print("%s %s: %s -> %s, %s (%s)" % (q, p, dur(bv), dur(hv), text, cls))

# The headline: checks, the served queries at p95, each sheet's variable month.
cost = [0, 0, 0]
for name, bv in mb.items():
    if name.startswith("cost.") and ".monthly.variable." in name and name.count(".") == 4:
        _, v, _ = change(bv, mh[name])
        cost[0 if v > 0 else 1 if v < 0 else 2] += 1
        line = "    %s: %s -> %s (%+.1f %%)" % (name.split(".")[1], money(bv), money(mh[name]),
                                               (mh[name] - bv) / abs(bv) * 100)
        if line not in term:
            bad.append("terminal headline: no '%s'" % line)
better = tally[0] + cost[0]
worse = tally[1] + cost[1]
overall = "mixed" if better and worse else "better" if better else "worse" if worse else "same"
hq = "served queries at p95: %d faster, %d slower, %d within 10 %%" % tuple(tally)
hc = "variable cost a month, per price sheet: %d lower, %d higher, %d within 10 %%" % tuple(cost)
hp = "the solution's own steps in workload scenarios: %s -> %s" % (
    dur(mb["solution.wall.sum"]), dur(mh["solution.wall.sum"]))
for line in ("headline: " + overall, "  checks: none flipped", "  " + hq, "  " + hc, "  " + hp):
    if line not in term:
        bad.append("terminal headline: no '%s'" % line)
if "- " + hq not in md or "**Headline: " not in md or overall + "**" not in md:
    bad.append("markdown headline: no '%s' / '%s'" % (hq, overall))
if 'data-overall="%s"' % overall not in html or "<li>" + hq + "</li>" not in html:
    bad.append("html headline: no '%s' / '%s'" % (overall, hq))
hl = js["headline"]
if hl["overall"] != overall or [hl["queries_p95"][k] for k in ("better", "worse", "same")] != tally:
    bad.append("json headline: %s, want %s %s" % (hl, overall, tally))
print("headline:", overall, hq, hc)

# Storage: the indexes and the view the solution added, none in the plain run.
if not (mh["db.solution.indexes.bytes"] > 0 and mh["db.solution.views.bytes"] > 0 and
        mb["db.solution.bytes"] == 0 and mh["db.solution.bytes"] == mh["db.solution.tables.bytes"] +
        mh["db.solution.indexes.bytes"] + mh["db.solution.views.bytes"]):
    bad.append("storage metrics: %s" % {k: v for k, v in mh.items() if k.startswith("db.solution")})
for label, metric in (("all its relations", "db.solution.bytes"), ("indexes", "db.solution.indexes.bytes"),
                      ("materialised views", "db.solution.views.bytes")):
    row = "%s %s -> %s +%s" % (label, size(mb[metric]), size(mh[metric]), size(mh[metric] - mb[metric]))
    if row not in " ".join(term.split()):
        bad.append("terminal storage: no '%s'" % row)
    hrow = '<td>%s</td><td class="num">%s</td><td class="num">%s</td>' % (label, size(mb[metric]), size(mh[metric]))
    if hrow not in html:
        bad.append("html storage: no '%s'" % hrow)
    print("storage %s: %s -> %s" % (label, size(mb[metric]), size(mh[metric])))
if "database storage, aws-us-east-1" not in term or "| database storage, aws-us-east-1 |" not in md:
    bad.append("no storage cost line")
# Money keeps significant digits: never a run of zeros after the point.
for out, name in ((term, "terminal"), (md, "markdown")):
    if "0.0000 " in out or "$0.0000" in out:
        bad.append("%s rounds money to zero" % name)
# The solution's own wall time is shown, under its own heading, not as the served latency.
if "the solution's own steps and the rest" not in term:
    bad.append("terminal: the solution's steps are not labelled")

# A gate on a query percentile: trips above the recomputed rise, passes at or below it. The
# percentile that moved most is gated: two runs can land on the same recorded value (both p95s
# were 3.44 ms once), and a gate cannot trip on no rise.
gates = []
for q in ("revenue_by_country", "top_products", "daily_revenue"):
    for p in ("p50", "p95", "p99"):
        m = "query.%s.%s" % (q, p)
        bv, hv = mb[m], mh[m]
        gates.append((abs(hv - bv) / min(bv, hv) * 100, m, "base-head" if hv > bv else "head-base"))
pct, gm, order = max(gates)
if pct <= 0:
    bad.append("every served percentile came out the same in both runs; no gate can be tested")
print("gate: %s %.6g %s" % (order, pct, gm))
for x in bad:
    print("BAD " + x)
PY
grep -v '^BAD ' "$T/check.out" | sed 's/^/  /'
if grep -q '^BAD ' "$T/check.out"; then
    grep '^BAD ' "$T/check.out" | while read -r line; do echo "not ok - ${line#BAD }"; done
    fails=$((fails + $(grep -c '^BAD ' "$T/check.out")))
    echo "--- terminal output:"
    cat "$T/term.txt"
else
    ok "per-query wording, colour classes, headline and storage match run.json"
fi

set -- $(sed -n 's/^gate: //p' "$T/check.out")
order=$1 pct=$2 gm=$3
if [ "$order" = base-head ]; then lo=$B hi=$H; else lo=$H hi=$B; fi
under=$(python3 -c "print('%.6g' % ($pct / 2))")
over=$(python3 -c "print('%.6g' % ($pct + 1))")
"$BIN" compare "$lo" "$hi" --fail-on "$gm:+$under%" >/dev/null 2>"$T/gate.err"
[ $? = 1 ] && grep -q "$gm +.*in 'queries'" "$T/gate.err" &&
    ok "$gm:+$under% trips (rise $pct %)" || bad "gate $gm +$under%: $(cat "$T/gate.err")"
"$BIN" compare "$lo" "$hi" --fail-on "$gm:+$over%" >/dev/null 2>"$T/gate.err"
[ $? = 0 ] && ok "$gm:+$over% passes" || bad "gate $gm +$over%: $(cat "$T/gate.err")"
"$BIN" compare "$B" "$H" --fail-on "workload.qps:+5%" >/dev/null 2>"$T/gate.err"
[ $? = 2 ] && grep -q "better higher" "$T/gate.err" && ok "a rise gate on a rate is a usage error" ||
    bad "qps gate: $(cat "$T/gate.err")"

hx_valid_all_runjson "every run.json written"
hx_done
