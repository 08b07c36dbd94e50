#!/bin/sh
# drops_log: appends one line per run to $HARNESS_OUTPUT_DIR/seen.txt: the batch number and every
# landing file there is at that moment, so a test can see which drops landed before which run.
set -eu
files=$(cd "$HARNESS_INPUT_DIR" && find . -type f | sed 's#^\./##' | sort | tr '\n' ' ')
echo "batch ${HARNESS_BATCH:-?}: $files" >>"$HARNESS_OUTPUT_DIR/seen.txt"
