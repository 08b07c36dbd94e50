-- The steady stream: the catalogue's day, 100,000 payments (a day in event time) at 5,000 a
-- second (20 s of replay), every kind of fraud and the look-alike refund batches mixed in, in the
-- same proportion as the other scenarios' 40,000 (62 fraudulent cards): every fraudulent card
-- alerted once, no other card, within 2 s at the 99th percentile. The documentation checks are
-- here.
--
-- One partition: the embedded mock cluster answers a fetch with one record batch a partition,
-- so the service reads as many batches a second as it can fetch, and a batch holds what the
-- replay sent in its 1 ms linger. Over 4 partitions (what the harness gives an input topic too
-- large for the mock) the batches held one or two payments and `rules` read about 2,400 a
-- second: at 5,000/s it fell 10 s behind and was stopped before it had read 3,000 of them (load
-- 7). On one partition a batch holds about five, and `rules` keeps up. The partition keeps 5 MiB
-- (about 15,000 payments): the replay is paced to the offsets the service commits in
-- KAFKA_GROUP_ID (docs/scenarios.md "Volume on the mock"); `rules` commits every second.
--
-- The p99 limit: 2 s, as before, over 62 alerts instead of 25 (with 62 samples the p99 is the
-- second largest). Measured with `rules` in the box on the 2-core VM at load 6.6-8.4, three runs
-- (one with the fraud transcript running alongside): p99 0.72, 0.76 and 0.84 s, max 0.86-0.91 s,
-- p50 0.01-0.02 s; the 40,000 payments at 2,000/s over 4 partitions this replaced measured 2.18 s
-- at load 8 (and 2.04-2.22 s earlier when the cores were shared, 0.69 s quiet). 2 s leaves more
-- than twice the worst measured run; `naive` fails anyway (recall, precision, and a p99 of 16.5 s:
-- it commits every 5 s, so the replay waits for it).
local f = require "lib.fraud"
local cards, merchants, payments = f.datasets(f.PER_DAY)
f.plant(payments, { velocity = 20, outlier = 10, geo = 20, card_testing = 12, burst = 12 })

return scenario {
  name = "steady", tags = { "stream", "phase1", "smoke" }, phase = 1, seed = 1401,
  description = "The catalogue's day: 100K payments at 5K/s on one partition, every fraud pattern and refund look-alikes.",
  datasets = { cards = cards, merchants = merchants, payments = payments },
  solution = f.SOLUTION,
  replay = f.replay { f.payments(5000, { partitions = 1 }) },
  checks = f.merge(f.alert_checks(payments), {
    adr { dir = "docs/adr", min = 1, name = "decision records: at least 1 ADR, README on design and cost" },
  }),
  thresholds = { ["latency.e2e.p99"] = "< 2s" },
}
