-- Every load can add rows to any day (late orders, a new week): restate every view, the two
-- summaries first (the others read them).
set jit = off;
set work_mem = '64MB';
set timezone = 'UTC';
refresh materialized view wh_item_revenue;
refresh materialized view wh_customer_day;
refresh materialized view wh_top_products_month;
refresh materialized view wh_category_share;
refresh materialized view wh_daily_revenue;
refresh materialized view wh_customer;
refresh materialized view wh_repeat_purchase_rate;
refresh materialized view wh_cohort_retention;
refresh materialized view wh_payments_by_method;
analyze orders;
