-- The service is killed (SIGKILL) twice mid-stream and started again: it must go on from where
-- its target says it was, losing nothing and applying nothing twice.
local shop = require "lib.shop"

local replay, checks = shop.plan {
  between = { { fault = "solution_restart" } },
  after_orders = { { fault = "solution_restart" } },
}

return scenario {
  name = "solution_restart", tags = { "phase1", "faults" }, phase = 1, seed = 1506,
  description = "The service killed with SIGKILL twice mid-stream and restarted: nothing lost, nothing doubled.",
  datasets = shop.datasets(),
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds "6s",
}
