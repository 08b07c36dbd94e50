-- 20 velocity cards among 4,000 payments: a per-message rule misses them all.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(4000)
f.plant(payments, { velocity = 20 })

return scenario {
  name = "velocity", tags = { "stream", "pattern" }, phase = 1, seed = 1403,
  description = "20 planted velocity instances in 4K payments.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
