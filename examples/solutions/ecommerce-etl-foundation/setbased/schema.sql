-- The sink's tables, created on the first run. See README.md for what each holds.
create table if not exists dim_customers (
  customer_id bigint primary key, email text, country text, segment text);
create table if not exists fct_orders (
  order_id bigint primary key, customer_id bigint not null, order_ts timestamptz not null,
  status text not null, channel text not null, amount numeric(12,2) not null,
  payment_status text, paid_amount numeric(12,2));
create table if not exists daily_sales (
  day date primary key, orders bigint not null, revenue numeric(14,2) not null,
  paid_revenue numeric(14,2) not null default 0);
create table if not exists quarantine_orders (order_id bigint, reason text not null);
-- Each order's current payment (its latest event), kept apart so a payment that arrives before
-- its order is not lost.
create table if not exists payments_current (
  order_id bigint primary key, payment_status text not null, paid_amount numeric(12,2),
  paid_at timestamptz);
create table if not exists quarantine_payments (line int, reason text not null);
-- Erasure: the ids erased (no personal data: the key keeps later orders and reloads from
-- raw_customers away from them), and requests for ids the shop does not know.
create table if not exists erased_customers (customer_id bigint primary key, requested_at timestamptz);
create table if not exists quarantine_erasures (
  request_id bigint, customer_id bigint, requested_at timestamptz, reason text not null);
create table if not exists etl_loaded_files (name text primary key, loaded_at timestamptz not null default now());
-- The dimension: every customer not erased, the unknown member 0 and the erased member -1.
insert into dim_customers
select customer_id::bigint, email, country, segment from raw_customers
where customer_id::bigint not in (select customer_id from erased_customers)
union all select 0, null, 'unknown', 'unknown'
union all select -1, null, 'erased', 'erased'
on conflict (customer_id) do nothing;
