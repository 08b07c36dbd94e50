select day, orders, revenue, running_revenue from wh_daily_revenue order by day
