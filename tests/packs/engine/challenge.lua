-- A pack for test_engine.c: small scenarios that exercise the run engine's plan walk (replay
-- targets, per-batch drops, run steps); the solution (tests/solutions/env_log) only records what
-- it was given.
return challenge {
  name = "engine", level = "test",
  description = "Plan shapes for the run engine's tests.",
  sources = { "files", "postgres" }, sinks = { "files" },
  budgets = { ["latency.e2e.p99"] = "< 1s" }, -- applies to service scenarios only: none here
}
