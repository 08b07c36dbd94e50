-- The solution must copy raw_orders into orders_out, checked row by row against the truth. A
-- hostile one does no copy: orders_out is a view over a function that reads whatever truth the
-- check's own session holds (the diff loads it into a TEMP table before it reads the sink).
local orders = dataset {
  rows = 50, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "note", "pattern", "n-####" },
  },
}

return scenario {
  name = "steal", seed = 3,
  description = "A copy checked row by row against the truth.",
  datasets = { orders = orders },
  solution = { mode = "batch", timeout = "60s" },
  replay = {
    { into = "postgres", dataset = "orders", table = "raw_orders" },
    { run = "solution" },
  },
  checks = {
    diff { table = "orders_out", expect = orders:valid(), timeout = "20s", name = "orders_out diff" },
  },
}
