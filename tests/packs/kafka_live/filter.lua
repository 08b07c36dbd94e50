-- A filter: 24,000 orders of about 330 bytes each on the log (7.9 MB) into a topic of one
-- partition, more than the 5 MiB a partition the mock cluster keeps, at 8,000 records/s, through
-- a service that forwards only the 24 flagged ones (tests/solutions/kafka_stream_filter, which
-- commits its consumer's offsets in group KAFKA_GROUP_ID every 200 ms). Its answers cannot pace
-- the replay (one a thousand inputs): the committed offsets do. Without them the replay waited
-- 30 s for answers with 4 MiB unanswered and ended the step (exit 3).
local shops = dataset {
  rows = 50, key = "shop_id",
  columns = { { "shop_id", "sequence", start = 1 } },
}
local orders = dataset {
  rows = 24000, key = "id", time = "ts",
  columns = {
    { "id", "sequence", start = 1 },
    { "shop_id", "fk", ref = shops },
    { "status", "categorical", values = { "placed", "flagged" }, weights = { 1, 0 } },
    { "pad", "pattern", string.rep("?", 200) },
    { "ts", "timestamp", start = "2026-03-02T00:00:00Z", per_day = 100000 },
  },
}
orders:pattern { kind = "burst", name = "flagged", count = 3, size = 8, window = "5m",
                 key = "shop_id", set = { status = "flagged" } }

return scenario {
  name = "filter", seed = 9,
  datasets = { shops = shops, orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "orders", topic = "orders", rate = 8000, partitions = 1 },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:with("flagged"),
            columns = { "id", "status" }, name = "orders_out: the flagged orders" },
  },
}
