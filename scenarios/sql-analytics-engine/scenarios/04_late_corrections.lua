-- Orders arrive in seven drops, the solution running after each; one in twenty arrives days after
-- it was placed, restating days already summarised. Summary tables must be refreshed (or
-- restated) on every run: an answer from a stale summary is wrong.
local wh = require "lib.warehouse"

local ds = wh.datasets { order_batches = 7 }
ds.orders:late { fraction = 0.05, delay = "10d" }

return scenario {
  name = "late_corrections", tags = { "phase1", "incremental" }, phase = 1, seed = 1304,
  description = "Seven drops of orders, 5% of them 10 days late; the solution runs after each.",
  datasets = ds,
  replay = {
    { into = "postgres", dataset = "customers", table = "customers" },
    { into = "postgres", dataset = "products", table = "products" },
    { into = "postgres", dataset = "order_items", table = "order_items" },
    { into = "postgres", dataset = "payments", table = "payments" },
    { into = "postgres", dataset = "orders", table = "orders", per = "batch" },
    { run = "solution" },
    { run = "workload" },
  },
  workload = wh.workload(),
  thresholds = wh.thresholds(),
}
