-- The streaming-fraud-firewall pack's scenarios that tell its two reference solutions apart, made
-- small for tests/transcript_fraud.sh: the same datasets, patterns, replay and checks (the
-- embedded lib.fraud, shared with scenarios/streaming-fraud-firewall) over 4,000 payments
-- instead of 20,000, so each streams for 2 s at the pack's rate; compliance is phase 2.
return challenge {
  name = "fraud-test", level = "test",
  description = "The fraud pack's pattern, outage, poison and phase-2 compliance scenarios at 4K payments.",
  sources = { "kafka" }, sinks = { "kafka" },
}
