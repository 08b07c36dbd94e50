-- Two run steps, each after its own drop: each invocation has its own index, batch number and
-- log files, and both are batch invocations in the cost breakdown.
local orders = dataset {
  rows = 20, key = "id", time = "ts",
  columns = {
    { "id", "sequence", start = 1 },
    { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 1 },
  },
}

return scenario {
  name = "two_runs", seed = 6,
  description = "Two plain run steps.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "30s" },
  replay = {
    { into = "files", dataset = "orders", dir = "first" },
    { run = "solution" },
    { into = "files", dataset = "orders", dir = "second" },
    { run = "solution" },
  },
  checks = {
    file { path = "seen.csv", equals = 2, name = "the solution ran twice" },
  },
}
