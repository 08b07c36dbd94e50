-- Every check passes, a threshold no run can meet fails: exit 4 alone.
local o = require "lib.orders"
local orders = o.dataset(1000, 0, 0.01)
local latest = orders:valid():dedup("id", "last")
return scenario {
  name = "d_threshold", seed = 14,
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = o.replay(false),
  checks = {
    file { path = "out/orders.csv", equals = latest:count(), name = "orders.csv row count" },
  },
  thresholds = { ["solution.wall.max"] = "< 1us" },
}
