-- Shared datasets, replay plan and checks of the foundation pack. Each scenario adds its faults
-- and its own checks on top.
local shop = require "lib.ecommerce"
local M = {}

-- customers (2000) and a week of orders (14000 unless orders_rows; jitter as shop.orders).
function M.datasets(orders_rows, jitter)
  local customers = shop.customers { rows = 2000 }
  local orders = shop.orders { rows = orders_rows or 14000, days = 7, customers = customers,
                               jitter = jitter }
  return customers, orders
end

-- The shop's customer master goes into raw_customers once; each day's orders land in
-- landing/orders/orders-NNNN.csv, and the solution runs after each drop. `extra` are more per-batch
-- landing steps that drop on the same days (payments, erasure requests): every drop of a day
-- lands before that day's run.
function M.replay(extra)
  local steps = {
    { into = "postgres", dataset = "customers", table = "raw_customers" },
    { into = "files", dataset = "orders", dir = "orders", format = "csv", per = "batch" },
  }
  for _, st in ipairs(extra or {}) do steps[#steps + 1] = st end
  steps[#steps + 1] = { run = "solution" }
  return steps
end

-- ---- personal data (the GDPR erasure twist) ----

local FIRST = { "Ana", "Bruno", "Chidi", "Dora", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun",
                "Kasia", "Luis", "Mila", "Nuno", "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tomas" }
local LAST = { "Kim", "Lee", "Ng", "Ruiz", "Sato", "Weber", "Novak", "Silva", "Berg", "Costa",
               "Dubois", "Evans", "Fischer", "Garcia", "Horvat", "Ito", "Jensen", "Kowalski",
               "Moreau", "Nagy" }

-- The personal data of customer cid (1..10399): a full name, an email and a phone number, each
-- unique to that customer, so a search for them finds this customer and nobody else.
function M.person(cid)
  local first, last = FIRST[1 + cid % 20], LAST[1 + (cid // 20) % 20]
  local initial = string.char(65 + (cid // 400) % 26)
  return {
    name = string.format("%s %s. %s", first, initial, last),
    email = string.format("%s.%s.%s%d@example.com", first:lower(), initial:lower(), last:lower(), cid),
    phone = string.format("+49 151 %07d", (cid * 7919) % 10000000),
  }
end

-- A customer master with personal data: customer_id, email, full_name, phone, country, segment,
-- signup_at, and notes (free text that names the customer for a third of them).
function M.customers_pii(rows)
  local plain = { { "country", "categorical", values = { "DE", "FR", "ES", "IT", "NL", "PL", "SE", "US", "GB", "BR" },
                    weights = { 18, 14, 10, 10, 8, 7, 5, 14, 10, 4 } },
                  { "segment", "categorical", values = { "consumer", "business", "vip" }, weights = { 80, 17, 3 } } }
  return dataset {
    rows = rows, key = "customer_id",
    columns = {
      { "customer_id", "sequence", start = 1 },
      { "email", "lua" }, { "full_name", "lua" }, { "phone", "lua" },
      plain[1], plain[2],
      { "signup_at", "timestamp", start = "2024-01-01T00:00:00Z", rate = rows / (730 * 86400), jitter = "6h" },
      { "notes", "lua" },
    },
    row = function(r, id)
      local p = M.person(id + 1)
      r.email, r.full_name, r.phone = p.email, p.name, p.phone
      if id % 3 == 0 then r.notes = "Call " .. p.name .. " on " .. p.phone .. " before delivery" end
    end,
  }
end

-- An sql check that passes when `query` returns no rows, and else fails showing them: its value is
-- 'none', or the rows' `row_text` (an expression over the query's columns, as q.<column>) joined
-- by "; ", so the report names what is wrong.
function M.no_rows(query, row_text, name)
  return sql { "select coalesce(string_agg(" .. row_text .. ", '; '), 'none') from (" .. query
               .. ") q", equals = "none", name = name }
end

local function sql_text(s) return "'" .. s:gsub("'", "''") .. "'" end

-- A query listing every (table, column) of the sink whose text holds one of `values` (anywhere
-- in the value: a name inside free text counts), with the number of such rows; no rows when the
-- sink is clean. Every column of a text-like type (text, varchar, char, json, jsonb, xml, arrays,
-- enums) of every table and view outside the system schemas is read, except the tables in `skip`
-- (the sources the harness replays into). Each column's count runs as its own statement through
-- query_to_xml, so one query covers whatever tables the solution created.
function M.pii_scan(values, skip)
  local lits, names = {}, {}
  for i, v in ipairs(values) do lits[i] = "(" .. sql_text(v) .. ")" end
  for i, t in ipairs(skip or {}) do names[i] = sql_text(t) end
  local inner = "select count(*) as n from %I.%I t where exists (select 1 from (values "
    .. table.concat(lits, ", ") .. ") v(x) where strpos(t.%I::text, v.x) > 0)"
  return "select c.table_name as \"table\", c.column_name as \"column\", x.n as \"rows\"\n"
    .. "from information_schema.columns c\n"
    .. "cross join lateral (select (xpath('/row/n/text()', query_to_xml(format("
    .. sql_text(inner) .. ", c.table_schema, c.table_name, c.column_name), false, true, '')))[1]"
    .. "::text::bigint as n) x\n"
    .. "where c.table_schema not in ('pg_catalog', 'information_schema')"
    .. " and c.table_schema not like 'pg\\_%'"
    .. (#names > 0 and (" and c.table_name not in (" .. table.concat(names, ", ") .. ")") or "")
    .. " and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'xml',"
    .. " 'ARRAY', 'USER-DEFINED') and x.n > 0\norder by 1, 2"
end

-- The customer dimension: one row per customer of raw_customers with its attributes as sent,
-- plus the unknown member 0 (the customer of orders that arrive without one). Attributes are
-- compared through their distributions (distinct emails, customers per country and segment), so
-- a dimension of keys with NULL attributes fails.
function M.dim_checks(customers)
  return {
    sql { "select count(*) from dim_customers where customer_id > 0", equals = customers:count(),
          name = "dim_customers has every customer" },
    sql { "select count(*) from dim_customers where customer_id = 0", equals = 1,
          name = "dim_customers has the unknown member 0" },
    unique { table = "dim_customers", column = "customer_id" },
    sql { "select count(distinct email) from dim_customers where customer_id > 0",
          equals = customers:count_distinct("email"), name = "dim_customers emails" },
    sql { "select country, count(*) from dim_customers where customer_id > 0 group by 1",
          equals = customers:group_count("country"), name = "dim_customers customers per country" },
    sql { "select segment, count(*) from dim_customers where customer_id > 0 group by 1",
          equals = customers:group_count("segment"), name = "dim_customers customers per segment" },
  }
end

-- The checks every scenario shares: the fact table holds exactly the valid orders, latest
-- version per order, the daily aggregate agrees with it to the cent and the order, and the
-- customer dimension is complete (every fact's customer is in it).
-- opts.diff_columns: the fct_orders columns compared with the truth (default all six);
-- opts.dims = false leaves out the customer dimension's checks.
function M.core_checks(orders, customers, opts)
  opts = opts or {}
  local truth = orders:valid():dedup("order_id", "last")
  local checks = {
    row_count { table = "fct_orders", equals = truth:count() },
    unique { table = "fct_orders", column = "order_id" },
    diff { table = "fct_orders", key = "order_id", expect = truth,
           columns = opts.diff_columns or
                     { "order_id", "customer_id", "order_ts", "status", "channel", "amount" } },
    sql { "select coalesce(sum(revenue), 0) from daily_sales", equals = truth:sum("amount"),
          name = "daily_sales total revenue" },
    sql { "select day::text, revenue from daily_sales order by day",
          equals = truth:group_sum("order_ts", "amount"), name = "daily_sales revenue per day" },
    sql { "select day::text, orders from daily_sales order by day",
          equals = truth:group_count("order_ts"), name = "daily_sales orders per day" },
    referential { table = "fct_orders", column = "customer_id", ref = "dim_customers.customer_id" },
    accepted_values { table = "fct_orders", column = "status",
                      values = { "placed", "paid", "shipped", "delivered", "cancelled" } },
    -- The star schema's own rules, checked by the built-in star_schema plugin.
    plugin "star_schema".fact_grain { table = "fct_orders", keys = { "order_id" } },
    plugin "star_schema".orphan_keys { table = "fct_orders", column = "customer_id",
                                       dimension = "dim_customers", severity = "warn" },
  }
  if customers and opts.dims ~= false then checks = M.merge(checks, M.dim_checks(customers)) end
  return checks
end

function M.thresholds()
  return { ["solution.wall.max"] = "< 60s", ["solution.rss.peak"] = "< 512MB" }
end

function M.merge(a, b)
  local out = {}
  for _, v in ipairs(a) do out[#out + 1] = v end
  for _, v in ipairs(b or {}) do out[#out + 1] = v end
  return out
end

return M
