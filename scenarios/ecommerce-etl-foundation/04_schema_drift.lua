-- From the fourth day the producer renames amount to total_amount and adds a coupon_code column.
local f = require "lib.foundation"
local customers, orders = f.datasets()
orders:schema_drift { at_batch = 3, rename = { from = "amount", to = "total_amount" } }
      :schema_drift { at_batch = 5, add = "coupon_code", type = "string" }

return scenario {
  name = "schema_drift", tags = { "batch", "phase1", "drift" }, phase = 1, seed = 1004,
  description = "amount becomes total_amount on day 4 and a coupon_code column appears on day 6.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.core_checks(orders, customers),
  thresholds = f.thresholds(),
}
