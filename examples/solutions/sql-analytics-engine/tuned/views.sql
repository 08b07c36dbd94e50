-- The materialised views the served queries read: each is an analyst query's answer, the same
-- text as the pack's (so the answer is exact), computed once a load instead of once a request.
create index if not exists orders_customer_idx on orders (customer_id);

create materialized view wh_top_products_month as
with revenue as (
  select date_trunc('month', o.order_ts::timestamptz) as month,
         oi.product_id::bigint as product_id,
         sum(oi.quantity::int * oi.unit_price::numeric) as revenue
  from order_items oi
  join orders o on o.order_id = oi.order_id
  where o.status <> 'cancelled'
  group by 1, 2
), ranked as (
  select month, product_id, revenue,
         row_number() over (partition by month order by revenue desc, product_id) as rank
  from revenue
)
select month, rank, product_id, revenue from ranked where rank <= 10;

create materialized view wh_daily_revenue as
select day, orders, revenue, sum(revenue) over (order by day) as running_revenue
from (
  select (o.order_ts::timestamptz at time zone 'UTC')::date as day,
         count(*) as orders, sum(o.amount::numeric) as revenue
  from orders o
  where o.status <> 'cancelled'
  group by 1
) d;

create materialized view wh_customer as
select o.customer_id::bigint as customer_id, c.country, c.segment,
       count(*) as orders, sum(o.amount::numeric) as lifetime_value
from orders o
join customers c on c.customer_id = o.customer_id
where o.status <> 'cancelled'
group by o.customer_id, c.country, c.segment;
create index wh_customer_ltv_idx on wh_customer (lifetime_value desc, customer_id);

create materialized view wh_repeat_purchase_rate as
select count(*) filter (where n >= 2) as repeat_customers,
       count(*) as customers,
       round(count(*) filter (where n >= 2)::numeric / count(*), 6) as repeat_rate
from (
  select o.customer_id, count(*) as n from orders o where o.status <> 'cancelled'
  group by o.customer_id
) c;

create materialized view wh_cohort_retention as
with orders_ok as (
  select o.customer_id, date_trunc('week', o.order_ts::timestamptz) as week
  from orders o where o.status <> 'cancelled'
), first as (
  select customer_id, min(week) as cohort from orders_ok group by customer_id
), active as (
  select distinct customer_id, week from orders_ok
)
select f.cohort, (a.week::date - f.cohort::date) / 7 as weeks_after, count(*) as customers
from first f join active a on a.customer_id = f.customer_id
group by 1, 2;

create materialized view wh_payments_by_method as
select date_trunc('week', p.paid_at::timestamptz) as week, p.method,
       count(*) as payments, sum(p.amount::numeric) as amount
from payments p
group by 1, 2;

create materialized view wh_category_share as
select week, category, revenue, round(revenue / sum(revenue) over (partition by week), 6) as share
from (
  select date_trunc('week', o.order_ts::timestamptz) as week, p.category,
         sum(oi.quantity::int * oi.unit_price::numeric) as revenue
  from order_items oi
  join orders o on o.order_id = oi.order_id
  join products p on p.product_id = oi.product_id
  where o.status <> 'cancelled'
  group by 1, 2
) w;

analyze;
