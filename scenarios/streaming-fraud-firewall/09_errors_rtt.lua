-- A flaky cluster mid-stream: the next Produce and Fetch requests fail with
-- NOT_LEADER_FOR_PARTITION (retriable, as in a leader election), then every response takes
-- 200 ms longer. Retries must not lose or double an alert; latency grows but stays bounded.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000, 2)
f.plant(payments, f.ALL)

return scenario {
  name = "errors_rtt", tags = { "stream", "phase1", "fault" }, phase = 1, seed = 1409,
  description = "Request errors, then 200 ms added round trip: alerts exact, p99 under 5 s.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay {
    f.payments(f.RATE, { batch = 0 }),
    { fault = "request_errors" },
    { fault = "rtt", duration = "200ms" },
    f.payments(f.RATE, { batch = 1 }),
    { fault = "rtt", duration = "0s" }, -- the cluster serves the next scenario too
  },
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 5s" },
}
