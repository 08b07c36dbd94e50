select week, method, payments, amount from wh_payments_by_method
