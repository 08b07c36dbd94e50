local customers = dataset {
  rows = 300, key = "customer_id",
  columns = {
    { "customer_id", "sequence", start = 1 },
    { "email", "pattern", "{ana|bo|cy}.####@example.com" },
    { "tier", "categorical", values = { "free", "pro", "team" } },
    { "credit", "decimal", min = 0, max = 500, scale = 2 },
    { "notes", "pattern", "n-###" },
    { "active", "bool", p = 0.8 },
    { "since", "timestamp", start = "2026-01-01T00:00:00Z", rate = 0.01 },
  },
}:changes {
  updates = 2.0, deletes = 0.1, reinserts = 0.05, hot_keys = { keys = 2, share = 0.2 },
  txn_size = { 1, 4 }, large = { column = "notes", share = 0.05, bytes = 4000 },
  long_txn = { every = 40, size = 3, span = 8 },
}

local orders = dataset {
  rows = 200, key = "order_id",
  columns = {
    { "order_id", "uuid" },
    { "customer_id", "int", min = 1, max = 300 },
    { "amount", "decimal", min = 1, max = 900, scale = 2 },
    { "status", "categorical", values = { "placed", "paid", "shipped" } },
  },
}:changes { updates = 1.5, deletes = 0.05, columns = { "status", "amount" } }

-- Half the stream, a pause (the service copies what is there), the rest: a key inserted in the
-- first half and deleted in the second was in the target before its delete.
return scenario {
  name = "sync", phase = 1, seed = 5,
  description = "customers and orders change while the service mirrors them",
  datasets = { customers = customers, orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "postgres", dataset = "customers", mode = "changes", rate = 600, upto = 0.5 },
    { into = "postgres", dataset = "orders", mode = "changes", rate = 600, upto = 0.5 },
    { wait = "quiet 1s" },
    { into = "postgres", dataset = "customers", mode = "changes", rate = 600 },
    { into = "postgres", dataset = "orders", mode = "changes", rate = 2000 },
    { wait = "quiet 1s" },
  },
  checks = {
    cdc_state { table = "customers" },
    cdc_state { table = "orders" },
    cdc_order { table = "customers" },
  },
  thresholds = { ["cdc.lag.p99"] = "< 60s" },
}
