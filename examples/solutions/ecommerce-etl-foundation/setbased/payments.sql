-- Set-based load of one drop of payment events. psql variables: events, bad (CSV file paths from
-- payments.lua), file. The event that arrives last is the payment's current state: within the
-- drop by line, across drops by the upsert; an exact redelivery changes nothing.
begin;
create temp table pstage (order_id bigint, payment_status text, paid_amount numeric(12,2),
                          paid_at timestamptz, line int) on commit drop;
\set copy_events '\\copy pstage from ' :'events' ' with (format csv)'
:copy_events
\set copy_bad '\\copy quarantine_payments from ' :'bad' ' with (format csv)'
:copy_bad

insert into payments_current
select distinct on (order_id) order_id, payment_status, paid_amount, paid_at
from pstage order by order_id, line desc
on conflict (order_id) do update
  set payment_status = excluded.payment_status, paid_amount = excluded.paid_amount,
      paid_at = excluded.paid_at;

-- Into the facts, and restate the days of the orders whose payment changed.
create temp table changed (day date) on commit drop;
with u as (
  update fct_orders f set payment_status = p.payment_status, paid_amount = p.paid_amount
  from payments_current p
  where p.order_id = f.order_id and p.order_id in (select order_id from pstage)
    and (f.payment_status is distinct from p.payment_status
         or f.paid_amount is distinct from p.paid_amount)
  returning (f.order_ts at time zone 'UTC')::date as day)
insert into changed select day from u;
update daily_sales d set paid_revenue = x.paid
from (select (order_ts at time zone 'UTC')::date as day,
             coalesce(sum(paid_amount) filter (where payment_status = 'paid'), 0) as paid
      from fct_orders
      where (order_ts at time zone 'UTC')::date in (select distinct day from changed)
      group by 1) x
where d.day = x.day;
insert into etl_loaded_files (name) values (:'file');
commit;
