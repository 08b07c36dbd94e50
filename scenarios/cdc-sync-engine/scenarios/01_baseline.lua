-- The order system on an ordinary day: customers, orders and order items inserted, updated and
-- deleted in small transactions; a key now and then deleted and inserted again. The target must
-- end equal to the source, no key may go back to an older version on the way, and the lag stays
-- under three seconds. Also: the solution's decision records.
local shop = require "lib.shop"

local replay, checks = shop.plan {
  checks = { adr { dir = "docs/adr", min = 1, name = "decision records: at least 1 ADR" } },
}

return scenario {
  name = "baseline", tags = { "phase1", "smoke" }, phase = 1, seed = 1501,
  description = "Inserts, updates and deletes on three tables; the target in sync, in order, lag p99 under 3 s.",
  datasets = shop.datasets(),
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds(),
}
