-- Thresholds with no value (docs/scenarios.md "Thresholds"): the solution's own metrics do not
-- apply to a scenario that never runs it (skip); the challenge's budget on service latency does
-- not apply to a batch scenario (skip); the cost probe's metric applies, but no probe ran, so
-- that threshold fails saying why.
local orders = dataset {
  rows = 5, key = "id",
  columns = { { "id", "sequence", start = 1 } },
}

return scenario {
  name = "unmeasured", seed = 7,
  description = "A replay and no run step.",
  datasets = { orders = orders },
  replay = {
    { into = "files", dataset = "orders", dir = "only" },
  },
  thresholds = { ["solution.wall.max"] = "< 30s", ["probe.solution.cpu.total"] = "< 30s" },
}
