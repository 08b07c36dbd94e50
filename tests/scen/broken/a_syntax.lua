local x = dataset {
  rows = 10,
  columns = { { "id", "sequence" } }
return scenario { name = "syntax", datasets = { x = x } }
