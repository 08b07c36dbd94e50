-- Clean drops: every file check passes.
local o = require "lib.orders"
local orders = o.dataset(1500, 0, 0)
local latest = orders:valid():dedup("id", "last")
return scenario {
  name = "a_clean", seed = 11,
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = o.replay(false),
  checks = {
    file { path = "out/orders.csv", key = "id", expect = latest, columns = o.columns,
           name = "orders.csv matches the ledger" },
    file { path = "out/rejects.csv", equals = 0, name = "nothing rejected" },
  },
}
