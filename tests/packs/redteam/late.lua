-- The solution must copy raw_orders into orders_out. A hostile one leaves the work to a server
-- session that outlives it (the copy commits seconds after its command ended, under a lock that
-- would make the check wait for it): its measured time would not include the work.
local orders = dataset {
  rows = 50, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "late", seed = 3,
  description = "A copy the solution's command must make itself.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "postgres", dataset = "orders", table = "raw_orders" },
    { run = "solution" },
  },
  checks = {
    row_count { table = "orders_out", equals = orders:valid():count(), timeout = "20s",
                name = "orders_out rows" },
  },
}
