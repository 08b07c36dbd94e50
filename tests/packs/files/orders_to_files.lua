-- Three drops of orders with duplicates (half of them corrected, arriving 40 records later, so
-- some cross into the next drop) and 2% corrupt lines. The solution writes every valid order
-- once, its latest version winning, as out/orders.csv and out/orders.jsonl; every rejected line
-- as a row of out/rejects.csv; and one row of totals in out/summary.jsonl.
local orders = dataset {
  rows = 3000, key = "id", time = "ts", batches = 3,
  columns = {
    { "id", "sequence", start = 1 },
    { "customer", "int", min = 1, max = 400, nulls = 0.02 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "status", "categorical", values = { "placed", "paid", "shipped" }, weights = { 3, 2, 1 } },
    { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 0.02, jitter = "10s" },
    { "note", "pattern", "{plain|with, comma|say \"hi\"}-###" },
  },
}
orders:duplicates { fraction = 0.05, changed = 0.5, gap = 40 }
      :corrupt { fraction = 0.02 }

local latest = orders:valid():dedup("id", "last")
local all = { "id", "customer", "amount", "status", "ts", "note" }

return scenario {
  name = "orders_to_files", seed = 77,
  description = "Dedup (latest wins) and drop corrupt lines; write CSV and JSONL outputs.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "files", dataset = "orders", dir = "orders", format = "csv", per = "batch" },
    { run = "solution" },
  },
  checks = {
    file { path = "out/orders.csv", key = "id", expect = latest, columns = all,
           name = "orders.csv matches the ledger" },
    file { path = "out/orders.csv", equals = latest:count(), name = "orders.csv row count" },
    file { path = "out/orders.jsonl", key = "id", expect = latest, columns = all,
           name = "orders.jsonl matches the ledger" },
    file { path = "out/rejects.csv", equals = orders:corrupt():count(),
           name = "rejects.csv has every corrupt line" },
    file { path = "out/summary.jsonl", equals = 1, name = "summary.jsonl has one row" },
  },
}
