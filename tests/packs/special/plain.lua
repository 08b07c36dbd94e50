-- Runs the solution once and checks nothing of its documents.
local orders = dataset {
  rows = 5, key = "id", time = "ts",
  columns = {
    { "id", "sequence", start = 1 },
    { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 1 },
  },
}

return scenario {
  name = "plain", seed = 8, tags = { "plain" },
  description = "One drop, one run of the solution.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "30s" },
  replay = {
    { into = "files", dataset = "orders" },
    { run = "solution" },
  },
  checks = {
    file { path = "seen.csv", equals = 1, name = "the solution ran once" },
  },
}
