#!/bin/sh
# Transcript tests of containment (docs/solutions.md "Threat model"): the real binary, the real
# foundation pack, a real throwaway PostgreSQL and bubblewrap. A hostile solution hunts for the
# truth and leaves daemons; interrupts and kill -9 of the harness leave nothing of it running.
# Only processes this test started are looked at: they carry a marker in their command line, one
# of this copy's own (hx-<its pid>-...), so two copies running at once neither see nor kill each
# other's processes (a shared marker once made one copy report the other's exiting daemons as
# "still alive", with a list that was empty by the time it was printed).
set -u
BIN=${HARNESS_BIN:?}
ROOT=${HX_SOURCE_ROOT:?}
PACK="$ROOT/scenarios/ecommerce-etl-foundation"
. "$ROOT/tests/lib.sh"
hx_tempdir hx-contain-test
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
export CI=1
unset HARNESS_SEED
M="hx-$$"

# Processes whose command line carries marker $1, whatever their session or parent.
marked() {
    for p in $(pgrep -f "$1" 2>/dev/null); do
        [ "$p" = "$$" ] && continue
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1" && echo "$p"
    done | grep -v "^$" | sort
}
none_alive() { # name marker: nothing carrying the marker 3 s later
    sleep 3
    left=$(marked "$2")
    if [ -n "$left" ]; then
        bad "$1: solution processes still alive: $(for p in $left; do echo "$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)"
        kill -9 $left 2>/dev/null
    else
        ok "$1: no process of the solution alive 3 s later"
    fi
}
field() { # run.json expression
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}

# 1. The hunter, with an explicit seed: it finds no harness, no seed, no pack, no run folder,
# cannot poison the cache, and its daemons die with its invocations; it did no real work, so the
# quarantine and diff checks fail.
# The initdb cache where the harness keeps it (pgsvc.c cache_root: $XDG_CACHE_HOME, else $HOME,
# else the passwd entry of this user): its config files must not change under the hunter.
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache="${XDG_CACHE_HOME:-$home/.cache}/harness"
cache_sums() { find "$cache" -path '*/data/*.conf' -type f -exec sha256sum {} + 2>/dev/null | sort; }
before=$(cache_sums)
mkdir -p "$T/sols"
cp -r "$ROOT/tests/solutions/hunter" "$T/sols/hunter"
echo "{ \"name\": \"hunter\", \"batch\": \"sh ./run.sh\", \"env\": { \"HX_MARK\": \"$M-hunter-daemon\" } }" \
    >"$T/sols/hunter/solution.json"
chmod -R o+rX "$T/sols"
"$BIN" run "$PACK" --solution "$T/sols/hunter" --out "$T/hunter" \
    --scenario corrupt_quarantine --seed 7 2>"$T/hunter.err"
expect_rc "hunter fails its checks" 1 $?
[ "$(field "$T/hunter/run.json" 'd["isolation"]')" = bwrap ] && ok "run.json: isolation bwrap" ||
    bad "run.json isolation: $(field "$T/hunter/run.json" 'd.get("isolation")')"
for what in harness-process harness-environ-seed harness-binary own-seed pack run-folder cache-poisoned; do
    if grep -q "^$what no$" "$T/hunter/corrupt_quarantine/output/hunt.txt" 2>/dev/null ||
        field "$T/hunter/run.json" 'd["scenarios"][0]["invocations"][0]["stdout_tail"]' | grep -q "hunt: $what no"; then
        ok "hunter: $what not reachable"
    else
        bad "hunter: $what: $(field "$T/hunter/run.json" 'd["scenarios"][0]["invocations"][0]["stdout_tail"]' | grep "$what")"
    fi
done
field "$T/hunter/run.json" 'd["scenarios"][0]["invocations"][0]["stdout_tail"]' | grep -q "cgroup-escape yes" &&
    bad "hunter escaped its cgroup" || ok "hunter: no cgroup escape"
for chk in quarantine diff; do
    st=$(field "$T/hunter/run.json" '" ".join(c["status"] for c in d["scenarios"][0]["checks"] if "'$chk'" in c["name"])')
    case "$st" in *fail*) ok "hunter: $chk checks fail ($st)" ;; *) bad "hunter: $chk checks: '$st'" ;; esac
done
none_alive hunter "$M-hunter-daemon"
after=$(cache_sums)
if [ -z "$after" ]; then
    bad "no initdb cache under $cache after a run"
elif [ -n "$before" ] && [ "$before" != "$after" ]; then
    bad "the initdb cache's config files changed under the hunter: $(echo "$after" | head -3)"
else
    ok "the initdb cache under $cache is as the harness built it"
fi

# The runs after the hunter's skip the cost probe (--probe 0): it reruns each batch scenario at
# 4x its records and would only cost test time (the hunter's run keeps it: the probe's
# invocations are boxed like the others).

