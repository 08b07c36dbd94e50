-- The output is a view that sleeps for an hour: the check on it ends at its timeout (2 s) as an
-- error naming the limit; the check before it, on a real table, passes.
local orders = dataset {
  rows = 50, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "sleepy", seed = 3,
  description = "A view over pg_sleep(3600).",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "postgres", dataset = "orders", table = "raw_orders" },
    { run = "solution" },
  },
  checks = {
    row_count { table = "orders_out", equals = orders:valid():count(), name = "orders_out rows" },
    diff { table = "sleepy_out", expect = orders:valid(), timeout = "2s", name = "sleepy_out diff" },
  },
}
