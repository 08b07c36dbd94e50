-- A pack for the Kafka transcript (tests/transcript_kafka.sh): orders are replayed into a topic in
-- two batches; the solution reads the topic and writes every valid order once into an output
-- topic, which a `topic` check compares with the ledger by key.
return challenge {
  name = "kafka-echo", level = "test",
  description = "Deduplicate and clean an orders topic into another topic.",
  sources = { "kafka" }, sinks = { "kafka" },
}
