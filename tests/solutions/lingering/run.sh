#!/bin/sh
# lingering: a hostile batch solution (docs/solutions.md "Threat model") that ends its command at
# once and leaves the work to a server session: the backend of a psql killed with its box holds
# orders_out under ACCESS EXCLUSIVE, sleeps SLEEP seconds (default 3), then fills it and commits
# (one query string, so nothing waits for the client). Were that session left alive, the check
# would wait for the lock and pass, and the run's time would miss the work.
set -eu
q() { psql "$DATABASE_URL" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; }
q "create table orders_out (id bigint, amount numeric(12,2))"
psql "$DATABASE_URL" -X -q -c "begin; lock table orders_out in access exclusive mode;
  select pg_sleep(${SLEEP:-3}); insert into orders_out select id::bigint, amount::numeric(12,2)
  from raw_orders; commit" >/dev/null 2>&1 &
i=0
until [ "$(q "select count(*) from pg_locks l join pg_class c on c.oid = l.relation
              where c.relname = 'orders_out' and l.mode = 'AccessExclusiveLock' and l.granted")" = 1 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "the lock was never granted" >&2; exit 1; }
    sleep 0.05
done
echo "left the work to the server"
