#!/bin/sh
# transcript_pyservice.sh - docs/solutions.md's worked Python service (section "A service in any
# language") does what the page says: its files, taken from the page (`<!-- file: -->` markers),
# make a solution that passes the streaming-fraud-firewall pack's velocity scenario on the
# embedded defaults, in the box as the unprivileged user when run as root, with Debian's
# python3-confluent-kafka (tools/setup.sh --tests installs it).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
. "$ROOT/tests/lib.sh"
hx_tempdir hx-pyservice-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1
unset HARNESS_SEED

if ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
    bad "python3-confluent-kafka is not installed for /usr/bin/python3 (tools/setup.sh --tests installs it)"
    hx_done
fi

hx_doc_files "$ROOT/docs/solutions.md" "$T"
for f in python-velocity/solution.json python-velocity/firewall.py; do
    [ -s "$T/$f" ] && ok "the page has $f" || bad "the page lacks $f"
done
chmod -R a+rX "$T/python-velocity"
# Both clients reconnect within 0.5 s of a broker fault: with librdkafka's default (up to 10 s)
# the drain ends before a service whose stream resumes after broker_down has reconnected.
[ "$(grep -c '"reconnect.backoff.max.ms": 500' "$T/python-velocity/firewall.py")" = 2 ] &&
    ok "the page's consumer and producer reconnect soon after a broker fault" ||
    bad "the page's firewall.py leaves reconnect.backoff.max.ms at librdkafka's 10 s"

"$BIN" run "$ROOT/scenarios/streaming-fraud-firewall" --scenario velocity \
    --solution "$T/python-velocity" --out "$T/run" -q 2>"$T/run.err"
rc=$?
expect_rc "the page's Python service passes velocity" 0 $rc
[ "$rc" = 0 ] || sed 's/^/# /' "$T/run.err" | tail -20
if [ "$(id -u)" = 0 ]; then
    iso=$(jq -r .isolation "$T/run/run.json")
    [ "$iso" = bwrap ] && ok "it ran in the box (isolation bwrap)" || bad "isolation: $iso"
fi
got=$(jq -r '.scenarios[0].checks[] | select(.kind == "precision_recall") | .actual' "$T/run/run.json")
case $got in
"precision 1.0000 (20 of 20 flags), recall 1.0000 (20 of 20 records)") ok "every planted velocity card alerted, nothing else: $got" ;;
*) bad "precision_recall: $got" ;;
esac
n=$(jq '[.scenarios[0].histograms[] | select(.name == "latency.e2e") | .count] | add // 0' "$T/run/run.json")
[ "$n" -gt 0 ] && ok "its alerts were matched live ($n latency samples)" || bad "no latency.e2e samples"
hx_valid_all_runjson "the run"
hx_done
