-- The customer service screen: the orders of customer 42, newest first.
select o.order_id::bigint as order_id, o.order_ts::timestamptz as order_ts, o.status,
       o.channel, o.amount::numeric as amount
from orders o
where o.customer_id = '42'
order by o.order_ts::timestamptz desc, order_id
