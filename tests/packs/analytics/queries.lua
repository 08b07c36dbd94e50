-- The workload with generous limits: a correct solution passes.
local lib = require "wl.common"
return scenario {
  name = "queries", seed = 13,
  description = "Three analyst queries, two clients, answers checked against the truth.",
  datasets = lib.datasets(),
  replay = lib.replay,
  workload = lib.workload(),
  thresholds = { ["query.top_products.p95"] = "< 30s", ["workload.errors"] = "== 0" },
}
