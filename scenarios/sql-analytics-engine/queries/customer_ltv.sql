-- The twenty customers with the highest lifetime value (revenue of their orders), with their
-- country and segment; ties by customer id.
select o.customer_id::bigint as customer_id, c.country, c.segment,
       count(*) as orders, sum(o.amount::numeric) as lifetime_value
from orders o
join customers c on c.customer_id = o.customer_id
where o.status <> 'cancelled'
group by o.customer_id, c.country, c.segment
order by lifetime_value desc, customer_id
limit 20
