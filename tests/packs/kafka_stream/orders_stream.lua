-- 100 orders into topic "orders" at 100 records/s while the service runs; it writes them, keyed
-- by id, to "orders_out".
local orders = dataset {
  rows = 100, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "status", "categorical", values = { "placed", "paid" } },
  },
}

return scenario {
  name = "orders_stream", seed = 11,
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" }, -- starts the service and waits until it is ready
    { into = "kafka", dataset = "orders", topic = "orders", rate = 100 },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid():dedup("id"),
            columns = { "id", "amount", "status" }, name = "orders_out matches the ledger" },
  },
  thresholds = { ["latency.e2e.p99"] = "< 500ms" },
}
