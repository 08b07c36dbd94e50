-- Orders with faults, the shape bench/gen_plain.lua writes by hand. Rows come from $ROWS via the
-- bench script's --seed-free default of 2M; change `rows` here to measure other sizes.
local shop = require "lib.ecommerce"
local customers = shop.customers { rows = 100000 }
local orders = shop.orders { rows = 2000000, days = 7, customers = customers }
  :duplicates { fraction = 0.02, changed = 0.5, gap = 100 }
  :late { fraction = 0.05, delay = "48h" }
  :nulls { column = "customer_id", fraction = 0.01 }
  :corrupt { fraction = 0.005 }
return scenario {
  name = "orders", seed = 7,
  datasets = { orders = orders, customers = customers },
}
