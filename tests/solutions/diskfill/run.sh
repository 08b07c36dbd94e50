#!/bin/sh
# diskfill: a hostile solution (docs/solutions.md "Limits") that fills where it may write with
# files each under its "disk" limit (1 MiB: RLIMIT_FSIZE never fires). FILL=burst writes 8 files
# of 900 KB in its output folder and exits 0 at once; FILL=forever keeps writing one every 0.2 s
# and never ends; FILL=deep hides a file under 70 nested folders; FILL=own writes into its own
# folder, FILL=tmp into /tmp, /dev/shm and /var/tmp, both forever; FILL=files makes empty files
# in /tmp, one every few milliseconds, against a "files" limit (no byte limit counts them);
# FILL=root tries the box's root, /etc, /var and /dev (tmpfs in the host's memory, read-only);
# FILL=held writes three files of 900 KB in /tmp, deletes each while holding it open (no walk of
# a folder finds them, their space stays taken) and waits.
# tests/transcript_contain.sh 7 runs them.
set -u
own=$PWD
cd "$HARNESS_OUTPUT_DIR"
fill() { # folder: one 900 KB file every 0.2 s, forever
    i=0
    while :; do
        i=$((i + 1))
        head -c 900000 /dev/zero >"$1/fill-$i"
        sleep 0.2
    done
}
case "${FILL:-burst}" in
burst)
    for i in 1 2 3 4 5 6 7 8; do head -c 900000 /dev/zero >"fill-$i"; done
    echo "diskfill: wrote 8 files of 900 KB"
    ;;
forever) fill . ;;
deep)
    d=.
    for i in $(seq 1 70); do d="$d/d"; done
    mkdir -p "$d" && head -c 500000 /dev/zero >"$d/hidden"
    echo "diskfill: a file under 70 folders"
    ;;
own) fill "$own" ;;
tmp)
    head -c 900000 /dev/zero >/dev/shm/shm-1
    head -c 900000 /dev/zero >/var/tmp/var-1
    fill /tmp
    ;;
files)
    mkdir /tmp/many && cd /tmp/many || exit 1
    i=0
    while :; do
        i=$((i + 1))
        : >"f$i"
    done
    ;;
held)
    for fd in 3 4 5; do
        eval "exec $fd>/tmp/held-$fd" && rm "/tmp/held-$fd" && eval "head -c 900000 /dev/zero >&$fd"
    done
    echo "diskfill: 3 deleted files of 900 KB held open"
    while :; do sleep 0.2; done
    ;;
root)
    for d in / /etc /var /dev; do
        head -c 900000 /dev/zero >"$d/fill" 2>/dev/null && echo "diskfill: wrote $d/fill"
    done
    echo "diskfill: root tried"
    ;;
esac
exit 0
