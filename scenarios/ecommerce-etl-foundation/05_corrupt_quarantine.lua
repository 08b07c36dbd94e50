-- 1% of lines are broken (cut off, wrong types, invalid UTF-8, a field too many or too few). They
-- must land in quarantine_orders, and only they; everything else loads normally.
local f = require "lib.foundation"
local customers, orders = f.datasets()
orders:corrupt { fraction = 0.01 }

return scenario {
  name = "corrupt_quarantine", tags = { "batch", "phase1", "quality" }, phase = 1, seed = 1005,
  description = "1% corrupt lines must be quarantined, and nothing else.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.merge(f.core_checks(orders, customers), {
    quarantine { table = "quarantine_orders", column = "order_id", expect = orders:corrupt() },
    row_count { table = "quarantine_orders", equals = orders:corrupt():count(),
                name = "one quarantine row per corrupt line" },
  }),
  thresholds = f.thresholds(),
}
