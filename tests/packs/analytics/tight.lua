-- A limit no query meets (a round trip takes more than a microsecond): the threshold fails, the
-- answers pass, and the reports keep the slow query's plan.
local lib = require "wl.common"
return scenario {
  name = "tight", seed = 13,
  description = "The same workload with a limit nothing meets.",
  datasets = lib.datasets(),
  replay = lib.replay,
  workload = lib.workload { clients = 1, count = 5, warmup = 0, mix = "fixed" },
  thresholds = { ["query.revenue_by_country.p95"] = "< 1us" },
}
