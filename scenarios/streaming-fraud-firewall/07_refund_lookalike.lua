-- The look-alike: ten merchants each refund twelve cards within five minutes, large amounts,
-- type "refund". Nothing here is fraud: a firewall that alerts on big amounts or on a
-- merchant's burst alerts wrongly, and precision says so.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, { velocity = 2, burst = 10 })

return scenario {
  name = "refund_lookalike", tags = { "stream", "phase1", "pattern", "precision" }, phase = 1,
  seed = 1407,
  description = "Batch refunds that look like fraud (large, bursty) among 2 real velocity bursts.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
