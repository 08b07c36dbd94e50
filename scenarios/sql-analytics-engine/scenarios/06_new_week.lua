-- Phase 2: a ninth week of orders, items and payments is appended after the first workload; the
-- solution runs again and the workload runs again. Every answer must include the new week (March
-- grows in top_products_month, seven more days in daily_revenue): what the solution built must be
-- refreshed.
local wh = require "lib.warehouse"

local ds = wh.datasets()
local week = wh.datasets { customers = ds.customers, products = ds.products, k = 1 / 8, days = 7,
                           start = "2026-03-02T00:00:00Z",
                           first_order = wh.sizes().orders + 1 }

return scenario {
  name = "new_week", tags = { "phase2", "twist", "incremental" }, phase = 2, seed = 1306,
  description = "Eight weeks, the workload, then a ninth week appended, the solution, the workload again.",
  datasets = { customers = ds.customers, products = ds.products, orders = ds.orders,
               order_items = ds.order_items, payments = ds.payments, orders_new = week.orders,
               order_items_new = week.order_items, payments_new = week.payments },
  replay = {
    { into = "postgres", dataset = "customers", table = "customers" },
    { into = "postgres", dataset = "products", table = "products" },
    { into = "postgres", dataset = "orders", table = "orders" },
    { into = "postgres", dataset = "order_items", table = "order_items" },
    { into = "postgres", dataset = "payments", table = "payments" },
    { run = "solution" },
    { run = "workload" },
    { into = "postgres", dataset = "orders_new", table = "orders" },
    { into = "postgres", dataset = "order_items_new", table = "order_items" },
    { into = "postgres", dataset = "payments_new", table = "payments" },
    { run = "solution" },
    { run = "workload" },
  },
  workload = wh.workload(),
  thresholds = wh.thresholds(),
}
