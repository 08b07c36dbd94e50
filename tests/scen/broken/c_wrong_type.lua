local d = dataset { rows = 10, columns = { { "id", "sequence" } } }
return scenario {
  name = "wrong_type", seed = "forty-two",
  datasets = { d = d },
}
