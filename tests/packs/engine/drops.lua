-- Three drops, the solution run after each: a replay target sees batches 0, 1, 2 in order and
-- the solution sees each drop's batch number.
local orders = dataset {
  rows = 30, key = "id", time = "ts", batches = 3,
  columns = {
    { "id", "sequence", start = 1 },
    { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 1 },
  },
}

return scenario {
  name = "drops", seed = 5,
  description = "Per-batch drops, each followed by a solution run.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "30s" },
  replay = {
    { into = "files", dataset = "orders", per = "batch" },
    { run = "solution" },
  },
  checks = {
    file { path = "seen.csv", equals = 3, name = "the solution ran once a drop" },
  },
}
