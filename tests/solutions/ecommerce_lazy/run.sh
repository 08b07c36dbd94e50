#!/bin/sh
# ecommerce_lazy: the set-based reference solution of ecommerce-etl-foundation with three lazy
# shortcuts a contestant might take, each of which the pack's checks must catch: daily_sales.orders
# left at 0, dim_customers keys without their attributes, and every quarantined line written twice.
# tests/transcript_pack.sh runs it. prep.lua is a copy of the reference solution's.
set -eu
batch="${HARNESS_BATCH:-0}"
file=$(printf '%s/orders/orders-%04d.csv' "$HARNESS_INPUT_DIR" "$batch")
work="${HARNESS_OUTPUT_DIR:-/tmp}/lazy-$batch"
mkdir -p "$work"
lua5.4 ./prep.lua "$file" "$batch" "$work/clean.csv" "$work/quarantine.csv"
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -X \
  -v clean="$work/clean.csv" -v quarantine="$work/quarantine.csv" -f ./load.sql
