-- The orders of the jobs pack: drops of orders with duplicates and corrupt lines, the shape
-- tests/solutions/files_good reads; rows and the fault fractions vary per scenario.
local M = {}

function M.dataset(rows, dup, corrupt)
  local d = dataset {
    rows = rows, key = "id", time = "ts", batches = 3,
    columns = {
      { "id", "sequence", start = 1 },
      { "customer", "int", min = 1, max = 400, nulls = 0.02 },
      { "amount", "decimal", min = 1, max = 500, scale = 2 },
      { "status", "categorical", values = { "placed", "paid", "shipped" }, weights = { 3, 2, 1 } },
      { "ts", "timestamp", start = "2026-03-01T00:00:00Z", rate = 0.02, jitter = "10s" },
      { "note", "pattern", "{plain|with, comma|say \"hi\"}-###" },
    },
  }
  if dup > 0 then d:duplicates { fraction = dup, changed = 0.5, gap = 40 } end
  if corrupt > 0 then d:corrupt { fraction = corrupt } end
  return d
end

M.columns = { "id", "customer", "amount", "status", "ts", "note" }

-- Land the drops (and, with to_pg, the whole dataset into raw_orders first); run after each drop.
function M.replay(to_pg)
  local steps = {}
  if to_pg then steps[#steps + 1] = { into = "postgres", dataset = "orders", table = "raw_orders" } end
  steps[#steps + 1] = { into = "files", dataset = "orders", dir = "orders", format = "csv", per = "batch" }
  steps[#steps + 1] = { run = "solution" }
  return steps
end

return M
