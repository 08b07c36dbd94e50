-- 400 orders at 200 records/s while the service runs; it forwards them, keyed by id, to
-- "orders_out" (tests/solutions/kafka_stream_hold adds a fixed delay).
local orders = dataset {
  rows = 400, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "delay", seed = 5,
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "orders", topic = "orders", rate = 200 },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid(),
            columns = { "id", "amount" }, name = "orders_out matches the ledger" },
  },
}
