-- A check that cannot pass (a row for every emission, duplicates included) and a warning: the
-- scenario fails.
local o = require "lib.orders"
local orders = o.dataset(1200, 0.05, 0)
return scenario {
  name = "c_wrong", seed = 13,
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = o.replay(true),
  checks = {
    file { path = "out/orders.csv", equals = orders:count(), name = "a row per emission" },
    file { path = "out/summary.jsonl", equals = 2, severity = "warn", name = "two summaries (a warning)" },
    row_count { table = "raw_orders", equals = orders:count(), name = "raw_orders holds every emission" },
  },
}