# 2. The seed is not in the solution's environment, even when the harness's own carries it (a
# CI secret), and run.json does not record a secret seed.
cat >"$T/seedsol.sh" <<'EOF'
env | grep -c '^HARNESS_SEED' > "$HARNESS_OUTPUT_DIR/seed-count"; exit 0
EOF
mkdir -p "$T/seedsol" && cp "$T/seedsol.sh" "$T/seedsol/run.sh"
echo '{ "name": "seedsol", "batch": "sh ./run.sh" }' >"$T/seedsol/solution.json"
HARNESS_SEED=424242 "$BIN" run "$PACK" --solution "$T/seedsol" --probe 0 --out "$T/seedsol-out" \
    --scenario baseline --keep 2>"$T/seedsol.err"
expect_rc "secret-seed run fails its checks" 1 $?
[ "$(cat "$T/seedsol-out/baseline/output/seed-count" 2>/dev/null)" = 0 ] &&
    ok "no HARNESS_SEED in the solution's environment" || bad "the solution saw HARNESS_SEED"
grep -q 424242 "$T/seedsol-out/run.json" && bad "run.json holds the secret seed" ||
    ok "run.json does not hold the secret seed"
echo 987654321987 >"$T/seed.txt"
"$BIN" run "$PACK" --solution "$T/seedsol" --probe 0 --out "$T/seedfile-out" --scenario baseline \
    --seed-file "$T/seed.txt" 2>"$T/seedfile.err"
expect_rc "--seed-file run" 1 $?
grep -q -e 987654321987 "$T/seedfile-out/run.json" && bad "run.json holds the --seed-file seed" ||
    ok "run.json does not hold the --seed-file seed"
echo nope >"$T/bad-seed.txt"
"$BIN" run "$PACK" --solution "$T/seedsol" --out "$T/x" --seed-file "$T/bad-seed.txt" 2>"$T/badseed.err"
expect_rc "--seed-file with no number" 2 $?
grep -q "nope" "$T/badseed.err" && bad "the error echoes the secret file's text" ||
    ok "the error does not echo the file's text"

# 3. Two SIGINTs in a row: the TERM-ignoring solution and its setsid daemon die, the finished
# scenario is reported, exit 130.
mkdir -p "$T/stubborn"
cat >"$T/stubborn/run.sh" <<'EOF'
trap '' TERM INT
( setsid sh -c 'trap "" TERM INT HUP; while :; do sleep 1; done # @M@-stubborn-daemon' & )
if [ "$HARNESS_SCENARIO" = baseline ]; then exit 0; fi
# Past the first scenario: a loop whose command line says so (the harness prints no progress
# under CI=1, so the test waits for this process, not for a progress line).
exec sh -c 'trap "" TERM INT; while :; do sleep 1; done' @M@-stubborn-main-dup
EOF
sed -i "s/@M@/$M/g" "$T/stubborn/run.sh"
echo "{ \"name\": \"stubborn\", \"batch\": \"sh ./run.sh # $M-stubborn-main\" }" >"$T/stubborn/solution.json"
"$BIN" run "$PACK" --solution "$T/stubborn" --probe 0 --out "$T/stubborn-out" --scenario baseline \
    --scenario duplicates 2>"$T/stubborn.err" &
hp=$!
j=0
while [ $j -lt 600 ] && [ -z "$(marked "$M-stubborn-main-dup")" ]; do sleep 0.2; j=$((j + 1)); done
[ -n "$(marked "$M-stubborn-main-dup")" ] && ok "two SIGINTs: the second scenario's solution was running" ||
    bad "two SIGINTs: the second scenario's solution never started: $(tail -3 "$T/stubborn.err")"
sleep 1
kill -INT $hp
sleep 0.05
kill -INT $hp 2>/dev/null # a ^C pressed twice; the harness may already be gone
wait $hp
expect_rc "two SIGINTs" 130 $?
[ "$(field "$T/stubborn-out/run.json" 'len(d["scenarios"])')" = 1 ] &&
    ok "two SIGINTs: run.json covers the finished scenario" || bad "two SIGINTs: run.json: $(ls "$T/stubborn-out")"
none_alive "two SIGINTs" "$M-stubborn"

# 4. kill -9 of the harness: nothing of the solution survives (bwrap --die-with-parent), and
# the next run reclaims the server's temp dir, naming it.
"$BIN" run "$PACK" --solution "$T/stubborn" --probe 0 --out "$T/k9-out" --scenario duplicates \
    2>"$T/k9.err" &
