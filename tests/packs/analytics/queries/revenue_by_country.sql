-- revenue and orders by the customer's country, cancelled orders left out (the raw tables hold
-- text, as the harness loaded them)
select c.country, sum(o.amount::numeric) as revenue, count(*) as orders
from orders o join customers c on c.customer_id = o.customer_id
where o.status <> 'cancelled'
group by c.country
