-- Clean data: the pipeline's plumbing works before any mess arrives.
local f = require "lib.foundation"
local customers, orders = f.datasets()

return scenario {
  name = "baseline", tags = { "batch", "phase1", "smoke" }, phase = 1, seed = 1001,
  description = "Seven clean daily drops of orders; the star schema must match the source exactly.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.merge(f.core_checks(orders, customers), {
    not_null { table = "fct_orders", column = "amount" },
    schema { table = "fct_orders", columns = { order_id = "bigint", customer_id = "bigint",
             order_ts = "timestamp with time zone", amount = "numeric" } },
  }),
  thresholds = f.thresholds(),
}
