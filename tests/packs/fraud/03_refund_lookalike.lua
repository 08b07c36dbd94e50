-- Batch refunds that look like fraud among 2 real velocity bursts: flagging refunds costs precision.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(4000)
f.plant(payments, { velocity = 2, burst = 8 })

return scenario {
  name = "refund_lookalike", tags = { "stream", "pattern", "precision" }, phase = 1, seed = 1407,
  description = "8 refund batches and 2 velocity bursts in 4K payments.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
