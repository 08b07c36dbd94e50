select customer_id, country, segment, orders, lifetime_value from wh_customer order by lifetime_value desc, customer_id limit 20
