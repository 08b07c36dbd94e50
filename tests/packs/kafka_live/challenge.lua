-- A pack for tests/transcript_kafka_live.sh: live end-to-end latency, both views (corrected from
-- the intended send time, uncorrected from the actual one), while a forwarding service runs.
-- delay: paced orders through a service that forwards each one a fixed time after it was sent.
-- stall: paced orders with a window of 20 unanswered records (the replay holds back to what the
-- service answered) through a service that stalls once: the stall shows in the corrected view
-- and not in the uncorrected one (coordinated omission).
-- volume: more than one partition's 5 MiB through a topic of one partition, read late.
-- filter: the same volume through a service that forwards one order in a thousand and commits
-- its offsets: the replay is paced to them.
-- outage: every broker down for 2 s after the stream, then a wait until on the output topic.
return challenge {
  name = "kafka-live", level = "test",
  description = "Forward an orders topic into another topic while the harness measures latency.",
  sources = { "kafka" }, sinks = { "kafka" },
}
