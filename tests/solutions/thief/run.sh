#!/bin/sh
# thief: a hostile batch solution (docs/solutions.md "Threat model") that copies nothing. Its
# orders_out is a view over a function, and the harness's check reads that view on its own
# session, where the diff keeps the truth in a TEMP table: the function returns those rows when
# they are there. PLANT=1: the function instead leaves a TEMP table of its own in the session
# (a place for the truth's rows to be caught later). tests/transcript_redteam.sh runs both.
set -eu
if [ -n "${PLANT:-}" ]; then
    body="create temp table if not exists stash (v text); return;"
else
    body="return query execute 'select k::bigint, c2::numeric(12,2), c3 from pg_temp._hx_diff_t';"
fi
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 <<SQL
create function steal() returns table (id bigint, amount numeric(12,2), note text)
language plpgsql as \$\$
begin
  $body
exception when undefined_table then
  return;
end \$\$;
create view orders_out as select * from steal();
SQL
echo "orders_out is a view over the check's own session"