hp=$!
j=0
while [ $j -lt 600 ] && [ -z "$(marked "$M-stubborn-main")" ]; do sleep 0.2; j=$((j + 1)); done
[ -n "$(marked "$M-stubborn-main")" ] && ok "kill -9: the solution was running" || bad "kill -9: the solution never started: $(tail -3 "$T/k9.err")"
kill -9 $hp
wait $hp 2>/dev/null
none_alive "kill -9" "$M-stubborn"
left=$(ls -d "$TMPDIR"/hx-pg-* 2>/dev/null)
"$BIN" run "$PACK" --solution "$T/seedsol" --probe 0 --out "$T/after-k9" --scenario baseline 2>"$T/after.err"
if [ -n "$left" ]; then
    grep -q "reclaimed '$left'" "$T/after.err" && ok "next run reclaims $left and says so" ||
        bad "next run did not name $left: $(grep -i warning "$T/after.err")"
fi
[ -z "$(ls -d "$TMPDIR"/hx-pg-* 2>/dev/null)" ] && ok "no postgres temp dir left" ||
    bad "postgres temp dirs left: $(ls -d "$TMPDIR"/hx-pg-*)"

# 5. --sandbox: an unknown mode is a usage error with a suggestion; none is recorded.
"$BIN" run "$PACK" --solution "$T/seedsol" --out "$T/y" --sandbox bwarp 2>"$T/mode.err"
expect_rc "--sandbox bwarp" 2 $?
grep -q "did you mean 'bwrap'" "$T/mode.err" && ok "--sandbox suggests bwrap" || bad "--sandbox message: $(cat "$T/mode.err")"
"$BIN" run "$PACK" --solution "$T/seedsol" --probe 0 --out "$T/none-out" --scenario baseline --sandbox none 2>"$T/none.err"
[ "$(field "$T/none-out/run.json" 'd["isolation"]')" = none ] && ok "run.json: isolation none" ||
    bad "isolation with --sandbox none: $(field "$T/none-out/run.json" 'd.get("isolation")')"

