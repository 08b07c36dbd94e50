-- Every load can add rows to any day (late orders, a new week): restate every view.
refresh materialized view wh_top_products_month;
refresh materialized view wh_daily_revenue;
refresh materialized view wh_customer;
refresh materialized view wh_repeat_purchase_rate;
refresh materialized view wh_cohort_retention;
refresh materialized view wh_payments_by_method;
refresh materialized view wh_category_share;
analyze orders;
