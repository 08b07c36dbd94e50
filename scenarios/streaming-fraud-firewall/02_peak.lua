-- Peak: ten times the scenarios' rate (20,000 payments a second) for a scaled minute: 40,000
-- payments in two seconds. Nothing may be lost to the burst, and alerts stay within 5 s.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(40000)
f.plant(payments, { velocity = 8, outlier = 4, geo = 6, card_testing = 4, burst = 3 })

return scenario {
  name = "peak", tags = { "stream", "phase1", "load" }, phase = 1, seed = 1402,
  description = "10x the rate: 40K payments at 20K/s; no alert lost, p99 under 5 s.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(10 * f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 5s" },
}
