-- Revenue and orders per UTC day with the running total since the first day, cancelled orders
-- left out.
select day, orders, revenue, sum(revenue) over (order by day) as running_revenue
from (
  select (o.order_ts::timestamptz at time zone 'UTC')::date as day,
         count(*) as orders,
         sum(o.amount::numeric) as revenue
  from orders o
  where o.status <> 'cancelled'
  group by 1
) d
order by day
