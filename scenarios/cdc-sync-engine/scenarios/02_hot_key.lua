-- One customer is updated all the time, and then 1,500 times in a burst: a consumer that applies
-- a key's changes out of order, or drops some under load, shows it on that key.
local shop = require "lib.shop"

local replay, checks = shop.plan()

return scenario {
  name = "hot_key", tags = { "phase1" }, phase = 1, seed = 1502,
  description = "A hot customer updated in a burst of 1,500 changes: its last version wins, never an older one.",
  datasets = shop.datasets {
    customers = {
      updates = 2.0, deletes = 0.02, txn_size = { 1, 3 }, columns = { "email", "segment", "credit", "active" },
      hot_keys = { keys = 1, share = 0.3 }, burst = { at = 0.5, updates = 1500 },
    },
  },
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds(),
}
