-- The one good scenario of the broken pack: check must still count it.
local d = dataset { rows = 10, key = "id", columns = { { "id", "sequence" }, { "v", "int", min = 1, max = 3 } } }
return scenario { name = "fine", datasets = { d = d }, checks = { unique { table = "d", column = "id" } } }
