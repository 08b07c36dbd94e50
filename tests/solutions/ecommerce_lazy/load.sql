-- The reference load.sql with three shortcuts (marked LAZY).
begin;
create table if not exists dim_customers (
  customer_id bigint primary key, email text, country text, segment text);
create table if not exists fct_orders (
  order_id bigint primary key, customer_id bigint not null, order_ts timestamptz not null,
  status text not null, channel text not null, amount numeric(12,2) not null);
create table if not exists daily_sales (day date primary key, orders bigint not null, revenue numeric(14,2) not null);
create table if not exists quarantine_orders (order_id bigint, reason text not null);

-- LAZY: the keys only, no attributes.
insert into dim_customers (customer_id)
select customer_id::bigint from raw_customers union all select 0
on conflict (customer_id) do nothing;

create temp table stage (order_id bigint, customer_id bigint, order_ts timestamptz, status text,
                         channel text, amount numeric(12,2), batch int, line int) on commit drop;
\set copy_clean '\\copy stage from ' :'clean' ' with (format csv)'
:copy_clean
-- LAZY: the quarantine file is loaded twice.
\set copy_quarantine '\\copy quarantine_orders from ' :'quarantine' ' with (format csv)'
:copy_quarantine
:copy_quarantine

insert into fct_orders
select distinct on (order_id) order_id, coalesce(customer_id, 0), order_ts, status, channel, amount
from stage order by order_id, line desc
on conflict (order_id) do update
  set customer_id = excluded.customer_id, order_ts = excluded.order_ts, status = excluded.status,
      channel = excluded.channel, amount = excluded.amount;

create temp table touched on commit drop as
  select distinct (order_ts at time zone 'UTC')::date as day from stage;
delete from daily_sales where day in (select day from touched);
-- LAZY: the order count is not kept.
insert into daily_sales
select (order_ts at time zone 'UTC')::date, 0, sum(amount)
from fct_orders where (order_ts at time zone 'UTC')::date in (select day from touched)
group by 1;
commit;
