-- Phase 2, a new source: the payment provider's events, one JSON object a line, landing daily in
-- landing/payments/payments-NNNN.jsonl beside the orders. Each order has one payment; its events
-- say its state (pending, paid, failed, refunded) and the event that arrives last is the current
-- one. 12% of payments get a second event about 2.5 days later: mostly a new state (a late
-- payment that settles a pending one, a refund, a failure), sometimes a corrected paid_at, and
-- 30% of them are the same event delivered again. A payment can also arrive the day after its
-- order (around midnight). fct_orders carries each order's current payment_status and
-- paid_amount; daily_sales.paid_revenue sums the paid amounts of the day's orders and is restated
-- whenever a later event changes a past day.
local f = require "lib.foundation"
local shop = require "lib.ecommerce"
local customers, orders = f.datasets()

local payments = dataset {
  rows = 14000, key = "order_id", time = "paid_at", batches = "day",
  columns = {
    { "payment_id", "uuid" },
    { "order_id", "fk", ref = orders, column = "order_id", dist = "spread" },
    { "order_ts", "fk", ref = orders, column = "order_ts", dist = "spread" },
    { "payment_status", "categorical", values = { "pending", "paid", "failed", "refunded" },
      weights = { 12, 80, 8, 0 } },
    { "paid_amount", "fk", ref = orders, column = "amount", dist = "spread" },
    -- 30 s after its order (same rate, jitter below the gap): never before it, and the last
    -- payment of the week still lands on day 7.
    { "paid_at", "timestamp", start = "2026-01-05T00:00:30Z", rate = 14000 / (7 * 86400), jitter = "10s" },
  },
}
payments:duplicates { fraction = 0.12, changed = 0.7, gap = 5000 }

local truth = payments:valid():dedup("order_id", "last")
return scenario {
  name = "payments", tags = { "batch", "phase2", "new-source", "payments" }, phase = 2, seed = 1008,
  description = "A payments feed in JSONL joins the orders: late events restate payment status and daily paid revenue.",
  datasets = { customers = customers, orders = orders, payments = payments },
  replay = f.replay { { into = "files", dataset = "payments", dir = "payments", format = "jsonl", per = "batch" } },
  checks = f.merge(f.core_checks(orders, customers), {
    diff { table = "fct_orders", key = "order_id", expect = truth,
           columns = { "order_id", "payment_status", "paid_amount" },
           name = "fct_orders payment of each order (its latest event)" },
    sql { "select payment_status, count(*) from fct_orders group by 1",
          equals = truth:group_count("payment_status"), name = "orders per payment status" },
    f.no_rows("select d.day, d.paid_revenue, o.paid from daily_sales d full join (select "
              .. "(order_ts at time zone 'UTC')::date as day, coalesce(sum(paid_amount) filter "
              .. "(where payment_status = 'paid'), 0) as paid from fct_orders group by 1) o using (day) "
              .. "where d.paid_revenue is distinct from o.paid",
              "q.day || ': paid_revenue ' || coalesce(q.paid_revenue::text, 'missing') || ', the orders say ' || coalesce(q.paid::text, 'no orders')",
              "daily_sales paid_revenue = the paid amounts of the day's orders"),
  }),
  thresholds = f.thresholds(),
}
