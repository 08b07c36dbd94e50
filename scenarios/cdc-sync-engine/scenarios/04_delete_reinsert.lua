-- Many deletes, and many keys deleted and inserted again (the version sequence goes on: the
-- delete carries version v, the new row v + 1). The target must drop what the source dropped and
-- hold the new row, not the old one.
local shop = require "lib.shop"

local replay, checks = shop.plan()

return scenario {
  name = "delete_reinsert", tags = { "phase1" }, phase = 1, seed = 1504,
  description = "A third of the keys deleted, most of them inserted again: deletes reach the target, re-inserts win.",
  datasets = shop.datasets {
    customers = {
      updates = 1.0, deletes = 0.35, reinserts = 0.25, txn_size = { 1, 3 },
      columns = { "email", "segment", "credit", "active" },
    },
    orders = { updates = 1.0, deletes = 0.3, reinserts = 0.2, txn_size = { 1, 4 }, columns = { "status", "amount" } },
  },
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds(),
}
