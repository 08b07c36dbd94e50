#!/bin/sh
# cdc_mirror: the service solution of tests/packs/cdc. Not change data capture: a refresh of each
# source table into schema target every 50 ms (one DO block loops: the columns the source gained,
# then each table, COMMIT) that deletes the target rows whose key is gone or whose row_version
# changed and inserts the source rows the target lacks. Its final state is right (deletes
# included) and it never writes a version twice or out of order, but a key changed twice between
# two refreshes skips a version: cdc_order fails it with the lost versions. Variants
# (environment): DROP_DELETES=1 never deletes a target row; DELAY=0.3 copies a row version only
# 0.3 s after its updated_at (a replication lag of at least that); UNORDERED=1 writes the previous
# snapshot back every third refresh (versions go down for a while); EAT_AUDIT=1 is hostile: it
# also advances the harness's audit slot hxa_* to the end of the WAL every 50 ms (its role has
# REPLICATION, which lets it move any slot of its database), so what it applied in between never
# reaches the audit (tests/transcript_redteam.sh).
set -eu
: "${HARNESS_CDC_TABLES:?not set}" "${HARNESS_CDC_SLOT:?not set}" "${PGDATABASE:?not set}"
env | grep -E '^HARNESS_CDC_' | sort > "$HARNESS_OUTPUT_DIR/cdc_env.txt"
psql -v ON_ERROR_STOP=1 -qAtc "SELECT rolreplication FROM pg_roles WHERE rolname = current_user" \
    > "$HARNESS_OUTPUT_DIR/replication.txt"
psql -v ON_ERROR_STOP=1 -qc "CREATE SCHEMA IF NOT EXISTS target"
body=""
names=""
unordered=false
[ -n "${UNORDERED:-}" ] && unordered=true
for t in $(echo "$HARNESS_CDC_TABLES" | tr ',' ' '); do
    key=$(psql -v ON_ERROR_STOP=1 -qAtc "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON \
a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = 'public.$t'::regclass AND \
i.indisprimary")
    psql -v ON_ERROR_STOP=1 -qc "CREATE TABLE IF NOT EXISTS target.$t (LIKE public.$t INCLUDING INDEXES); \
CREATE TABLE IF NOT EXISTS target._prev_$t (LIKE public.$t)"
    names="$names${names:+,}'$t'"
    body="$body
  IF $unordered AND n % 3 = 0 THEN
    DELETE FROM target.$t; INSERT INTO target.$t SELECT * FROM target._prev_$t;
  ELSE
    DELETE FROM target._prev_$t; INSERT INTO target._prev_$t SELECT * FROM target.$t;"
    if [ -n "${DELAY:-}" ]; then
        body="$body
    DELETE FROM target.$t x WHERE NOT EXISTS (SELECT 1 FROM public.$t p WHERE p.$key = x.$key);
    DELETE FROM target.$t x USING public.$t p WHERE p.$key = x.$key AND p.row_version <>
      x.row_version AND p.updated_at <= clock_timestamp() - interval '$DELAY seconds';
    INSERT INTO target.$t SELECT * FROM public.$t p WHERE p.updated_at <= clock_timestamp() -
      interval '$DELAY seconds' AND NOT EXISTS (SELECT 1 FROM target.$t x WHERE x.$key = p.$key);"
    elif [ -n "${DROP_DELETES:-}" ]; then
        body="$body
    DELETE FROM target.$t x USING public.$t p WHERE p.$key = x.$key;
    INSERT INTO target.$t SELECT * FROM public.$t;"
    else
        body="$body
    DELETE FROM target.$t x WHERE NOT EXISTS (SELECT 1 FROM public.$t p WHERE p.$key = x.$key
      AND p.row_version = x.row_version);
    INSERT INTO target.$t SELECT * FROM public.$t p WHERE NOT EXISTS (SELECT 1 FROM target.$t x
      WHERE x.$key = p.$key);"
    fi
    body="$body
  END IF;"
done
if [ -n "${EAT_AUDIT:-}" ]; then
    ( while :; do
        psql -qAtc "SELECT pg_replication_slot_advance(slot_name, pg_current_wal_insert_lsn()) FROM \
pg_replication_slots WHERE slot_name LIKE 'hxa\_%'" >/dev/null 2>&1 || true
        sleep 0.05
    done ) &
fi
echo ready
# one DO block that never ends: a refresh, COMMIT (a DO may end its transactions), sleep
exec psql -v ON_ERROR_STOP=1 -q <<SQL
DO \$do\$
DECLARE r record; n bigint := 0;
BEGIN
LOOP
  n := n + 1;
  FOR r IN SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS t
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace s ON s.oid = c.relnamespace
           WHERE s.nspname = 'public' AND c.relname IN ($names) AND a.attnum > 0
             AND NOT a.attisdropped AND NOT EXISTS (
               SELECT 1 FROM pg_attribute b WHERE b.attname = a.attname AND NOT b.attisdropped
               AND b.attrelid = to_regclass(format('target.%I', c.relname)))
           ORDER BY c.relname, a.attnum LOOP
    EXECUTE format('ALTER TABLE target.%I ADD COLUMN %I %s', r.relname, r.attname, r.t);
    EXECUTE format('ALTER TABLE target.%I ADD COLUMN %I %s', '_prev_' || r.relname, r.attname, r.t);
  END LOOP;
$body
  COMMIT;
  PERFORM pg_sleep(0.05);
END LOOP;
END
\$do\$;
SQL
