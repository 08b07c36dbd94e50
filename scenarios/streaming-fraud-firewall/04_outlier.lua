-- One pattern alone: a payment twelve times the mean of the card's five before it, planted 6 times among 20,000 ordinary payments.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, { outlier = 6 })

return scenario {
  name = "outlier", tags = { "stream", "phase1", "pattern" }, phase = 1, seed = 1404,
  description = "6 planted outlier instances: a payment twelve times the mean of the card's five before it.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
