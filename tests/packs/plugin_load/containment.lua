local items = dataset {
  rows = 10, key = "id",
  columns = { { "id", "sequence", start = 1 } },
}
return scenario {
  name = "plugin_containment", seed = 5,
  datasets = { items = items },
  replay = { { into = "postgres", dataset = "items", table = "items" }, { run = "solution" } },
  checks = {
    plugin "ctor_marker".ok {},
    plugin "init_crash".never {},
    plugin "daemonize".spawn {},
    row_count { table = "items", equals = items:count(), name = "after the plugins" },
  },
}
