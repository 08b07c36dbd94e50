-- Every broker down for 3 s between two halves of 4,000 payments: no alert lost, none doubled.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(4000, 2)
f.plant(payments, f.SMALL)

return scenario {
  name = "broker_outage", tags = { "stream", "fault" }, phase = 1, seed = 1408,
  description = "Every broker down for 3 s mid-stream, 4K payments.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay {
    f.payments(f.RATE, { batch = 0 }),
    { fault = "broker_down", duration = "3s" },
    f.payments(f.RATE, { batch = 1 }),
  },
  checks = f.alert_checks(payments),
}
