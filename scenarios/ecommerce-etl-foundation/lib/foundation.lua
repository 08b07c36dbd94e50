-- Shared datasets, replay plan and checks of the foundation pack. Each scenario adds its faults
-- and its own checks on top.
local shop = require "lib.ecommerce"
local M = {}

function M.datasets(orders_rows)
  local customers = shop.customers { rows = 2000 }
  local orders = shop.orders { rows = orders_rows or 14000, days = 7, customers = customers }
  return customers, orders
end

function M.replay()
  return {
    { into = "postgres", dataset = "customers", table = "raw_customers" },
    { into = "files", dataset = "orders", dir = "orders", format = "csv", per = "batch" },
    { run = "solution" },
  }
end

-- The customer dimension: one row per customer of raw_customers with its attributes as sent,
-- plus the unknown member 0 (the customer of orders that arrive without one). Attributes are
-- compared through their distributions (distinct emails, customers per country and segment), so
-- a dimension of keys with NULL attributes fails.
function M.dim_checks(customers)
  return {
    sql { "select count(*) from dim_customers where customer_id > 0", equals = customers:count(),
          name = "dim_customers has every customer" },
    sql { "select count(*) from dim_customers where customer_id = 0", equals = 1,
          name = "dim_customers has the unknown member 0" },
    unique { table = "dim_customers", column = "customer_id" },
    sql { "select count(distinct email) from dim_customers where customer_id > 0",
          equals = customers:count_distinct("email"), name = "dim_customers emails" },
    sql { "select country, count(*) from dim_customers where customer_id > 0 group by 1",
          equals = customers:group_count("country"), name = "dim_customers customers per country" },
    sql { "select segment, count(*) from dim_customers where customer_id > 0 group by 1",
          equals = customers:group_count("segment"), name = "dim_customers customers per segment" },
  }
end

-- The checks every scenario shares: the fact table holds exactly the valid orders, latest
-- version per order, the daily aggregate agrees with it to the cent and the order, and the
-- customer dimension is complete (every fact's customer is in it).
function M.core_checks(orders, customers)
  local truth = orders:valid():dedup("order_id", "last")
  local checks = {
    row_count { table = "fct_orders", equals = truth:count() },
    unique { table = "fct_orders", column = "order_id" },
    diff { table = "fct_orders", key = "order_id", expect = truth,
           columns = { "order_id", "customer_id", "order_ts", "status", "channel", "amount" } },
    sql { "select coalesce(sum(revenue), 0) from daily_sales", equals = truth:sum("amount"),
          name = "daily_sales total revenue" },
    sql { "select day::text, revenue from daily_sales order by day",
          equals = truth:group_sum("order_ts", "amount"), name = "daily_sales revenue per day" },
    sql { "select day::text, orders from daily_sales order by day",
          equals = truth:group_count("order_ts"), name = "daily_sales orders per day" },
    referential { table = "fct_orders", column = "customer_id", ref = "dim_customers.customer_id" },
    accepted_values { table = "fct_orders", column = "status",
                      values = { "placed", "paid", "shipped", "delivered", "cancelled" } },
    -- The star schema's own rules, checked by the built-in star_schema plugin.
    plugin "star_schema".fact_grain { table = "fct_orders", keys = { "order_id" } },
    plugin "star_schema".orphan_keys { table = "fct_orders", column = "customer_id",
                                       dimension = "dim_customers", severity = "warn" },
  }
  return customers and M.merge(checks, M.dim_checks(customers)) or checks
end

function M.thresholds()
  return { ["solution.wall.max"] = "< 60s", ["solution.rss.peak"] = "< 512MB" }
end

function M.merge(a, b)
  local out = {}
  for _, v in ipairs(a) do out[#out + 1] = v end
  for _, v in ipairs(b or {}) do out[#out + 1] = v end
  return out
end

return M
