-- The served product's volume: 1000 executions of each query. A solution that answers from
-- materialised views is billed less database CPU for it than one that scans every time.
local lib = require "wl.common"
return scenario {
  name = "served", seed = 13,
  description = "The three queries, 1000 executions each, one client.",
  datasets = lib.datasets(),
  replay = lib.replay,
  workload = lib.workload { clients = 1, count = 1000, warmup = 0 },
}
