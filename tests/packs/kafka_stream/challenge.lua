-- A pack for the streaming half of tests/transcript_kafka.sh: orders are replayed into a topic
-- at a paced rate while a service solution runs; it writes each order, keyed by id, to an output
-- topic. A keyed `topic` check compares that topic with the ledger, and a threshold bounds the
-- end-to-end latency (output message time minus the intended send time of its input).
return challenge {
  name = "kafka-stream", level = "test",
  description = "Forward an orders topic into another topic, within half a second.",
  sources = { "kafka" }, sinks = { "kafka" },
}
