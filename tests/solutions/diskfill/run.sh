#!/bin/sh
# diskfill: a hostile solution (docs/solutions.md "Limits") that fills its output folder with
# files each under its "disk" limit (1 MiB: RLIMIT_FSIZE never fires). FILL=burst writes 8 files
# of 900 KB and exits 0 at once; FILL=forever keeps writing one every 0.2 s and never ends;
# FILL=deep hides a file under 70 nested folders. tests/transcript_contain.sh 7 runs them.
set -u
cd "$HARNESS_OUTPUT_DIR"
case "${FILL:-burst}" in
burst)
    for i in 1 2 3 4 5 6 7 8; do head -c 900000 /dev/zero >"fill-$i"; done
    echo "diskfill: wrote 8 files of 900 KB"
    ;;
forever)
    i=0
    while :; do
        i=$((i + 1))
        head -c 900000 /dev/zero >"fill-$i"
        sleep 0.2
    done
    ;;
deep)
    d=.
    for i in $(seq 1 70); do d="$d/d"; done
    mkdir -p "$d" && head -c 500000 /dev/zero >"$d/hidden"
    echo "diskfill: a file under 70 folders"
    ;;
esac
exit 0
