-- A flaky cluster mid-stream: the next Produce and Fetch requests fail with
-- NOT_LEADER_FOR_PARTITION (retriable, as in a leader election), then for a second of the
-- stream every response takes 200 ms longer. Retries must not lose or double an alert; latency
-- grows but stays bounded. The slow second is kept short because the embedded mock answers a
-- Fetch with one record batch a partition: a consumer 200 ms away reads about five batches a
-- second a partition there (a real broker sends all it has), so under a longer one every
-- solution would fall behind by however long it lasted (10,000 payments at 200 ms: 4.6 s).
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000, 10)
f.plant(payments, f.ALL)

local steps = {}
for b = 0, 9 do
  if b == 5 then
    steps[#steps + 1] = { fault = "request_errors" }
    steps[#steps + 1] = { fault = "rtt", duration = "200ms" }
  end
  steps[#steps + 1] = f.payments(f.RATE, { batch = b })
  if b == 5 then
    steps[#steps + 1] = { fault = "rtt", duration = "0s" }
  end
end

return scenario {
  name = "errors_rtt", tags = { "stream", "phase1", "fault" }, phase = 1, seed = 1409,
  description = "Request errors, then 200 ms added round trip for a second: alerts exact, p99 under 3 s.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay(steps),
  checks = f.alert_checks(payments),
  thresholds = { ["latency.e2e.p99"] = "< 3s" },
}
