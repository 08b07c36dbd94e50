-- A small pack for transcript_workload.sh: a warehouse in PostgreSQL and a query workload over
-- it (the same step scenarios/sql-analytics-engine runs at full size), small enough for CI.
return challenge {
  name = "analytics", level = "test",
  description = "A query workload over a small warehouse: latency per query, answers checked.",
  sources = { "postgres" }, sinks = { "postgres" },
  scale = { records_per_day = 1e5, runs_per_day = 24 },
}
