-- One pattern alone: a card paying from a second country (and device) within ten minutes, planted 15 times among 20,000 ordinary payments.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, { geo = 15 })

return scenario {
  name = "geo", tags = { "stream", "phase1", "pattern" }, phase = 1, seed = 1405,
  description = "15 planted geo instances: a card paying from a second country (and device) within ten minutes.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
