-- Upstream retries: 3% of orders are sent twice; half of the resent copies carry a corrected
-- payload (same order_id, different status or amount) and arrive up to a day later.
local f = require "lib.foundation"
local customers, orders = f.datasets()
orders:duplicates { fraction = 0.03, changed = 0.5, gap = 1500 }

return scenario {
  name = "duplicates", tags = { "batch", "phase1", "dedup" }, phase = 1, seed = 1002,
  description = "3% duplicate orders, half with a corrected payload; the latest version must win.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.core_checks(orders, customers),
  thresholds = f.thresholds(),
}
