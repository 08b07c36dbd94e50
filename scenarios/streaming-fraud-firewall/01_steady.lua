-- The steady stream: 40,000 payments (10 hours of the catalogue's 100,000 a day, in event time)
-- at 2,000 a second, every kind of fraud and the look-alike refund batches mixed in: every
-- fraudulent card alerted once, no other card, within 2 s at the 99th percentile. The
-- documentation checks are here.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(40000)
f.plant(payments, { velocity = 8, outlier = 4, geo = 8, card_testing = 5, burst = 5 })

return scenario {
  name = "steady", tags = { "stream", "phase1", "smoke" }, phase = 1, seed = 1401,
  description = "40K payments at 2K/s with every fraud pattern and refund look-alikes.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.merge(f.alert_checks(payments), {
    adr { dir = "docs/adr", min = 1, name = "decision records: at least 1 ADR, README on design and cost" },
  }),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
