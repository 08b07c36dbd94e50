-- The shop of the cdc-sync-engine pack: three keyed tables of an order system as change streams,
-- the replay plan every scenario shares and the checks on each table. Scenarios change the
-- streams' shapes (a hot key, long transactions, large values, deletes and re-inserts) and put
-- faults between the steps.
--
--   local replay, checks = shop.plan { between = { { fault = "pg_restart" } } }
local M = {}

M.TABLES = { "customers", "orders", "order_items" }
M.RATE = 2000 -- changes per second, each table's stream in turn

-- datasets { customers = {changes options}, orders = {...}, order_items = {...}, k = 1 }: the
-- options given replace the defaults of that table's stream.
function M.datasets(o)
  o = o or {}
  local k = o.k or 1
  local customers = dataset {
    rows = math.floor(800 * k), key = "customer_id",
    columns = {
      { "customer_id", "sequence", start = 1 },
      { "email", "pattern", "{ana|bo|chen|dara|emil|fatou|goran|hana}.{kim|lee|ng|ruiz|sato}####@example.com" },
      { "country", "categorical", values = { "DE", "FR", "ES", "IT", "NL", "PL", "SE", "US" } },
      { "segment", "categorical", values = { "consumer", "business", "vip" }, weights = { 80, 17, 3 } },
      { "credit", "decimal", min = 0, max = 5000, scale = 2 },
      { "notes", "pattern", "note-#####" },
      { "active", "bool", p = 0.9 },
      { "signup_at", "timestamp", start = "2025-01-01T00:00:00Z", rate = 0.001 },
    },
  }:changes(o.customers or {
    updates = 2.0, deletes = 0.05, reinserts = 0.02, txn_size = { 1, 3 },
    columns = { "email", "segment", "credit", "active" },
  })
  local orders = dataset {
    rows = math.floor(800 * k), key = "order_id",
    columns = {
      { "order_id", "uuid" },
      { "customer_id", "int", min = 1, max = math.floor(800 * k) },
      { "status", "categorical", values = { "placed", "paid", "packed", "shipped", "delivered" } },
      { "amount", "decimal", min = 1, max = 900, scale = 2 },
      { "placed_at", "timestamp", start = "2026-03-01T00:00:00Z", rate = 0.05 },
    },
  }:changes(o.orders or {
    updates = 1.5, deletes = 0.05, txn_size = { 1, 4 }, columns = { "status", "amount" },
  })
  local items = dataset {
    rows = math.floor(600 * k), key = "item_id",
    columns = {
      { "item_id", "sequence", start = 1 },
      { "order_ref", "int", min = 1, max = math.floor(800 * k) },
      { "sku", "pattern", "SKU-####" },
      { "quantity", "int", min = 1, max = 5 },
      { "unit_price", "decimal", min = 1, max = 300, scale = 2 },
    },
  }:changes(o.order_items or {
    updates = 0.5, deletes = 0.1, txn_size = { 2, 6 }, columns = { "quantity", "unit_price" },
  })
  return { customers = customers, orders = orders, order_items = items }
end

-- The plan { rate, rates, between, after_orders, checks, drain }: returns replay and checks.
-- The replay: the service first, then each table's stream in turn, at `rate` changes per second
-- (default M.RATE; `rates = { customers = 500 }` sets one table's); `between` (a list of steps)
-- goes between customers' first and second half, `after_orders` after orders' stream; then the
-- wait until order_items is in sync (for a consumer that keeps commit order, the last table in
-- sync means the whole stream is), judged after `drain` (default 15 s) if it never is.
-- The checks: final state and per-key order on every table, then `checks` (extra ones).
function M.plan(o)
  o = o or {}
  local checks = {}
  for _, t in ipairs(M.TABLES) do
    checks[#checks + 1] = cdc_state { table = t, name = t .. ": final state, deletes included, each key once" }
    checks[#checks + 1] = cdc_order { table = t, name = t .. ": each change applied once, in commit order" }
  end
  local last_state = checks[#checks - 1]
  for _, x in ipairs(o.checks or {}) do checks[#checks + 1] = x end

  local function stream(name, upto)
    local rate = (o.rates or {})[name] or o.rate or M.RATE
    return { into = "postgres", dataset = name, table = name, mode = "changes", rate = rate, upto = upto }
  end
  local steps = { { run = "solution" } }
  if o.between then
    steps[#steps + 1] = stream("customers", 0.5)
    for _, s in ipairs(o.between) do steps[#steps + 1] = s end
  end
  steps[#steps + 1] = stream("customers")
  steps[#steps + 1] = stream("orders")
  for _, s in ipairs(o.after_orders or {}) do steps[#steps + 1] = s end
  steps[#steps + 1] = stream("order_items")
  steps[#steps + 1] = { wait = { ["until"] = last_state, timeout = o.drain or "15s" } }
  return steps, checks
end

-- The replication lag every scenario holds: p99 under `p99` (default 3 s: the lag is the target
-- commit's time minus the source commit's, both read from the WAL, and a loaded CI machine
-- multiplies it; a consumer that catches up only every few seconds misses it).
function M.thresholds(p99)
  return { ["cdc.lag.p99"] = "< " .. (p99 or "3s") }
end

return M
