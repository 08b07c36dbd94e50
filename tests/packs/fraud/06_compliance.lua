-- Phase 2 over 4,000 payments: the alerts and a summary per merchant and minute on `compliance`,
-- exact, with the lag SLA.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(4000)
f.plant(payments, f.SMALL)

return scenario {
  name = "compliance", tags = { "stream", "phase2" }, phase = 2, seed = 1411,
  description = "4K payments: alerts and per-merchant minute summaries.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay({ f.payments(f.RATE) }, { compliance = true }),
  checks = f.merge(f.alert_checks(payments), f.compliance_checks(payments)),
  thresholds = { ["latency.e2e.p99"] = "< 2s", ["compliance.lag.p99"] = "< 10s" },
}
