-- Phase 2: the product team adds customers.loyalty_tier halfway through the stream (ALTER TABLE
-- ... ADD COLUMN); every insert and update after it sets the column. The target must grow the
-- column and carry its values, without a restart.
local shop = require "lib.shop"

local replay, checks = shop.plan {
  between = { { fault = "add_column", dataset = "customers", column = "loyalty_tier", type = "string" } },
  checks = {
    cdc_schema { table = "customers", column = "loyalty_tier", name = "customers.loyalty_tier reached the target" },
  },
}

return scenario {
  name = "new_column", tags = { "phase2", "schema" }, phase = 2, seed = 1508,
  description = "A column added to customers mid-stream reaches the target with its values.",
  datasets = shop.datasets(),
  solution = { mode = "service", timeout = "120s" },
  replay = replay,
  checks = checks,
  thresholds = shop.thresholds(),
}
