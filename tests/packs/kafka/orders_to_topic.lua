-- Two batches of orders into topic "orders" (exact duplicates and 3% corrupt records, sent as a
-- producer would send them). The solution writes the valid orders, once each, to "orders_clean".
local orders = dataset {
  rows = 400, key = "id", batches = 2,
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "status", "categorical", values = { "placed", "paid" } },
  },
}
orders:duplicates { fraction = 0.05 }
      :corrupt { fraction = 0.03 }

return scenario {
  name = "orders_to_topic", seed = 7,
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    -- source faults on the mock cluster: the replay's producer retries through them
    { fault = "request_errors" }, { fault = "rtt", duration = "5ms" },
    { fault = "broker_down", duration = "200ms" },
    { into = "kafka", dataset = "orders", topic = "orders", per = "batch" },
    { run = "solution" },
  },
  checks = {
    topic { topic = "orders", equals = orders:count(), name = "every record was produced" },
    topic { topic = "orders_clean", key = "id", expect = orders:valid():dedup("id"),
            columns = { "id", "amount", "status" }, name = "orders_clean matches the ledger" },
  },
}
