-- SQL analytics engine, beginner level. README.md beside this file is the problem statement a
-- contestant reads.
--
-- An e-commerce warehouse lands in PostgreSQL as raw text tables (customers, products, orders,
-- order_items, payments; Zipf-skewed customers and products). Analysts run a fixed set of
-- queries against it (queries/*.sql: top products by revenue per month, daily revenue with a
-- running total, repeat-purchase rate, customer lifetime value, cohort retention, payments by
-- method, one customer's orders). The contestant's batch job runs after the data lands and makes
-- those queries fast (indexes, partitions, materialised views, summary tables), serving each
-- query from the pack's text or its own (queries/<name>.sql in the solution). The harness runs
-- the workload, checks every answer against the same queries on its own untouched copy of the
-- tables, and holds each query to its latency limit. What the solution adds is database storage
-- and the workload's server CPU is billed: a month at the challenge's scale is the cost.
return challenge {
  name = "sql-analytics-engine",
  level = "beginner",
  description = "Make an analyst query workload right and fast on a PostgreSQL warehouse, and pay for what you add.",
  sources = { "postgres" },
  sinks = { "postgres" },
  -- Production: a warehouse refreshed hourly, the dashboard workload served all day; a run is
  -- one refresh and the queries a dashboard sends in that hour.
  scale = { records_per_day = 2.4e7, runs_per_day = 24 },
  budgets = { ["cost.monthly.usd"] = "<= 400" },
}
