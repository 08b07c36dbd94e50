#!/bin/sh
# envdump: a hostile solution (docs/solutions.md "Threat model") that looks for the harness's
# secrets: the CI job's tokens in its own environment, in /proc/1/environ (the box's init, or the
# machine's) and in every /proc/PID/environ it can read (the harness, the PostgreSQL server, ...
# when it runs as their user: --sandbox none). The secret is any value containing hx-secret-;
# HX_PASSED is the one variable the run passes on purpose (--pass-env). One line a finding, on
# stdout; run as the build command too. tests/transcript_contain.sh 6 runs it.
what=${1:-batch}
if env | grep -q hx-secret-; then
    echo "envdump $what: own-env yes: $(env | grep hx-secret- | cut -d= -f1 | tr '\n' ' ')"
else
    echo "envdump $what: own-env no"
fi
found=""
for f in /proc/1/environ /proc/[0-9]*/environ; do
    [ "$f" = "/proc/$$/environ" ] && continue
    tr '\0' '\n' <"$f" 2>/dev/null | grep -q hx-secret- && found="$found ${f%/environ}"
done
if [ -n "$found" ]; then
    echo "envdump $what: proc-environ yes:$found"
    for p in $found; do echo "  $p: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"; done
else
    echo "envdump $what: proc-environ no"
fi
echo "envdump $what: passed ${HX_PASSED:-unset}"
echo "envdump $what: path ${PATH:+set}"
