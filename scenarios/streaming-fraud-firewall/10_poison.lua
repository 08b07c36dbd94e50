-- Poison messages: 1% of the payments are broken JSON (cut off, wrong types, invalid UTF-8, a
-- field too many or too few). Each goes to the dead-letter topic payments_dlq as a JSON object
-- naming its payment_id (the message key), and only those; the firewall keeps alerting.
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(20000)
f.plant(payments, f.ALL)
payments:corrupt { fraction = 0.01 }

return scenario {
  name = "poison", tags = { "stream", "phase1", "quality" }, phase = 1, seed = 1410,
  description = "1% corrupt messages to a dead-letter topic, exactly those; alerts unaffected.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(f.RATE) },
  checks = f.merge(f.alert_checks(payments), {
    quarantine { topic = "payments_dlq", column = "payment_id", expect = payments:corrupt(),
                 name = "payments_dlq: exactly the corrupt messages" },
  }),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
