-- A second week of orders appended after the first workload, the solution run again, the
-- workload again: an answer kept from before the new rows is wrong the second time.
local lib = require "wl.common"

local ds = lib.datasets()
local later = dataset {
  rows = 500, key = "order_id", time = "order_ts",
  columns = {
    { "order_id", "sequence", start = 100001 },
    { "customer_id", "fk", ref = ds.customers, column = "customer_id", dist = "zipf", skew = 1.1 },
    { "order_ts", "timestamp", start = "2026-01-12T00:00:00Z", rate = 500 / (7 * 86400), jitter = "20s" },
    { "status", "categorical", values = { "paid", "cancelled" }, weights = { 9, 1 } },
    { "channel", "categorical", values = { "web", "app" } },
    { "amount", "lognormal", mu = 3.6, sigma = 0.75, scale = 2, min = 1, max = 20000 },
  },
}
ds.orders_later = later

return scenario {
  name = "append", seed = 14,
  description = "A second week appended between two workloads.",
  datasets = ds,
  replay = {
    { into = "postgres", dataset = "customers", table = "customers" },
    { into = "postgres", dataset = "orders", table = "orders" },
    { run = "solution" },
    { run = "workload" },
    { into = "postgres", dataset = "orders_later", table = "orders" },
    { run = "solution" },
    { run = "workload" },
  },
  workload = { clients = 1, count = 3, queries = { lib.workload().queries[3] } },
}
