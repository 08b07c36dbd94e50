-- A count no run reaches in time: max_duration ends the measurement between rounds (every query
-- keeps as many executions as the others) and the served CPU is billed at the declared count.
local lib = require "wl.common"
return scenario {
  name = "capped", seed = 13,
  description = "A count of 100000 executions a query, limited to 300 ms.",
  datasets = lib.datasets(),
  replay = lib.replay,
  workload = lib.workload { clients = 1, count = 100000, warmup = 0, max_duration = "300ms",
                            verify = false },
}
