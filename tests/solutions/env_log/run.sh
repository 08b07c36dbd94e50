#!/bin/sh
# Records what the harness gave this invocation: one CSV row per run into seen.csv (the batch
# number, the dummy replay target's variable, whether the input folder was set), and a line on
# stdout and stderr naming the batch, so each invocation's logs can be told apart.
set -eu
f="$HARNESS_OUTPUT_DIR/seen.csv"
[ -f "$f" ] || echo "batch,dummy,input" > "$f"
echo "$HARNESS_BATCH,${DUMMY_TARGET:-},${HARNESS_INPUT_DIR:+set}" >> "$f"
echo "stdout of batch $HARNESS_BATCH"
echo "stderr of batch $HARNESS_BATCH" >&2
