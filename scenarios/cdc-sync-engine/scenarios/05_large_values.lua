-- Large notes: a quarter of the customers carry 64 KB of text, which PostgreSQL stores out of
-- line (TOAST). An update that does not touch the notes does not send them again: the replication
-- stream marks the value "unchanged", and the target must keep what it has.
local shop = require "lib.shop"

local replay, checks = shop.plan()

return scenario {
  name = "large_values", tags = { "phase1" }, phase = 1, seed = 1505,
  description = "64 KB TOASTed notes on a quarter of the customers, kept through updates that leave them alone.",
  datasets = shop.datasets {
    customers = {
      updates = 2.0, deletes = 0.05, txn_size = { 1, 3 }, columns = { "email", "segment", "credit", "active" },
      large = { column = "notes", share = 0.25, bytes = 65536 },
    },
  },
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds(),
}
