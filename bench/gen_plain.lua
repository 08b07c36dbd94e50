-- The peer of `harness gen` in bench/gen_bench.sh: plain Lua 5.4 writing the same orders shape
-- (order_id, customer_id, order_ts, status, channel, amount) with the same kinds of faults,
-- using string.format, buffered like a careful Lua programmer would.
local n = tonumber(arg[1]) or 2000000
local customers = 100000
local statuses = { "placed", "paid", "shipped", "delivered", "cancelled" }
local scum = { 0.10, 0.35, 0.60, 0.95, 1.0 }
local channels = { "web", "app", "marketplace" }
local ccum = { 0.55, 0.90, 1.0 }
local start = 1767571200            -- 2026-01-05T00:00:00Z
local step = 7 * 86400 / n
local out = io.stdout
local buf, k = {}, 0
local function pick(vals, cum)
  local u = math.random()
  for i = 1, #cum do if u < cum[i] then return vals[i] end end
  return vals[#vals]
end
local function line(i)
  local cust = math.random() < 0.01 and "" or tostring(math.floor(customers * math.random() ^ 2) + 1)
  local t = start + i * step + math.random() * 20
  if math.random() < 0.05 then t = t - 172800 end
  local sec = math.floor(t)
  local amount = math.exp(3.6 + 0.75 * math.sqrt(-2 * math.log(math.random())) * math.cos(2 * math.pi * math.random()))
  local s = string.format("%d,%s,%s.%06dZ,%s,%s,%.2f\n", i + 1, cust,
    os.date("!%Y-%m-%dT%H:%M:%S", sec), math.floor((t - sec) * 1e6),
    pick(statuses, scum), pick(channels, ccum), amount)
  if math.random() < 0.005 then s = s:sub(1, #s // 2) .. "\n" end
  return s
end
out:write("order_id,customer_id,order_ts,status,channel,amount\n")
for i = 0, n - 1 do
  local s = line(i)
  k = k + 1; buf[k] = s
  if math.random() < 0.02 then k = k + 1; buf[k] = s end
  if k >= 1000 then out:write(table.concat(buf, "", 1, k)); k = 0 end
end
out:write(table.concat(buf, "", 1, k))
