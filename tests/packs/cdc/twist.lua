-- Phase 2: a column is added to orders mid-stream and the service is killed (SIGKILL) and started
-- again; the target must end with the new column and the values written after the ALTER.
local orders = dataset {
  rows = 200, key = "order_id",
  columns = {
    { "order_id", "sequence", start = 1000 },
    { "amount", "decimal", min = 1, max = 900, scale = 2 },
    { "status", "categorical", values = { "placed", "paid", "shipped" } },
  },
}:changes { updates = 1.0, deletes = 0.05, txn_size = { 1, 3 } }

return scenario {
  name = "twist", phase = 2, seed = 9,
  description = "a column added mid-stream; the service killed and restarted",
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "postgres", dataset = "orders", mode = "changes", rate = 2000, upto = 0.4 },
    { fault = "add_column", dataset = "orders", column = "channel", type = "string" },
    { fault = "solution_restart" },
    { into = "postgres", dataset = "orders", mode = "changes", rate = 2000 },
    { wait = "quiet 1s" },
  },
  checks = {
    cdc_state { table = "orders" },
    cdc_schema { table = "orders", column = "channel" },
  },
}
