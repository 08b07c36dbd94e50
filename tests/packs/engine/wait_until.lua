-- { wait = { ["until"] = <check>, timeout } } (docs/scenarios.md "Replay steps"): the first wait's
-- check passes as soon as the rows landed, so the step ends then, not after its ten minutes; the
-- second's never passes, so it ends at its timeout and the plan goes on. Each check is recorded
-- once, by the checks that follow the plan.
local orders = dataset {
  rows = 5, key = "id",
  columns = { { "id", "sequence", start = 1 } },
}
local landed = row_count { table = "orders", equals = 5, name = "the orders landed" }
local never = row_count { table = "orders", equals = 6, name = "a sixth order" }

return scenario {
  name = "wait_until", seed = 8,
  description = "Two waits on a check: one that passes at once, one that never does.",
  datasets = { orders = orders },
  replay = {
    { into = "postgres", dataset = "orders", table = "orders" },
    { wait = { ["until"] = landed, timeout = "10m" } },
    { wait = { ["until"] = never, timeout = "1s" } },
  },
  checks = { landed, never },
}
