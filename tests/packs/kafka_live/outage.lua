-- 2,000 orders at 1,000 records/s through the forwarding service, a `wait until` every output is
-- there (a loaded machine can leave the service's last ones unsent when the replay ends, and its
-- client then reconnects on its own schedule), every broker down for 2 s, then a second `wait
-- until` on the output topic's check, then the drain: the harness's own client must read the
-- topic again after the outage, so the second wait passes at its first try and the drain ends
-- at once. They
-- ran to their limits (10 s each) while the service held copies of the mock cluster's sockets
-- (accepted without close-on-exec before the service started): the fault's close sent no FIN, and
-- the harness's own client waited on a dead connection until the service was stopped.
local orders = dataset {
  rows = 2000, key = "id",
  columns = {
    { "id", "sequence", start = 1 },
    { "amount", "decimal", min = 1, max = 500, scale = 2 },
  },
}

return scenario {
  name = "outage", seed = 9,
  datasets = { orders = orders },
  solution = { mode = "service", timeout = "60s" },
  replay = {
    { run = "solution" },
    { into = "kafka", dataset = "orders", topic = "orders", rate = 1000 },
    { wait = { ["until"] = "orders_out matches the ledger", timeout = "30s" } },
    { fault = "broker_down", duration = "2s" },
    { wait = { ["until"] = "orders_out matches the ledger", timeout = "10s" } },
  },
  checks = {
    topic { topic = "orders_out", key = "id", expect = orders:valid(),
            columns = { "id", "amount" }, name = "orders_out matches the ledger" },
  },
}
