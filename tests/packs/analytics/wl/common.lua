-- The warehouse and the queries both scenarios share.
local shop = require "lib.ecommerce"
local M = {}

function M.datasets()
  local customers = shop.customers { rows = 300 }
  local products = shop.products { rows = 60 }
  local orders = shop.orders { rows = 3000, days = 7, customers = customers }
  local items = shop.order_items { rows = 7000, orders = orders, products = products }
  return { customers = customers, products = products, orders = orders, order_items = items }
end

M.replay = {
  { into = "postgres", dataset = "customers", table = "customers" },
  { into = "postgres", dataset = "products", table = "products" },
  { into = "postgres", dataset = "orders", table = "orders" },
  { into = "postgres", dataset = "order_items", table = "order_items" },
  { run = "solution" },
  { run = "workload" },
}

function M.workload(extra)
  local w = {
    clients = 2, count = 20, warmup = 4, mix = "shuffled",
    queries = {
      { name = "revenue_by_country", file = "queries/revenue_by_country.sql" },
      { name = "top_products", file = "queries/top_products.sql", ordered = true },
      { name = "daily_revenue", ordered = true, sql = [[
        select day, revenue, sum(revenue) over (order by day) as running_total
        from (select (order_ts::timestamptz at time zone 'UTC')::date as day,
                     sum(amount::numeric) as revenue
              from orders where status <> 'cancelled' group by 1) d
        order by day]] },
    },
  }
  for k, v in pairs(extra or {}) do w[k] = v end
  return w
end

return M
