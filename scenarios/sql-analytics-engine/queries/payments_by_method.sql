-- Payments per UTC week and method: how many and how much.
select date_trunc('week', p.paid_at::timestamptz) as week, p.method,
       count(*) as payments, sum(p.amount::numeric) as amount
from payments p
group by 1, 2
