-- 1% corrupt messages among 4,000 payments: exactly those on the dead-letter topic.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(4000)
f.plant(payments, f.SMALL)
payments:corrupt { fraction = 0.01 }

return scenario {
  name = "poison", tags = { "stream", "quality" }, phase = 1, seed = 1410,
  description = "1% corrupt messages to a dead-letter topic, 4K payments.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.merge(f.alert_checks(payments), {
    quarantine { topic = "payments_dlq", column = "payment_id", expect = payments:corrupt(),
                 name = "payments_dlq: exactly the corrupt messages" },
  }),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
