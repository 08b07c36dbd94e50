-- Two input topics whose record ids overlap (both datasets number their records from 0 and key
-- them 1..400): cards are streamed first, then orders, each at 200 records/s. The service
-- forwards only the orders, 100 ms after each was sent. Each output must be timed from its own
-- order (by the harness-topic header it forwards), not from the card with the same id or key
-- sent two seconds earlier.
local cards = dataset {
  rows = 400, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "limit", "decimal", min = 100, max = 5000, scale = 2 },
  },
}
local orders = dataset {
  rows = 400, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "two_topics", seed = 7,
  datasets = { cards = cards, orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "cards", topic = "cards", rate = 200 },
    { into = "kafka", dataset = "orders", topic = "orders", rate = 200 },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid(),
            columns = { "id", "amount" }, name = "orders_out matches the ledger" },
  },
}
