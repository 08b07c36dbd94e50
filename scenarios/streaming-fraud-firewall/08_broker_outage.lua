-- The brokers go down for 3 s between the two halves of the stream, while the service is
-- consuming and producing. Every alert must still be there exactly once: a keyed diff of the
-- alerts topic names each card alerted twice or not at all.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000, 2)
f.plant(payments, f.ALL)

return scenario {
  name = "broker_outage", tags = { "stream", "phase1", "fault" }, phase = 1, seed = 1408,
  description = "Every broker down for 3 s mid-stream: no alert lost, none doubled.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay {
    f.payments(f.RATE, { batch = 0 }),
    { fault = "broker_down", duration = "3s" },
    f.payments(f.RATE, { batch = 1 }),
  },
  checks = f.alert_checks(payments),
}
