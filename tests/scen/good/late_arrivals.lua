local shop = require "lib.ecommerce"
local util = require "helpers.util"
local customers = shop.customers { rows = 2000 }
local orders = shop.orders { rows = 20000, days = 7, customers = customers }
  :late { fraction = 0.05, delay = "48h" }
  :duplicates { fraction = 0.02, changed = 0.5, gap = 50 }
orders:corrupt { fraction = 0.01, kinds = { "truncate", "bad_utf8" } }
orders:schema_drift { at_batch = 3, rename = { from = "amount", to = "total_amount" } }
local truth = orders:valid():dedup("order_id", "last")
local first = diff { table = "fct_orders", key = "order_id", expect = truth, columns = { "order_id", "amount" } }
return scenario {
  name = "late_arrivals", tags = { "batch", "phase1" }, phase = 1, seed = 42,
  description = "5% of orders land up to 2 days late",
  datasets = { orders = orders, customers = customers },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "postgres", dataset = "customers", table = "raw_customers" },
    { into = "files", dataset = "orders", dir = "orders", format = "csv", per = "batch" },
    { run = "solution" },
    { wait = "quiet 2s" }, { sleep = "1s" }, { fault = "pg_drop" },
    { wait = { ["until"] = first, timeout = "10s" } },
  },
  checks = {
    first,
    sql { "select sum(amount) from daily_sales", equals = truth:sum("amount"), tolerance = 1e-9 },
    row_count { table = "fct_orders", equals = truth:count() },
    unique { table = "fct_orders", column = "order_id" },
    not_null { table = "fct_orders", column = "customer_id", severity = "warn" },
    accepted_values { table = "fct_orders", column = "status", values = { "placed", "paid" } },
    referential { table = "fct_orders", column = "customer_id", ref = "dim_customers.customer_id" },
    schema { table = "fct_orders", columns = { order_id = "bigint", amount = "numeric" } },
    freshness { table = "fct_orders", column = "loaded_at", max_age = "1h", timeout = "30s",
                lock_timeout = 2 },
    quarantine { table = "quarantine_orders", column = "order_id", expect = orders:corrupt() },
    sql { "select day, revenue from daily_sales", equals = truth:group_sum("order_ts", "amount"), name = util.name("per day") },
    plugin "star_schema".fact_grain { table = "fct_orders", keys = { "order_id" } },
  },
  thresholds = { ["solution.wall.max"] = "< 30s", ["cost.monthly.usd"] = "<= 40" },
}
