-- The generator benchmark's pack: one scenario, orders with faults.
return challenge { name = "gen-bench", level = "bench", description = "generator throughput" }
