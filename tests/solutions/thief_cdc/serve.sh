#!/bin/sh
# thief_cdc: a hostile service (docs/solutions.md "Threat model") for tests/packs/cdc sync that
# mirrors nothing. cdc_state reads target.customers on its own session (the scenario role's),
# where it keeps the truth in pg_temp.hx_cdc_truth. So target.customers is a plain table of
# every key 1..300 whose columns are of the thief's own type `loot` (key, column) with a cast to
# text that returns the truth's value for that key and column, and a forced row security policy
# that hides the keys the truth says are deleted. With the truth in the session the check would
# read exactly the truth. Before it says ready it proves that in its own session, with a
# two-row hx_cdc_truth of its own. cdc_state copies the target as text before the truth is
# loaded (chk_seal), so the casts find nothing there. tests/transcript_redteam.sh 4 runs it.
set -eu
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
create schema if not exists target;
create type public.loot as (k text, col int);
create function public.loot_text(v public.loot) returns text language plpgsql as $$
declare r text;
begin
  execute format('select %s from pg_temp.hx_cdc_truth where k = $1',
                 case when v.col < 0 then 'row_version::text' else 'c' || v.col end)
    into r using v.k;
  return coalesce(r, v.k);
exception when undefined_table then
  return v.k;
end $$;
create cast (public.loot as text) with function public.loot_text(public.loot);
create function public.loot_alive(k text) returns boolean language plpgsql as $$
declare a boolean;
begin
  execute 'select alive from pg_temp.hx_cdc_truth where k = $1' into a using k;
  return coalesce(a, true);
exception when undefined_table then
  return true;
end $$;
create table target.customers (customer_id public.loot, email public.loot, tier public.loot,
  credit public.loot, notes public.loot, active public.loot, since public.loot,
  row_version public.loot);
insert into target.customers select row(i::text, 0)::loot, row(i::text, 1)::loot,
  row(i::text, 2)::loot, row(i::text, 3)::loot, row(i::text, 4)::loot, row(i::text, 5)::loot,
  row(i::text, 6)::loot, row(i::text, -1)::loot from generate_series(1, 300) i;
alter table target.customers enable row level security;
alter table target.customers force row level security;
create policy only_alive on target.customers using (public.loot_alive((customer_id).k));
SQL
got=$(psql -X -qAt -v ON_ERROR_STOP=1 <<'SQL'
create temp table hx_cdc_truth (k text, alive boolean, row_version bigint, c0 text, c1 text,
  c2 text, c3 text, c4 text, c5 text, c6 text);
insert into hx_cdc_truth values ('7', true, 3, '7', 'e@x', 'pro', '1.00', 'n', 't', 'now'),
  ('8', false, 2, null, null, null, null, null, null, null);
select string_agg(customer_id::text || '/' || email::text || '/' || row_version::text, ' ')
  from target.customers where (customer_id).k in ('7', '8');
SQL
)
echo "thief_cdc: the table reads a session's truth: ${got:-nothing}"
echo ready
exec sleep 600
