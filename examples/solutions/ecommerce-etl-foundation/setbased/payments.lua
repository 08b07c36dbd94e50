-- Turns one drop of payment events (JSONL, one flat JSON object a line) into CSV rows for
-- payments.sql: order_id, payment_status, paid_amount, paid_at, line. A line that is not such an
-- object, or lacks a valid order_id, status or time, goes to the second file with the reason.
-- Usage: lua5.4 payments.lua IN.jsonl EVENTS.csv BAD.csv
local input, events_path, bad_path = arg[1], arg[2], arg[3]
local inp = assert(io.open(input, "rb"))
local events = assert(io.open(events_path, "wb"))
local bad = assert(io.open(bad_path, "wb"))

-- The fields of a flat JSON object whose string values hold no quotes or backslashes (what this
-- feed sends); nil for anything else.
local function fields(line)
  if not line:match("^%s*{.*}%s*$") then return nil end
  local t = {}
  for k, v in line:gmatch('"([%w_]+)"%s*:%s*("?[^,"}]*"?)') do
    if v == "null" then v = nil else v = v:gsub('^"(.*)"$', "%1") end
    t[k] = v
  end
  return t
end

local lineno = 0
for line in inp:lines() do
  lineno = lineno + 1
  local t, reason = fields(line), nil
  if not t then
    reason = "not a JSON object"
  elseif not (t.order_id or ""):match("^%d+$") then
    reason = "bad order_id"
  elseif not (t.payment_status or ""):match("^%a+$") then
    reason = "bad payment_status"
  elseif t.paid_amount and not t.paid_amount:match("^%-?%d+%.?%d*$") then
    reason = "bad paid_amount"
  elseif not (t.paid_at or ""):match("^%d%d%d%d%-%d%d%-%d%dT[%d:%.]+Z$") then
    reason = "bad paid_at"
  end
  if reason then
    bad:write(lineno, ",", reason, "\n")
  else
    events:write(t.order_id, ",", t.payment_status, ",", t.paid_amount or "", ",", t.paid_at, ",",
                 lineno, "\n")
  end
end
inp:close(); events:close(); bad:close()
