-- Fixture pack for test_scen.c: one scenario using every DSL feature.
return challenge {
  name = "fixture-good", level = "foundation", description = "test pack",
  sources = { "files", "postgres" }, sinks = { "postgres" },
  scale = { records_per_day = 5e6, runs_per_day = 24, probe = 4 },
  budgets = { ["cost.monthly.usd"] = "<= 250" },
  reference = { ["cost.monthly.variable.usd"] = "<= 0.35" },
}
