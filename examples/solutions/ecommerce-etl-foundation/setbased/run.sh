#!/bin/sh
# Set-based reference solution: validate the day's drop, then load it with a handful of SQL set
# operations (dedup by latest version, upsert, restate the touched days). See README.md.
set -eu
batch="${HARNESS_BATCH:-0}"
file=$(printf '%s/orders/orders-%04d.csv' "$HARNESS_INPUT_DIR" "$batch")
work="${HARNESS_OUTPUT_DIR:-/tmp}/setbased-$batch"
mkdir -p "$work"
lua5.4 ./prep.lua "$file" "$batch" "$work/clean.csv" "$work/quarantine.csv"
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -X \
  -v clean="$work/clean.csv" -v quarantine="$work/quarantine.csv" -f ./load.sql
