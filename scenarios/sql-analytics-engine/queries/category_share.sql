-- Phase 2's new dashboard tile: each product category's revenue per UTC week and its share of
-- the week's revenue (6 decimals), cancelled orders left out.
select week, category, revenue, round(revenue / sum(revenue) over (partition by week), 6) as share
from (
  select date_trunc('week', o.order_ts::timestamptz) as week, p.category,
         sum(oi.quantity::int * oi.unit_price::numeric) as revenue
  from order_items oi
  join orders o on o.order_id = oi.order_id
  join products p on p.product_id = oi.product_id
  where o.status <> 'cancelled'
  group by 1, 2
) w
