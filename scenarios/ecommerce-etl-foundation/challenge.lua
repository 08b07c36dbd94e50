-- E-commerce batch ETL, foundation level. README.md beside this file is the problem statement a
-- contestant reads (what arrives, what must come out, the phases, the budget, what is checked).
--
-- Each day the shop drops a CSV of orders into landing/orders/ and keeps its customer master in
-- PostgreSQL (raw_customers). The contestant's batch job runs after every drop and must maintain:
--   fct_orders(order_id bigint primary key, customer_id bigint, order_ts timestamptz, status text,
--              channel text, amount numeric(12,2))      -- one row per order, latest version wins
--   daily_sales(day date primary key, orders bigint, revenue numeric(14,2))
--                                                        -- by UTC day of order_ts, restated when
--                                                        -- late orders arrive
--   quarantine_orders(order_id bigint, reason text)      -- every unparseable line, and only those
--   dim_customers(customer_id bigint primary key, email text, country text, segment text)
--                                                        -- every customer of raw_customers, plus
--                                                        -- the "unknown customer" member 0
-- A missing customer_id is loaded as 0, which dim_customers holds like any customer.
-- Phase 2 (--phase 2): GDPR erasure (member -1, quarantine_erasures), a payments feed
-- (fct_orders.payment_status/paid_amount, daily_sales.paid_revenue) and 20x drops under 15 s.
return challenge {
  name = "ecommerce-etl-foundation",
  level = "foundation",
  description = "Daily order drops into a star schema: dedup, restate late data, survive drift, quarantine bad rows.",
  sources = { "files", "postgres" },
  sinks = { "postgres" },
  -- Production: a shop with 2M orders a day, one drop a day. A scenario run replays a week of
  -- drops (seven batch invocations), so a production week is one run, 1/7 of a run a day; the
  -- pricer scales each run's usage up to that volume before billing minimums apply. probe = 4:
  -- each scenario that ran cleanly runs again at 4x its records (and both sizes once more), so
  -- the cost is fitted as fixed + per-record; projected from one size, a solution's start-up
  -- counts as per-record work and ranked the naive solution below the set-based one.
  scale = { records_per_day = 2e6, runs_per_day = 1 / 7, probe = 4 },
  budgets = { ["cost.monthly.usd"] = "<= 250" },
}
