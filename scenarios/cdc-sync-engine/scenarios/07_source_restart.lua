-- The source database restarts mid-stream (every connection dropped, the slot kept): the service
-- must reconnect and go on from its saved position.
local shop = require "lib.shop"

local replay, checks = shop.plan { between = { { fault = "pg_restart" } } }

return scenario {
  name = "source_restart", tags = { "phase1", "faults" }, phase = 1, seed = 1507,
  description = "PostgreSQL restarted mid-stream: the service reconnects and resumes, nothing lost or doubled.",
  datasets = shop.datasets(),
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds "6s",
}
