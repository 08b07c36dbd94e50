local items = dataset {
  rows = 100, key = "id",
  columns = { { "id", "sequence", start = 1 }, { "v", "int", min = 1, max = 9 } },
}
return scenario {
  name = "misbehaving_plugins", seed = 5,
  datasets = { items = items },
  replay = { { into = "postgres", dataset = "items", table = "items" }, { run = "solution" } },
  -- misbehave.ok records metric "answer" (2) and histogram "lat" (0, 0.5, 1, 1.5, 2 s)
  thresholds = { ["plugin.misbehave.answer"] = "<= 2", ["plugin.misbehave.lat.p99"] = "< 3s" },
  checks = {
    row_count { table = "items", equals = items:count(), name = "before the plugins" },
    plugin "misbehave".segv {},
    plugin "misbehave".hang {},
    plugin "misbehave".exit3 {},
    plugin "bad_abi".anything {},
    plugin "misbehave".ok { who = "harness run" },
    row_count { table = "items", equals = items:count(), name = "after the plugins" },
  },
}
