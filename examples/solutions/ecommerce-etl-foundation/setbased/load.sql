-- Set-based load of one validated drop of orders. psql variables: clean, quarantine (file
-- paths), file (its name, recorded in etl_loaded_files).
begin;
create temp table stage (order_id bigint, customer_id bigint, order_ts timestamptz, status text,
                         channel text, amount numeric(12,2), batch int, line int) on commit drop;
\set copy_clean '\\copy stage from ' :'clean' ' with (format csv)'
:copy_clean
\set copy_quarantine '\\copy quarantine_orders from ' :'quarantine' ' with (format csv)'
:copy_quarantine

-- Latest version of each order wins: within the drop by line, across drops by the upsert. A
-- missing customer is the unknown member 0; an erased one is the anonymous member -1. The order's
-- payment, if its events came first, is joined in.
insert into fct_orders
select distinct on (s.order_id) s.order_id,
       case when e.customer_id is not null then -1 else coalesce(s.customer_id, 0) end,
       s.order_ts, s.status, s.channel, s.amount, p.payment_status, p.paid_amount
from stage s
left join erased_customers e on e.customer_id = s.customer_id
left join payments_current p on p.order_id = s.order_id
order by s.order_id, s.line desc
on conflict (order_id) do update
  set customer_id = excluded.customer_id, order_ts = excluded.order_ts, status = excluded.status,
      channel = excluded.channel, amount = excluded.amount;

-- Restate every day this drop touched (late orders touch past days; a changed version can move
-- an order to another day, so the day it had before counts too).
create temp table touched on commit drop as
  select distinct (order_ts at time zone 'UTC')::date as day from stage;
delete from daily_sales where day in (select day from touched);
insert into daily_sales
select (order_ts at time zone 'UTC')::date, count(*), sum(amount),
       coalesce(sum(paid_amount) filter (where payment_status = 'paid'), 0)
from fct_orders where (order_ts at time zone 'UTC')::date in (select day from touched)
group by 1;
insert into etl_loaded_files (name) values (:'file');
commit;
