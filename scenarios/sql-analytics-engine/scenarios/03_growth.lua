-- Ten times the rows in the same eight weeks: the limits still hold (what scans grows, what a
-- summary or an index answers does not).
local wh = require "lib.warehouse"

return scenario {
  name = "growth", tags = { "phase1", "scale" }, phase = 1, seed = 1303,
  description = "10x every table; the same 100 ms limit.",
  datasets = wh.datasets { k = 10 },
  replay = wh.replay(),
  workload = wh.workload(),
  thresholds = wh.thresholds(),
}
