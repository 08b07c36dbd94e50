-- 2% of orders lost their customer (loaded as the unknown member 0) and 0.5% carry an amount a
-- hundred times too large, which is real and must be kept, not "cleaned".
local f = require "lib.foundation"
local customers, orders = f.datasets()
orders:nulls { column = "customer_id", fraction = 0.02 }
      :outliers { column = "amount", fraction = 0.005, factor = 100 }

local truth = orders:valid():dedup("order_id", "last")
return scenario {
  name = "nulls_outliers", tags = { "batch", "phase1", "quality" }, phase = 1, seed = 1006,
  description = "2% orders without customer (map to 0), 0.5% outlier amounts kept as they are.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.merge(f.dim_checks(customers), {
    row_count { table = "fct_orders", equals = truth:count() },
    unique { table = "fct_orders", column = "order_id" },
    sql { "select count(*) from fct_orders where customer_id = 0",
          equals = truth:with("nulls"):count(), name = "orders without customer map to 0" },
    not_null { table = "fct_orders", column = "customer_id" },
    referential { table = "fct_orders", column = "customer_id", ref = "dim_customers.customer_id",
                  name = "orders without customer point at the member 0 of dim_customers" },
    sql { "select coalesce(sum(revenue), 0) from daily_sales", equals = truth:sum("amount"),
          name = "daily_sales total revenue" },
    sql { "select max(amount) from fct_orders", equals = truth:max("amount"),
          name = "outliers are kept" },
    sql { "select day::text, orders from daily_sales order by day",
          equals = truth:group_count("order_ts"), name = "daily_sales orders per day" },
  }),
  thresholds = f.thresholds(),
}
