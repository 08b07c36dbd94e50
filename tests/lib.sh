# tests/lib.sh - what the transcript tests share; sourced (`. "$HX_SOURCE_ROOT/tests/lib.sh"`),
# never run. POSIX sh.
#
# hx_tempdir NAME: T = a fresh folder under $TMPDIR (or /tmp), removed when the script exits. It
# is 0711: as root the solution's box and the embedded server run as an unprivileged user, who
# must reach the run folders made inside it.
# ok / bad / expect_rc: TAP-like lines; bad counts into $fails.
# hx_done: the count line, and the script's exit status (0 when nothing failed).

fails=0

hx_tempdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    chmod 711 "$T"
    trap 'rm -rf "$T"' EXIT
}

ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; fails=$((fails + 1)); }
expect_rc() { # name want got
    if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else bad "$1: expected exit $2, got $3"; fi
}

hx_done() {
    if [ "$fails" = 0 ]; then echo "# all passed"; else echo "# $fails failed"; fi
    exit $((fails > 0))
}
