-- Weekly cohorts by each customer's first order (weeks start on Monday, UTC): how many of the
-- cohort ordered again N weeks later.
with orders_ok as (
  select o.customer_id, date_trunc('week', o.order_ts::timestamptz) as week
  from orders o
  where o.status <> 'cancelled'
), first as (
  select customer_id, min(week) as cohort from orders_ok group by customer_id
), active as (
  select distinct customer_id, week from orders_ok
)
select f.cohort, (a.week::date - f.cohort::date) / 7 as weeks_after, count(*) as customers
from first f
join active a on a.customer_id = f.customer_id
group by 1, 2
