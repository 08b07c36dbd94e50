-- A Lua row function filling two "lua" columns from the drawn values and rand().
local items = dataset {
  rows = 50, key = "id", batches = 5,
  columns = {
    { "id", "sequence", start = 100 },
    { "qty", "int", min = 1, max = 5 },
    { "price", "decimal", min = 1, max = 99, scale = 2 },
    { "label", "lua", type = "string" },
    { "total", "lua", type = "decimal", scale = 2 },
  },
  row = function(r, id, rand)
    r.label = "item-" .. r.id .. (rand(1) < 2 and "" or "never")
    r.total = r.qty * r.price
  end,
}
return scenario {
  name = "rowfn", tags = { "lua" }, phase = 2,
  datasets = { items = items },
  replay = { { into = "files", dataset = items, format = "jsonl" }, { run = "solution" } },
  checks = { row_count { table = "items", equals = items:count() } },
}
