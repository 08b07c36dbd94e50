-- The streaming-fraud-firewall pack's datasets, planted patterns, replay and checks, shared by
-- every scenario (require "lib.fraud"), and by tests/packs/fraud's smaller ones. The pack's
-- README.md (scenarios/streaming-fraud-firewall) states the rules.
local M = {}

-- 100,000 payments a day (the catalogue's volume) in event time; a scenario replays `rows` of
-- them, from 2026-03-02T00:00Z on, compressed to the replay's rate.
M.PER_DAY = 100000

function M.datasets(rows, batches)
  local cards = dataset {
    rows = 5000, key = "card_id",
    columns = {
      { "card_id", "sequence", start = 100001 },
      { "country", "categorical", values = { "US", "GB", "DE", "FR", "ES", "IT", "NL", "BR" },
        weights = { 30, 15, 15, 12, 8, 8, 6, 6 } },
      { "device_id", "pattern", "dev-??????????" },
      { "issued_at", "timestamp", start = "2024-01-01T00:00:00Z", rate = 5000 / (700 * 86400) },
    },
  }
  local merchants = dataset {
    rows = 400, key = "merchant_id",
    columns = {
      { "merchant_id", "sequence", start = 1 },
      { "name", "pattern", "{Corner|Blue|Rapid|Urban|Green|Golden} {Shop|Foods|Store|Travel|Tech} ###" },
      { "mcc", "categorical", values = { "5411", "5812", "5999", "4111", "5732", "7011" } },
    },
  }
  local payments = dataset {
    rows = rows or 20000, key = "payment_id", time = "ts", batches = batches,
    columns = {
      { "payment_id", "sequence", start = 1 },
      { "card_id", "fk", ref = cards },
      { "merchant_id", "fk", ref = merchants },
      { "amount", "lognormal", mu = 3.4, sigma = 0.4, min = 1, max = 5000, scale = 2 },
      { "type", "categorical", values = { "payment", "refund" }, weights = { 1, 0 } },
      { "country", "fk", ref = cards, column = "country", via = "card_id" },
      { "device_id", "fk", ref = cards, column = "device_id", via = "card_id" },
      { "ts", "timestamp", start = "2026-03-02T00:00:00Z", per_day = M.PER_DAY, jitter = "1s" },
    },
  }
  return cards, merchants, payments
end

-- The patterns, each planted `n` times (a kind left out is not planted). The fraud kinds and
-- the look-alike; the rules in README.md are what they mean.
M.FRAUD = { "velocity", "outlier", "geo", "card_testing" }

local planted = setmetatable({}, { __mode = "k" }) -- dataset -> the fraud kinds planted in it

function M.plant(payments, n)
  n = n or {}
  local kinds = {}
  for _, k in ipairs(M.FRAUD) do
    if (n[k] or 0) > 0 then kinds[#kinds + 1] = k end
  end
  planted[payments] = kinds
  if (n.velocity or 0) > 0 then
    payments:pattern { kind = "velocity", count = n.velocity, size = 8, window = "2m", key = "card_id" }
  end
  if (n.outlier or 0) > 0 then
    payments:pattern { kind = "outlier", count = n.outlier, size = 6, window = "30m", key = "card_id",
                       amount = "amount", factor = 12 }
  end
  if (n.geo or 0) > 0 then
    payments:pattern { kind = "geo", count = n.geo, size = 2, window = "10m", key = "card_id",
                       columns = { "country", "device_id" } }
  end
  if (n.card_testing or 0) > 0 then
    payments:pattern { kind = "card_testing", count = n.card_testing, size = 6, window = "10m",
                       key = "card_id", amount = "amount", small = 2, factor = 15 }
  end
  if (n.burst or 0) > 0 then
    payments:pattern { kind = "burst", name = "refund_batch", count = n.burst, size = 12,
                       window = "5m", key = "merchant_id", amount = "amount", factor = 20,
                       set = { type = "refund" } }
  end
  return payments
end

-- The alerts a correct firewall raises: one per card of a planted fraud instance (not the
-- look-alike refund batches). Every scenario compares the alerts topic with it.
function M.fraud_cards(payments)
  return payments:with(table.unpack(planted[payments])):dedup("card_id")
end

-- The replay: the service first, then the payments at `rate` per second (all of them, or the
-- steps given). The cards and merchants are the payments' reference data (their country,
-- device and merchant come from them); they are not streamed: a payment carries what the rules
-- read.
function M.replay(payments_steps, opts)
  local r = { { run = "solution" } }
  for _, st in ipairs(payments_steps) do r[#r + 1] = st end
  -- Time to catch up before the drain, which stops the service once the alerts topic has been
  -- quiet for a second (alerts are rare): until every alert is there, or 10 s.
  r[#r + 1] = { wait = { ["until"] = M.ONCE, timeout = "10s" } }
  -- Phase 2: the last minutes close when the stream has been idle a while (the reference waits
  -- 5 s): until every summary is there, or 12 s.
  if opts and opts.compliance then
    r[#r + 1] = { wait = { ["until"] = M.COMPLIANCE, timeout = "12s" } }
  end
  return r
end

function M.payments(rate, extra)
  local st = { into = "kafka", dataset = "payments", topic = "payments", rate = rate }
  for k, v in pairs(extra or {}) do st[k] = v end
  return st
end

M.ONCE = "alerts: one per fraudulent card, none missing, none doubled"

-- The checks every scenario has: the alerted cards against the planted ones (recall and
-- precision, exact by default), and each alert once (a keyed diff of the alerts topic: an alert
-- missing, doubled or for a card with no planted fraud is named).
function M.alert_checks(payments, bounds)
  bounds = bounds or {}
  local truth = M.fraud_cards(payments)
  return {
    precision_recall { topic = "alerts", column = "card_id", expect = truth,
                       min_precision = bounds.precision or 1, min_recall = bounds.recall or 1,
                       name = "alerts: recall and precision against the planted fraud" },
    topic { topic = "alerts", key = "card_id", expect = truth, columns = { "card_id" },
            name = M.ONCE },
  }
end

-- Phase 2: the regulator's summary per merchant and event-time minute on the `compliance` topic,
-- {"merchant_id":380,"minute":"2026-03-02T00:05:00Z","payments":3,"amount":123.45}: every valid
-- payment of the minute (refunds too, as their amount is written), whatever its arrival; one
-- message per (merchant, minute), exact; a summary sent again for a key is doubled, not a
-- correction. README.md states it for contestants.
M.COMPLIANCE = "compliance: one summary per merchant and minute, exact"

function M.compliance_truth(payments)
  return payments:valid():group { "merchant_id", minute = "ts" }
                         :agg { payments = "count", amount = "sum(amount)" }
end

function M.compliance_checks(payments)
  return {
    topic { topic = "compliance", expect = M.compliance_truth(payments), name = M.COMPLIANCE },
  }
end

function M.merge(a, b)
  local r = {}
  for _, x in ipairs(a) do r[#r + 1] = x end
  for _, x in ipairs(b or {}) do r[#r + 1] = x end
  return r
end

M.SOLUTION = { mode = "service", timeout = "120s" }
-- Payments per second of a scenario's replay (steady replays a whole day faster).
M.RATE = 2000
M.ALL = { velocity = 4, outlier = 2, geo = 4, card_testing = 3, burst = 3 }
-- Every kind but the outlier (whose 30-minute history needs room) in 4,000 payments (tests).
M.SMALL = { velocity = 4, geo = 2, card_testing = 1, burst = 2 }

return M
