#!/bin/sh
# Set-based reference solution: after each drop, load every landing file not loaded yet (earlier
# drops stay in the folder; etl_loaded_files remembers which were loaded), in this order: orders
# (validated by prep.lua, loaded by load.sql with a handful of set operations), payments
# (payments.lua turns the JSONL events into CSV, payments.sql applies them), erasure requests
# (erase.sql). See README.md and docs/adr/.
set -eu
in="$HARNESS_INPUT_DIR"
work="${HARNESS_OUTPUT_DIR:-/tmp}/setbased-${HARNESS_BATCH:-0}"
mkdir -p "$work"
sql() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -X "$@"; }

sql -f ./schema.sql
loaded=$(sql -At -c "select name from etl_loaded_files")
is_new() { ! printf '%s\n' "$loaded" | grep -qxF "$1"; }

for f in "$in"/orders/orders-*.csv; do
  [ -e "$f" ] || continue
  name="orders/${f##*/}"
  is_new "$name" || continue
  lua5.4 ./prep.lua "$f" "${HARNESS_BATCH:-0}" "$work/clean.csv" "$work/quarantine.csv"
  sql -v clean="$work/clean.csv" -v quarantine="$work/quarantine.csv" -v file="$name" -f ./load.sql
done
for f in "$in"/payments/payments-*.jsonl; do
  [ -e "$f" ] || continue
  name="payments/${f##*/}"
  is_new "$name" || continue
  lua5.4 ./payments.lua "$f" "$work/payments.csv" "$work/payments_bad.csv"
  sql -v events="$work/payments.csv" -v bad="$work/payments_bad.csv" -v file="$name" -f ./payments.sql
done
for f in "$in"/erasures/erasures-*.csv; do
  [ -e "$f" ] || continue
  name="erasures/${f##*/}"
  is_new "$name" || continue
  sql -v requests="$f" -v file="$name" -f ./erase.sql
done