# 6. The harness's environment (a CI job's tokens) does not reach the solution: envdump looks in
# its own environment and every /proc/PID/environ it can read, as the build and batch commands,
# in the box and with --sandbox none (run as an unprivileged user: a root solution could read
# anything). Only what --pass-env names passes.
mkdir -p "$T/sols" "$T/nb"
cp -r "$ROOT/tests/solutions/envdump" "$T/sols/envdump"
chmod -R o+rX "$T/sols"
chmod 777 "$T/nb"
envdump_ok() { # name run-folder
    logs=$(cat "$2/build/build.stdout.log" "$2"/*/logs/batch-0000.stdout.log 2>/dev/null)
    n=$(echo "$logs" | grep -c "own-env no")
    m=$(echo "$logs" | grep -c "proc-environ no")
    p=$(echo "$logs" | grep -c "passed hx-passed-ok")
    if [ "$n" = 2 ] && [ "$m" = 2 ] && [ "$p" = 2 ]; then
        ok "$1: no secret in the build's or the batch's environment or any /proc/PID/environ; --pass-env passed"
    else
        bad "$1: $logs"
    fi
}
GITHUB_TOKEN=hx-secret-gh AWS_SECRET_ACCESS_KEY=hx-secret-aws HX_PASSED=hx-passed-ok \
    "$BIN" run "$ROOT/tests/packs/redteam" --solution "$T/sols/envdump" --out "$T/envdump" --scenario steal \
    --pass-env HX_PASSED 2>"$T/envdump.err"
expect_rc "envdump in the box" 1 $?
envdump_ok "envdump in the box" "$T/envdump"
asuser=""
[ "$(id -u)" = 0 ] && asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
HOME="$T/nb" TMPDIR="$T/nb" GITHUB_TOKEN=hx-secret-gh AWS_SECRET_ACCESS_KEY=hx-secret-aws \
    HX_PASSED=hx-passed-ok $asuser "$BIN" run "$ROOT/tests/packs/redteam" \
    --solution "$T/sols/envdump" --out "$T/nb/envdump" --scenario steal --sandbox none --pass-env HX_PASSED \
    2>"$T/envdump-none.err"
expect_rc "envdump with --sandbox none" 1 $?
envdump_ok "envdump with --sandbox none" "$T/nb/envdump"
"$BIN" run "$PACK" --solution "$T/seedsol" --out "$T/z" --pass-env HARNESS_SEED 2>"$T/passseed.err"
expect_rc "--pass-env HARNESS_SEED" 2 $?
grep -q "the seed never reaches the solution" "$T/passseed.err" && ok "--pass-env refuses the seed" ||
    bad "--pass-env HARNESS_SEED: $(cat "$T/passseed.err")"

# 7. Disk: files each under the 1 MiB "disk" limit fill where the solution may write past it.
# The total of its output folder, its /tmp (with /dev/shm and /var/tmp) and what it adds to its
# own folder is measured while it runs (stopped at once) and when it ends (a burst that exits 0
# at once still fails), and a tree nested too deep to measure is over in itself. Empty files
# count against the "files" limit (2000 here). The box's root, /etc, /var and /dev (tmpfs in the
# host's memory, which nothing measures) are read-only. Files deleted while held open count.
for m in burst forever deep own tmp files root held; do
    mkdir -p "$T/sols/df-$m"
    cp "$ROOT/tests/solutions/diskfill/run.sh" "$T/sols/df-$m/run.sh"
    echo "{ \"name\": \"diskfill\", \"batch\": \"sh ./run.sh\", \"timeout\": \"60s\",
  \"limits\": { \"disk\": \"1MiB\", \"files\": 2000 }, \"env\": { \"FILL\": \"$m\" } }" \
        >"$T/sols/df-$m/solution.json"
    chmod -R o+rX "$T/sols/df-$m"
    "$BIN" run "$ROOT/tests/packs/redteam" --solution "$T/sols/df-$m" --out "$T/df-$m" \
        --scenario steal 2>"$T/df-$m.err"
    expect_rc "diskfill $m fails" 1 $?
    inv='d["scenarios"][0]["invocations"][0]'
    tail=$(field "$T/df-$m/run.json" "$inv[\"stderr_tail\"]")
    out=$(field "$T/df-$m/run.json" "$inv[\"stdout_tail\"]")
    case "$m:$tail" in
    deep:*"disk limit 1 MiB reached: its output folder nests deeper than 64 folders"*) ok "diskfill deep: $(echo $tail)" ;;
    burst:*"disk limit 1 MiB reached: it wrote "*" MiB (output folder "*" MiB, /tmp "* | \
        forever:*"disk limit 1 MiB reached: it wrote "*" MiB (output folder "*" MiB, /tmp "* | \
        own:*"disk limit 1 MiB reached: it wrote "*", its own folder "*" MiB more than at the start): stopped"* | \
        tmp:*"disk limit 1 MiB reached: it wrote "*", /tmp "*" MiB, its own folder "* | \
        files:*"file limit 2000 reached: it made at least "*" files and folders (output folder 0, /tmp "* | \
        held:*"disk limit 1 MiB reached: it wrote "*" MiB in 3 deleted files it holds open): stopped"*)
        ok "diskfill $m: $(echo $tail)" ;;
    root:*)
        case "$out" in
        *"root tried"*"wrote /"* | *"wrote /"*"root tried"*) bad "diskfill root: wrote into the box's tmpfs: $out" ;;
        *"root tried"*) ok "diskfill root: the box's root, /etc, /var and /dev are read-only" ;;
        *) bad "diskfill root: stdout tail '$out' stderr tail '$tail'" ;;
        esac
        continue
        ;;
    *) bad "diskfill $m: stderr tail '$tail'" ;;
    esac
    st=$(field "$T/df-$m/run.json" "($inv[\"exit_code\"], $inv[\"timed_out\"])")
    [ "$st" = "(-1, False)" ] && ok "diskfill $m: a failed invocation, not a timeout" ||
        bad "diskfill $m: exit_code, timed_out = $st"
done
[ -z "$(ls -d "$TMPDIR"/hx-sol-* 2>/dev/null)" ] && ok "diskfill: no work folder (copies, /tmp) left" ||
    bad "diskfill: work folders left: $(ls -d "$TMPDIR"/hx-sol-*)"

# 8. PostgreSQL storage: 100 MB in one statement against a "database" limit of 40 MiB. The
# database's folder on the embedded server's disk is measured like the output folder: the
# command is stopped or failed naming the limit, and the checks still run (and fail).
cp -r "$ROOT/tests/solutions/dbfill" "$T/sols/dbfill"
chmod -R o+rX "$T/sols/dbfill"
"$BIN" run "$ROOT/tests/packs/redteam" --solution "$T/sols/dbfill" --out "$T/dbfill" \
    --scenario steal 2>"$T/dbfill.err"
expect_rc "dbfill fails" 1 $?
tail=$(field "$T/dbfill/run.json" 'd["scenarios"][0]["invocations"][0]["stderr_tail"]')
case "$tail" in
*"database limit 40 MiB reached: its PostgreSQL database held"*) ok "dbfill: $(echo $tail)" ;;
*) bad "dbfill: stderr tail '$tail'" ;;
esac
[ "$(field "$T/dbfill/run.json" 'd["scenarios"][0]["checks"][0]["status"]')" = fail ] &&
    ok "dbfill: its diff check ran and failed" ||
    bad "dbfill: checks: $(field "$T/dbfill/run.json" 'd["scenarios"][0]["checks"]')"

hx_valid_all_runjson "every run.json written"
hx_done
