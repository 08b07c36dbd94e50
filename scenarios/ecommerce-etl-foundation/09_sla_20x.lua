-- Phase 2, a tighter SLA: the shop grew. The same seven daily drops carry 20 times the orders
-- (40,000 a day), and each drop must be loaded within the per-batch wall limit. A row-by-row
-- loader stays correct and misses the limit (a threshold failure, exit 4).
local f = require "lib.foundation"
local customers, orders = f.datasets(280000, "2s")

return scenario {
  name = "sla_20x", tags = { "batch", "phase2", "sla", "scale" }, phase = 2, seed = 1009,
  description = "20x the orders per drop (40k a day); each drop loaded in under 15 s.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.core_checks(orders, customers),
  thresholds = { ["solution.wall.max"] = "< 15s", ["solution.rss.peak"] = "< 512MB" },
}
