local d = dataset { rows = 10, key = "id", time = "ts",
  columns = { { "id", "sequence" }, { "ts", "timestamp", start = "2026-01-01T00:00:00Z" } } }
d:lat { fraction = 0.1, delay = "1h" }
return scenario { name = "unknown_fault", datasets = { d = d } }
