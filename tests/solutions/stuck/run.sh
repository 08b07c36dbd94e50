#!/bin/sh
# stuck: outputs a check cannot read to the end (tests/packs/checks). orders_out is a plain copy
# of the input; sleepy_out is a view over pg_sleep(3600); in scenario "locked", locked_out is a
# table that a session this script leaves behind holds under ACCESS EXCLUSIVE: its backend would
# sleep on with the lock after psql and this script are gone, but the harness ends it.
set -eu
q() { psql "$DATABASE_URL" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; }
q "create table orders_out as select id::bigint as id, amount::numeric(12,2) as amount from raw_orders"
q "create view sleepy_out as select o.* from orders_out o, pg_sleep(3600) s"
if [ "$HARNESS_SCENARIO" = locked ]; then
    q "create table locked_out as select * from orders_out"
    psql "$DATABASE_URL" -X -q -c "begin; lock table locked_out in access exclusive mode; select pg_sleep(3600)" \
        >/dev/null 2>&1 &
    i=0
    until [ "$(q "select count(*) from pg_locks l join pg_class c on c.oid = l.relation
                  where c.relname = 'locked_out' and l.mode = 'AccessExclusiveLock' and l.granted")" = 1 ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { echo "the lock was never granted" >&2; exit 1; }
        sleep 0.1
    done
fi
