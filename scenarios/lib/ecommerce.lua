-- lib/ecommerce.lua: the e-commerce domain of the challenge catalogue, as dataset builders.
--
-- Every builder takes a table of options and returns a dataset (see docs/scenarios.md); faults
-- chain on the result. Distributions are chosen to look like a real shop: order values are
-- log-normal (many small baskets, a long tail), customers order with a Zipf skew (a few loyal
-- customers place most orders), statuses and channels are weighted categoricals.
--
--   local shop = require "lib.ecommerce"
--   local customers = shop.customers { rows = 2000 }
--   local orders = shop.orders { rows = 20000, days = 7, customers = customers }
local M = {}

M.START = "2026-01-05T00:00:00Z"   -- a Monday, so per-day batches line up with weeks

local function need(opts, key, kind)
  local v = opts[key]
  if type(v) ~= kind then
    error(string.format("ecommerce: option '%s' must be a %s, got %s", key, kind, type(v)), 3)
  end
  return v
end

local COUNTRIES = { "DE", "FR", "ES", "IT", "NL", "PL", "SE", "US", "GB", "BR" }
local COUNTRY_WEIGHTS = { 18, 14, 10, 10, 8, 7, 5, 14, 10, 4 }

--- customers { rows = N }: a customer dimension keyed by customer_id 1..N.
function M.customers(opts)
  local rows = need(opts, "rows", "number")
  return dataset {
    rows = rows, key = "customer_id",
    columns = {
      { "customer_id", "sequence", start = 1 },
      { "email", "pattern", "{ana|bo|chen|dara|emil|fatou|goran|hana|ivo|jun}.{kim|lee|ng|ruiz|sato|weber|novak|silva}####@example.com" },
      { "country", "categorical", values = COUNTRIES, weights = COUNTRY_WEIGHTS },
      { "segment", "categorical", values = { "consumer", "business", "vip" }, weights = { 80, 17, 3 } },
      { "signup_at", "timestamp", start = "2024-01-01T00:00:00Z", rate = rows / (730 * 86400), jitter = "6h" },
    },
  }
end

--- products { rows = N }: a product catalogue keyed by product_id 1..N.
function M.products(opts)
  local rows = need(opts, "rows", "number")
  return dataset {
    rows = rows, key = "product_id",
    columns = {
      { "product_id", "sequence", start = 1 },
      { "sku", "pattern", "SKU-AA-#####" },
      { "category", "categorical", values = { "books", "electronics", "home", "toys", "fashion", "grocery" },
        weights = { 15, 20, 20, 10, 25, 10 } },
      { "price", "lognormal", mu = 3.2, sigma = 0.9, scale = 2, min = 0.99, max = 4999 },
    },
  }
end

--- orders { rows = N, days = D, customers = <dataset> [, jitter = "20s"] }: orders over D days,
-- one batch per day. Columns: order_id, customer_id (Zipf-skewed into customers), order_ts, status,
-- channel, amount. Keep jitter under the gap between orders (D days / N) when the last order must
-- stay on day D.
function M.orders(opts)
  local rows = need(opts, "rows", "number")
  local days = opts.days or 7
  local customers = need(opts, "customers", "userdata")
  return dataset {
    rows = rows, key = "order_id", time = "order_ts", batches = "day",
    columns = {
      { "order_id", "sequence", start = 1 },
      { "customer_id", "fk", ref = customers, column = "customer_id", dist = "zipf", skew = 1.1 },
      { "order_ts", "timestamp", start = M.START, rate = rows / (days * 86400), jitter = opts.jitter or "20s" },
      { "status", "categorical", values = { "placed", "paid", "shipped", "delivered", "cancelled" },
        weights = { 10, 25, 25, 35, 5 } },
      { "channel", "categorical", values = { "web", "app", "marketplace" }, weights = { 55, 35, 10 } },
      { "amount", "lognormal", mu = 3.6, sigma = 0.75, scale = 2, min = 1, max = 20000 },
    },
  }
end

--- order_items { rows = N, orders = <dataset>, products = <dataset> }: line items, spread over
-- orders in order (about rows / orders.rows items per order).
function M.order_items(opts)
  local rows = need(opts, "rows", "number")
  local orders = need(opts, "orders", "userdata")
  local products = need(opts, "products", "userdata")
  return dataset {
    rows = rows, key = "item_id",
    columns = {
      { "item_id", "sequence", start = 1 },
      { "order_id", "fk", ref = orders, column = "order_id", dist = "spread" },
      { "product_id", "fk", ref = products, column = "product_id", dist = "zipf", skew = 0.9 },
      { "quantity", "categorical", values = { 1, 2, 3, 4, 5 }, weights = { 70, 18, 7, 3, 2 } },
      { "unit_price", "lognormal", mu = 3.0, sigma = 0.8, scale = 2, min = 0.99, max = 4999 },
    },
  }
end

--- payments { rows = N, orders = <dataset>, days = D }: about one payment per order.
function M.payments(opts)
  local rows = need(opts, "rows", "number")
  local orders = need(opts, "orders", "userdata")
  local days = opts.days or 7
  return dataset {
    rows = rows, key = "payment_id", time = "paid_at", batches = "day",
    columns = {
      { "payment_id", "uuid" },
      { "order_id", "fk", ref = orders, column = "order_id", dist = "spread" },
      { "method", "categorical", values = { "card", "paypal", "sepa", "voucher" }, weights = { 60, 25, 10, 5 } },
      { "paid_at", "timestamp", start = M.START, rate = rows / (days * 86400), jitter = "5m" },
      { "amount", "lognormal", mu = 3.6, sigma = 0.75, scale = 2, min = 1, max = 20000 },
    },
  }
end

--- clickstream { rows = N, customers = <dataset>, days = D }: page events, sessions, devices.
function M.clickstream(opts)
  local rows = need(opts, "rows", "number")
  local customers = need(opts, "customers", "userdata")
  local days = opts.days or 1
  return dataset {
    rows = rows, key = "event_id", time = "event_ts", batches = "day",
    columns = {
      { "event_id", "uuid" },
      { "customer_id", "fk", ref = customers, column = "customer_id", dist = "zipf", skew = 1.2, nulls = 0.3 },
      { "session_id", "pattern", "s-????????" },
      { "event_ts", "timestamp", start = M.START, rate = rows / (days * 86400), jitter = "2s" },
      { "page", "categorical", values = { "/", "/search", "/product", "/cart", "/checkout", "/account" },
        weights = { 20, 25, 35, 10, 6, 4 } },
      { "device", "categorical", values = { "mobile", "desktop", "tablet" }, weights = { 62, 33, 5 } },
      { "dwell_ms", "lognormal", mu = 8.5, sigma = 1.0, scale = 0, min = 50, max = 3600000 },
    },
  }
end

return M
