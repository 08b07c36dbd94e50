-- 24,000 orders of about 330 bytes each on the log (a 200-character pad), 7.9 MB, into a topic of
-- one partition, more than the 5 MiB a partition the mock cluster keeps, at 8,000 records/s,
-- through a service that starts reading 2.5 s late (tests/solutions/kafka_stream_late): in those
-- 2.5 s the replay would send 6.6 MB, and the mock would drop the oldest records unread. The
-- replay sends only what the answers show was read (it waits while 4 MiB is unanswered), and the
-- check reads the output topic, itself 7.9 MB on one partition, from the harness's live consumer,
-- which read it before the mock trimmed it.
local orders = dataset {
  rows = 24000, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
    { "pad", "pattern", string.rep("?", 200) },
  },
}

return scenario {
  name = "volume", seed = 8,
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "orders", topic = "orders", rate = 8000, partitions = 1 },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid(),
            columns = { "id", "amount", "pad" }, name = "orders_out matches the ledger" },
  },
}
