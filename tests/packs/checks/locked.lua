-- The output table is held under ACCESS EXCLUSIVE by a session the solution left behind: the
-- check waits for the lock no longer than its lock_timeout (2 s), then errors naming the lock.
local orders = dataset {
  rows = 50, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "locked", seed = 3,
  description = "A lock left held on the output table.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "postgres", dataset = "orders", table = "raw_orders" },
    { run = "solution" },
  },
  checks = {
    row_count { table = "locked_out", equals = orders:valid():count(), timeout = "60s",
                lock_timeout = "2s", name = "locked_out rows" },
  },
}
