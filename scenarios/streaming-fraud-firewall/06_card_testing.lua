-- One pattern alone: five payments of at most 2.00 within ten minutes, then a large one, planted 10 times among 20,000 ordinary payments.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, { card_testing = 10 })

return scenario {
  name = "card_testing", tags = { "stream", "phase1", "pattern" }, phase = 1, seed = 1406,
  description = "10 planted card_testing instances: five payments of at most 2.00 within ten minutes, then a large one.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
