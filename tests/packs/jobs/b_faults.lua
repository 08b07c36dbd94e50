-- Duplicates and corrupt lines, the raw orders in PostgreSQL too (a database of its own): passes.
local o = require "lib.orders"
local orders = o.dataset(2000, 0.05, 0.02)
local latest = orders:valid():dedup("id", "last")
return scenario {
  name = "b_faults", seed = 12,
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = o.replay(true),
  checks = {
    file { path = "out/orders.csv", key = "id", expect = latest, columns = o.columns,
           name = "orders.csv matches the ledger" },
    file { path = "out/rejects.csv", equals = orders:corrupt():count(),
           name = "rejects.csv has every corrupt line" },
    row_count { table = "raw_orders", equals = orders:count(), name = "raw_orders holds every emission" },
  },
}
