-- 5 geo cards (a second country within ten minutes) among 4,000 payments.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(4000)
f.plant(payments, { geo = 5 })

return scenario {
  name = "geo", tags = { "stream", "pattern" }, phase = 1, seed = 1405,
  description = "5 planted geo instances in 4K payments.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
