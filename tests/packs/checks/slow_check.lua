-- A check that would sleep for its whole 10-minute default: Ctrl-C must cancel it at once.
local orders = dataset {
  rows = 50, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "slow_check", seed = 3,
  description = "A view over pg_sleep(3600) under the default timeout.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "postgres", dataset = "orders", table = "raw_orders" },
    { run = "solution" },
  },
  checks = {
    row_count { table = "orders_out", equals = orders:valid():count(), name = "orders_out rows" },
    row_count { table = "sleepy_out", equals = orders:valid():count(), name = "sleepy_out rows" },
  },
}
