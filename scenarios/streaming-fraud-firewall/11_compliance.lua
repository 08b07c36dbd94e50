-- Phase 2, "the regulator mandates real-time compliance reporting": the steady stream (20,000
-- payments at 2,000 a second, every pattern) and, besides the alerts, a summary per merchant and
-- event-time minute on `compliance`: every summary once and exact (count and amount of the
-- minute's payments), within 2 s of the minute's close at the 99th percentile.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, f.ALL)

return scenario {
  name = "compliance", tags = { "stream", "phase2", "compliance" }, phase = 2, seed = 1411,
  description = "20K payments at 2K/s: alerts, and a per-merchant minute summary with a lag SLA.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay({ f.payments(f.RATE) }, { compliance = true }),
  checks = f.merge(f.alert_checks(payments), f.compliance_checks(payments)),
  thresholds = { ["latency.e2e.p99"] = "< 2s", ["compliance.lag.p99"] = "< 2s" },
}
