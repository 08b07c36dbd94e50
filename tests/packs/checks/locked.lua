-- The output table is held under ACCESS EXCLUSIVE by a session the solution left behind: the
-- harness ends that session when the command ends, so the check reads the table at once (were
-- the session left alive, the check would wait its lock_timeout, 2 s, and end in error).
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
