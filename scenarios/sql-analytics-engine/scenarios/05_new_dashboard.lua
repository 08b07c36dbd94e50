-- Phase 2: the analysts add a dashboard tile (revenue share by category and week) with a tighter
-- limit, 50 ms, beside the seven queries.
local wh = require "lib.warehouse"

return scenario {
  name = "new_dashboard", tags = { "phase2", "twist" }, phase = 2, seed = 1305,
  description = "A new query, category_share, under 50 ms; the others as before.",
  datasets = wh.datasets(),
  replay = wh.replay(),
  workload = wh.workload { extra = { { name = "category_share", file = "queries/category_share.sql" } } },
  thresholds = wh.thresholds(nil, { ["query.category_share.p95"] = "< 50ms" }),
}
