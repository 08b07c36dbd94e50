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
    -- The challenge's success criteria on documentation (README.md of the pack says what they
    -- read): at least two decision records, and a README on design, trade-offs and cost whose
    -- monthly cost claim is within 50% of what the run measured.
    adr { dir = "docs/adr", min = 2, sections = { "status", "context", "decision", "consequences" },
          readme = false, name = "decision records: at least 2 ADRs" },
    readme { sections = { "design", "trade-off", "cost" }, cost_tolerance = "50%",
             name = "README: design, trade-offs, cost analysis" },
  }),
  thresholds = f.thresholds(),
}
