-- The materialised views the served queries read, made once (refresh.sql restates them after
-- every load). Two summaries read the raw tables, each once: wh_item_revenue (the revenue of the
-- items of orders that count, per product and calendar bucket) and wh_customer_day (orders and
-- revenue per customer and day). Each analyst query's answer is a small view over them, grouped
-- the way the analysts' SQL groups, so the answer is the same: numeric sums are exact, whatever
-- the grouping order.
-- A few whole-table aggregates once a load: JIT compilation would cost more than it saves, and
-- their groups fit in memory. The analysts' buckets are UTC days, weeks and months.
set jit = off;
set work_mem = '64MB';
set timezone = 'UTC';

-- customer_orders: one customer's orders, a point lookup on the raw text column.
create index if not exists orders_customer_idx on orders (customer_id);

-- One pass over order_items joined to orders, each order's buckets computed once (a
-- materialised CTE: inlined, the timestamp text would be parsed again for every item). A week
-- that spans two months is two rows.
create materialized view wh_item_revenue as
with o as materialized (
  select order_id, date_trunc('month', ts) as month, date_trunc('week', ts) as week
  from (select order_id, order_ts::timestamptz as ts from orders where status <> 'cancelled') t
)
select o.month, o.week, oi.product_id, sum(oi.quantity::int * oi.unit_price::numeric) as revenue
from order_items oi
join o on o.order_id = oi.order_id
group by 1, 2, 3;

-- One pass over orders: what counts per customer (the raw text key) and UTC day.
create materialized view wh_customer_day as
select customer_id, (ts at time zone 'UTC')::date as day, date_trunc('week', ts) as week,
       count(*) as orders, sum(amount) as revenue
from (select customer_id, order_ts::timestamptz as ts, amount::numeric as amount
      from orders where status <> 'cancelled') o
group by 1, 2, 3;

create materialized view wh_top_products_month as
with revenue as (
  select month, product_id::bigint as product_id, sum(revenue) as revenue
  from wh_item_revenue
  group by 1, 2
), ranked as (
  select month, product_id, revenue,
         row_number() over (partition by month order by revenue desc, product_id) as rank
  from revenue
)
select month, rank, product_id, revenue from ranked where rank <= 10;

create materialized view wh_category_share as
select week, category, revenue, round(revenue / sum(revenue) over (partition by week), 6) as share
from (
  select r.week, p.category, sum(r.revenue) as revenue
  from wh_item_revenue r
  join products p on p.product_id = r.product_id
  group by 1, 2
) w;

create materialized view wh_daily_revenue as
select day, orders, revenue, sum(revenue) over (order by day) as running_revenue
from (
  select day, sum(orders)::bigint as orders, sum(revenue) as revenue
  from wh_customer_day
  group by 1
) d;

create materialized view wh_customer as
select d.customer_id::bigint as customer_id, c.country, c.segment,
       sum(d.orders)::bigint as orders, sum(d.revenue) as lifetime_value
from wh_customer_day d
join customers c on c.customer_id = d.customer_id
group by d.customer_id, c.country, c.segment;
create index wh_customer_ltv_idx on wh_customer (lifetime_value desc, customer_id);

create materialized view wh_repeat_purchase_rate as
select count(*) filter (where n >= 2) as repeat_customers,
       count(*) as customers,
       round(count(*) filter (where n >= 2)::numeric / count(*), 6) as repeat_rate
from (select customer_id, sum(orders) as n from wh_customer_day group by customer_id) c;

create materialized view wh_cohort_retention as
with first as (
  select customer_id, min(week) as cohort from wh_customer_day group by customer_id
), active as (
  select distinct customer_id, week from wh_customer_day
)
select f.cohort, (a.week::date - f.cohort::date) / 7 as weeks_after, count(*) as customers
from first f join active a on a.customer_id = f.customer_id
group by 1, 2;

create materialized view wh_payments_by_method as
select date_trunc('week', p.paid_at::timestamptz) as week, p.method,
       count(*) as payments, sum(p.amount::numeric) as amount
from payments p
group by 1, 2;

analyze orders, order_items, customers, products, payments;
