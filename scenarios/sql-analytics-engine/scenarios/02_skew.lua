-- A few customers and products carry most of the orders (steeper Zipf): plans that assumed an
-- even spread (the point lookup of a heavy customer) and hot groups still meet the limit.
local wh = require "lib.warehouse"

return scenario {
  name = "skew", tags = { "phase1" }, phase = 1, seed = 1302,
  description = "Steeper skew: customer 42's neighbours and the top products hold most rows.",
  datasets = wh.datasets { customer_skew = 1.4, product_skew = 1.3 },
  replay = wh.replay(),
  workload = wh.workload(),
  thresholds = wh.thresholds(),
}
