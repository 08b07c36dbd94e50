-- The warehouse of the sql-analytics-engine pack: its datasets, the analysts' queries, the
-- replay plan and the latency limits every scenario shares. Scenarios change sizes, skew and
-- faults, and add steps.
local M = {}

M.START = "2026-01-05T00:00:00Z" -- a Monday
M.DAYS = 56                      -- eight weeks: January and February

local COUNTRIES = { "DE", "FR", "ES", "IT", "NL", "PL", "SE", "US", "GB", "BR" }
local COUNTRY_WEIGHTS = { 18, 14, 10, 10, 8, 7, 5, 14, 10, 4 }

-- The sizes of the base scenario; `k` scales every table (growth), skew the Zipf exponents.
function M.sizes(k)
  k = k or 1
  return { customers = math.floor(6000 * k), products = math.floor(800 * k),
           orders = math.floor(40000 * k), items = math.floor(100000 * k),
           payments = math.floor(40000 * k) }
end

-- datasets { k = 1, customer_skew = 1.1, product_skew = 0.9, order_batches = nil,
--            days = 56, first_order = 1, start = START, customers = nil, products = nil }:
-- with customers and products given, only the facts are made (a later week of the same shop).
function M.datasets(o)
  o = o or {}
  local n = M.sizes(o.k)
  local days = o.days or M.DAYS
  local customers = o.customers or dataset {
    rows = n.customers, key = "customer_id",
    columns = {
      { "customer_id", "sequence", start = 1 },
      { "email", "pattern", "{ana|bo|chen|dara|emil|fatou|goran|hana|ivo|jun}.{kim|lee|ng|ruiz|sato|weber}####@example.com" },
      { "country", "categorical", values = COUNTRIES, weights = COUNTRY_WEIGHTS },
      { "segment", "categorical", values = { "consumer", "business", "vip" }, weights = { 80, 17, 3 } },
      { "signup_at", "timestamp", start = "2024-01-01T00:00:00Z", rate = n.customers / (730 * 86400), jitter = "6h" },
    },
  }
  local products = o.products or dataset {
    rows = n.products, key = "product_id",
    columns = {
      { "product_id", "sequence", start = 1 },
      { "sku", "pattern", "SKU-AA-#####" },
      { "category", "categorical", values = { "books", "electronics", "home", "toys", "fashion", "grocery" },
        weights = { 15, 20, 20, 10, 25, 10 } },
      { "list_price", "lognormal", mu = 3.2, sigma = 0.9, scale = 2, min = 0.99, max = 4999 },
    },
  }
  local orders = dataset {
    rows = n.orders, key = "order_id", time = "order_ts",
    batches = o.order_batches or "day",
    columns = {
      { "order_id", "sequence", start = o.first_order or 1 },
      { "customer_id", "fk", ref = customers, column = "customer_id", dist = "zipf", skew = o.customer_skew or 1.1 },
      { "order_ts", "timestamp", start = o.start or M.START, rate = n.orders / (days * 86400), jitter = "20s" },
      { "status", "categorical", values = { "placed", "paid", "shipped", "delivered", "cancelled" },
        weights = { 10, 25, 25, 35, 5 } },
      { "channel", "categorical", values = { "web", "app", "marketplace" }, weights = { 55, 35, 10 } },
      { "amount", "lognormal", mu = 3.6, sigma = 0.75, scale = 2, min = 1, max = 20000 },
    },
  }
  local items = dataset {
    rows = n.items, key = "item_id",
    columns = {
      { "item_id", "sequence", start = ((o.first_order or 1) - 1) * 3 + 1 },
      { "order_id", "fk", ref = orders, column = "order_id", dist = "spread" },
      { "product_id", "fk", ref = products, column = "product_id", dist = "zipf", skew = o.product_skew or 0.9 },
      { "quantity", "categorical", values = { 1, 2, 3, 4, 5 }, weights = { 70, 18, 7, 3, 2 } },
      { "unit_price", "lognormal", mu = 3.0, sigma = 0.8, scale = 2, min = 0.99, max = 4999 },
    },
  }
  local payments = dataset {
    rows = n.payments, key = "payment_id", time = "paid_at",
    columns = {
      { "payment_id", "uuid" },
      { "order_id", "fk", ref = orders, column = "order_id", dist = "spread" },
      { "method", "categorical", values = { "card", "paypal", "sepa", "voucher" }, weights = { 60, 25, 10, 5 } },
      { "paid_at", "timestamp", start = o.start or M.START, rate = n.payments / (days * 86400), jitter = "5m" },
      { "amount", "lognormal", mu = 3.6, sigma = 0.75, scale = 2, min = 1, max = 20000 },
    },
  }
  return { customers = customers, products = products, orders = orders,
           order_items = items, payments = payments }
end

-- Every table loaded whole, the solution run once, then the workload.
function M.replay()
  return {
    { into = "postgres", dataset = "customers", table = "customers" },
    { into = "postgres", dataset = "products", table = "products" },
    { into = "postgres", dataset = "orders", table = "orders" },
    { into = "postgres", dataset = "order_items", table = "order_items" },
    { into = "postgres", dataset = "payments", table = "payments" },
    { run = "solution" },
    { run = "workload" },
  }
end

-- The analysts' queries (queries/<name>.sql), in the order a dashboard sends them; ordered
-- ones return a ranking or a series.
M.QUERIES = {
  { name = "top_products_month", ordered = true },
  { name = "daily_revenue", ordered = true },
  { name = "repeat_purchase_rate" },
  { name = "customer_ltv", ordered = true },
  { name = "cohort_retention" },
  { name = "payments_by_method" },
  { name = "customer_orders", ordered = true },
}

-- workload { extra = { more queries }, count = 20 }
function M.workload(o)
  o = o or {}
  local qs = {}
  for _, q in ipairs(M.QUERIES) do
    qs[#qs + 1] = { name = q.name, file = "queries/" .. q.name .. ".sql", ordered = q.ordered }
  end
  for _, q in ipairs(o.extra or {}) do qs[#qs + 1] = q end
  return { clients = 2, count = o.count or 20, max_duration = "5s", warmup = 2, mix = "shuffled",
           queries = qs }
end

-- The dashboard's limit: every query's p95 under `limit` (100 ms), none failing.
function M.thresholds(limit, extra)
  -- (extra: more limits, like a new query's)
  local t = { ["workload.errors"] = "== 0" }
  for _, q in ipairs(M.QUERIES) do t["query." .. q.name .. ".p95"] = "< " .. (limit or "100ms") end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

return M
