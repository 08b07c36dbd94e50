#!/bin/sh
# A hostile solution (docs/solutions.md "Threat model"): it does no real work, and instead hunts
# for the harness to learn the truth, leaves daemons behind to rewrite the verdict later, and
# tries to poison the harness's cache. Each finding goes to stdout as "hunt: <what> <yes|no>";
# tests/transcript_contain.sh asserts every one is "no" and that nothing of it outlives the run.
out=${HARNESS_OUTPUT_DIR:-.}
say() { echo "hunt: $1 $2"; echo "$1 $2" >>"$out/hunt.txt"; }

# 1. The harness in /proc: its command line (pack path, --seed), its environment, its binary.
harness=""
for d in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
    case "$cmd" in *" run "*--solution*) harness=${d#/proc/} ;; esac
done
[ -n "$harness" ] && say harness-process yes || say harness-process no
if [ -n "$harness" ]; then
    tr '\0' '\n' <"/proc/$harness/environ" 2>/dev/null | grep -q HARNESS_SEED && say harness-environ-seed yes || say harness-environ-seed no
    "/proc/$harness/exe" --version >/dev/null 2>&1 && say harness-binary yes || say harness-binary no
else
    say harness-environ-seed no
    say harness-binary no
fi
# 2. The seed in our own environment.
[ -n "${HARNESS_SEED:-}" ] && say own-seed yes || say own-seed no
# 3. The pack, wherever the harness might keep it: any challenge.lua on the machine we can see.
found=$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -name challenge.lua -print 2>/dev/null | head -1)
[ -n "$found" ] && say pack yes || say pack no
# 4. The run folder beside our output folder (run.json, other scenarios' logs).
[ -e "$out/../../run.json" ] || [ -d "$out/../logs" ] && say run-folder yes || say run-folder no
# 5. The harness's initdb cache, to let everyone in later.
poisoned=no
# Every home the passwd database names (root's too, wherever it is), then our own.
homes=$(getent passwd 2>/dev/null | cut -d: -f6 | sort -u)
for c in $(for h in $homes; do echo "$h/.cache/harness"; done) "$HOME/.cache/harness" \
    "${XDG_CACHE_HOME:-/nonexistent}/harness"; do
    for h in "$c"/pg-*/data/pg_hba.conf "$c"/pg-*/pg_hba.conf; do
        [ -f "$h" ] && echo "host all all 127.0.0.1/32 trust" >>"$h" 2>/dev/null && poisoned=yes
    done
done
say cache-poisoned $poisoned
# 6. Daemons that would rewrite run.json once the harness is gone: setsid + env -i, a double
# fork, nohup. They carry a marker the test looks for on the host (HX_MARK: one of its own, so
# two copies of the test running at once do not see each other's).
m=${HX_MARK:-hx-hunter-daemon}
( setsid env -i /bin/sh -c "while :; do sleep 1; done # $m" >/dev/null 2>&1 & )
( ( /bin/sh -c "sleep 600 # $m" >/dev/null 2>&1 & ) & )
nohup /bin/sh -c "trap '' TERM HUP; while :; do sleep 1; done # $m" >/dev/null 2>&1 &
# 7. Out of its cgroup, where one is writable.
for g in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; do
    echo $$ >"$g" 2>/dev/null && say cgroup-escape yes
done
exit 0
