-- Streaming fraud firewall, intermediate level. README.md beside this file is the problem
-- statement a contestant reads (the topics, the rules, the alert format, the phases, what is
-- checked).
--
-- Payments arrive on the Kafka topic `payments` (one JSON object a message, keyed by
-- payment_id). The cards and merchants datasets are the payments' reference data, not streamed:
-- a payment carries the card's country and device and its merchant, which is what the rules
-- read. The
-- contestant's service raises one alert per fraudulent card on `alerts` as the payments stream
-- in, and sets unparseable messages aside on `payments_dlq`. Fraud is planted by the generator
-- (velocity bursts, amount outliers against the card's history, a second country within minutes,
-- card testing) with look-alike legitimate refund batches; the checks compare the alerts with
-- the planted truth (recall, precision, no alert lost or doubled) and bound the latency.
return challenge {
  name = "streaming-fraud-firewall",
  level = "intermediate",
  description = "Score a payment stream on Kafka in real time: alert on planted fraud, not on look-alikes, through broker faults.",
  sources = { "kafka" },
  sinks = { "kafka" },
  -- Production: the catalogue's 100,000 payments a day, the firewall always on; one scenario
  -- run stands for a day of the stream.
  scale = { records_per_day = 1e5, runs_per_day = 1 },
}
