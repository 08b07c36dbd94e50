-- Customers with an order, those with two or more, and their share (6 decimals).
select count(*) filter (where n >= 2) as repeat_customers,
       count(*) as customers,
       round(count(*) filter (where n >= 2)::numeric / count(*), 6) as repeat_rate
from (
  select o.customer_id, count(*) as n
  from orders o
  where o.status <> 'cancelled'
  group by o.customer_id
) c
