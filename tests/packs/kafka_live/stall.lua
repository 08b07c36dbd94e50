-- 6000 orders at 1000 records/s, at most 20 sent and not yet answered (window): when the service
-- stalls, the replay waits for it, as a client with a bounded number of requests in flight does.
local orders = dataset {
  rows = 6000, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "stall", seed = 6,
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "orders", topic = "orders", rate = 1000, window = 20 },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid(),
            columns = { "id", "amount" }, name = "orders_out matches the ledger" },
  },
}
