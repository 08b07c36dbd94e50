-- 5% of orders arrive two days after they happened: daily_sales for past days must be restated.
local f = require "lib.foundation"
local customers, orders = f.datasets()
orders:late { fraction = 0.05, delay = "48h" }

return scenario {
  name = "late_arrivals", tags = { "batch", "phase1", "late" }, phase = 1, seed = 1003,
  description = "5% of orders land 48h late; past days' sales must be restated.",
  datasets = { customers = customers, orders = orders },
  replay = f.replay(),
  checks = f.merge(f.core_checks(orders, customers), {
    sql { "select count(*) from fct_orders", equals = orders:valid():dedup("order_id"):count(),
          name = "late orders are loaded too" },
  }),
  thresholds = f.thresholds(),
}
