-- Phase 2, a compliance rule: GDPR erasure. On Thursday (day 4 of the week) a file of erasure
-- requests lands in landing/erasures/: customer ids with the time of each request. After the next
-- run no personal data of an erased customer may remain anywhere in the sink (emails, names,
-- phone numbers, free text), while their orders stay in the facts and aggregates under the
-- anonymous member -1 ("erased customer"), including the orders they place after the request.
-- Requests for customer ids the shop does not know go to quarantine_erasures.
local f = require "lib.foundation"
local shop = require "lib.ecommerce"

local customers = f.customers_pii(2000)
local orders = shop.orders { rows = 14000, days = 7, customers = customers }

-- Known customers (the two most active among them) and two ids nobody has.
local ERASED = { 1, 2, 42, 137, 500, 1024, 1500, 1999 }
local UNKNOWN = { 2500, 31337 }
local REQUESTS = { 1, 42, 2500, 137, 2, 500, 1024, 31337, 1500, 1999 }
local erasures = dataset {
  rows = #REQUESTS, key = "request_id", time = "requested_at", batches = "day",
  columns = {
    { "request_id", "sequence", start = 1 },
    { "customer_id", "lua", type = "int" },
    { "requested_at", "timestamp", start = "2026-01-08T08:00:00Z", rate = #REQUESTS / (8 * 3600) },
  },
  row = function(r, id) r.customer_id = REQUESTS[id + 1] end,
}

local pii = {}
for _, cid in ipairs(ERASED) do
  local p = f.person(cid)
  pii[#pii + 1], pii[#pii + 2], pii[#pii + 3] = p.email, p.name, p.phone
end
local erased_ids = table.concat(ERASED, ", ")
local unknown_rows = {}
for i, id in ipairs(UNKNOWN) do unknown_rows[i] = "(" .. id .. ")" end

local checks = f.merge(f.core_checks(orders, customers, {
  dims = false, diff_columns = { "order_id", "order_ts", "status", "channel", "amount" } }), {
  f.no_rows(f.pii_scan(pii, { "raw_customers" }),
            [[q."table" || '.' || q."column" || ': ' || q."rows" || ' rows']],
            "no personal data of an erased customer anywhere in the sink"),
  f.no_rows("select order_id, customer_id from fct_orders where customer_id in (" .. erased_ids .. ")",
            "'order ' || q.order_id || ' of customer ' || q.customer_id",
            "no order keeps an erased customer's id"),
  sql { "select count(*) > 0 from fct_orders where customer_id = -1", equals = "t",
        name = "the erased customers' orders are under the anonymous member -1" },
  sql { "select count(*) from fct_orders where customer_id = 0", equals = 0,
        name = "no order moved to the unknown member 0" },
  sql { "select count(*) from dim_customers where customer_id > 0", equals = 2000 - #ERASED,
        name = "dim_customers has every customer not erased" },
  sql { "select count(distinct email) from dim_customers where customer_id > 0",
        equals = 2000 - #ERASED, name = "dim_customers emails of the customers not erased" },
  sql { "select count(*) from dim_customers where customer_id in (0, -1)", equals = 2,
        name = "dim_customers has the members 0 and -1" },
  unique { table = "dim_customers", column = "customer_id" },
  f.no_rows("select x.customer_id, 'not quarantined' as problem from (values "
            .. table.concat(unknown_rows, ", ") .. ") x(customer_id) where not exists "
            .. "(select 1 from quarantine_erasures q where q.customer_id = x.customer_id) "
            .. "union all select q.customer_id, 'a known customer, or quarantined twice' "
            .. "from quarantine_erasures q where q.customer_id in (" .. erased_ids .. ") or "
            .. "(select count(*) from quarantine_erasures q2 where q2.customer_id = q.customer_id) > 1",
            "'customer ' || q.customer_id || ': ' || q.problem",
            "erasure requests for unknown customers are quarantined, once"),
})

return scenario {
  name = "gdpr_erasure", tags = { "batch", "phase2", "compliance", "gdpr" }, phase = 2, seed = 1007,
  description = "Erasure requests land on day 4: no personal data of an erased customer may remain; their orders stay under member -1.",
  datasets = { customers = customers, orders = orders, erasures = erasures },
  replay = f.replay { { into = "files", dataset = "erasures", dir = "erasures", format = "csv", per = "batch" } },
  checks = checks,
  thresholds = f.thresholds(),
}
