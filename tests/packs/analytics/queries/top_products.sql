-- the five products with the most revenue (ties by id)
select oi.product_id::bigint as product_id,
       sum(oi.quantity::int * oi.unit_price::numeric) as revenue
from order_items oi
group by 1
order by revenue desc, product_id
limit 5;
