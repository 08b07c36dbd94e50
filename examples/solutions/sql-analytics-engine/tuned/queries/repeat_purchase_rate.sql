select repeat_customers, customers, repeat_rate from wh_repeat_purchase_rate
