local d = dataset { rows = 1, columns = { { "id", "sequence" } } }
os.execute("touch hx_scen_pwned_exec.txt")
return scenario { name = "exec", datasets = { d = d } }
