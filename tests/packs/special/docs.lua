-- The adr and readme checks read README.md and the ADRs from the solution's folder.
local orders = dataset {
  rows = 5, key = "id", time = "ts",
  columns = {
    { "id", "sequence", start = 1 },
    { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 1 },
  },
}

return scenario {
  name = "docs", seed = 7, tags = { "docs" },
  description = "The solution's documents are read as regular files only.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "30s" },
  replay = {
    { into = "files", dataset = "orders" },
    { run = "solution" },
  },
  checks = {
    adr { dir = "adr", min = 1, sections = { "decision" }, readme = { "design" },
          name = "adr reads the README" },
    readme { sections = { "design" }, name = "readme reads the README" },
  },
}
