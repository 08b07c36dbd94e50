local f = io.open("hx_scen_pwned_io.txt", "w")
f:write("pwned")
return scenario { name = "iowrite", datasets = {} }
