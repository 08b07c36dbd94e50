-- The ten products with the most revenue in each calendar month (UTC), cancelled orders left
-- out; ties by product id. The raw tables hold text as loaded, hence the casts.
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
select month, rank, product_id, revenue
from ranked
where rank <= 10
order by month, rank
