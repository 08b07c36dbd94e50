-- One pattern alone: one card, eight payments within two minutes, planted 20 times among 20,000 ordinary payments.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, { velocity = 20 })

return scenario {
  name = "velocity", tags = { "stream", "phase1", "pattern" }, phase = 1, seed = 1403,
  description = "20 planted velocity instances: one card, eight payments within two minutes.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
