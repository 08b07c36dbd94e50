-- The warehouse as it is: eight weeks of orders, every query under its limit, every answer right;
-- the solution's ADRs and README.
local wh = require "lib.warehouse"

return scenario {
  name = "baseline", tags = { "phase1", "smoke" }, phase = 1, seed = 1301,
  description = "Eight weeks of orders; seven analyst queries, each p95 under 100 ms, each answer exact.",
  datasets = wh.datasets(),
  replay = wh.replay(),
  workload = wh.workload(),
  checks = {
    adr { dir = "docs/adr", min = 1, name = "decision records: at least 1 ADR" },
  },
  thresholds = wh.thresholds(),
}
