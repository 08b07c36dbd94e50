-- A long transaction: a batch of 40 new customers is written while 2,000 later transactions
-- commit (about four seconds at 500 a second) and commits after all of them. Changes must be
-- applied in commit order, and a reader that keys on when rows were written, not when they
-- committed, loses the batch.
local shop = require "lib.shop"

local replay, checks = shop.plan { rates = { customers = 500 } }

return scenario {
  name = "long_transactions", tags = { "phase1" }, phase = 1, seed = 1503,
  description = "A batch of inserts that commits about 4 s after it was written, behind 2,000 later transactions.",
  datasets = shop.datasets {
    k = 1.5,
    customers = {
      updates = 1.0, deletes = 0.02, txn_size = 1, columns = { "email", "segment", "credit" },
      long_txn = { every = 2300, size = 40, span = 2000 },
    },
  },
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds(),
}
