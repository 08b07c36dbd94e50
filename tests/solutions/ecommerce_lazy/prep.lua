-- Validates one drop of orders and splits it into clean rows and quarantined lines.
-- Usage: lua5.4 prep.lua IN.csv BATCH CLEAN.csv QUARANTINE.csv
-- The header names the columns (they drift: amount became total_amount; new columns appear), so
-- fields are mapped by name. A line is quarantined when it is not valid UTF-8, has the wrong
-- number of fields, or a field does not parse as its type.
local input, batch, clean_path, quarantine_path = arg[1], arg[2], arg[3], arg[4]

local ALIASES = { total_amount = "amount" }
local WANT = { "order_id", "customer_id", "order_ts", "status", "channel", "amount" }

local function split(line)
  local out = {}
  for field in (line .. ","):gmatch("([^,]*),") do out[#out + 1] = field end
  return out
end

local function csv_quote(s)
  return '"' .. s:gsub('"', '""') .. '"'
end

local VALID = {
  order_id = function(v) return v:match("^%d+$") end,
  customer_id = function(v) return v == "" or v:match("^%d+$") end,
  order_ts = function(v) return v:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*Z$") end,
  status = function(v) return v:match("^[%a_]+$") end,
  channel = function(v) return v:match("^[%a_]+$") end,
  amount = function(v) return v:match("^%-?%d+%.?%d*$") end,
}

local inp = assert(io.open(input, "rb"))
local clean = assert(io.open(clean_path, "wb"))
local quarantine = assert(io.open(quarantine_path, "wb"))
local header = inp:read("l")
local index = {}
for i, name in ipairs(split(header or "")) do index[ALIASES[name] or name] = i end
local ncols = #split(header or "")

local lineno = 0
for line in inp:lines() do
  lineno = lineno + 1
  local reason
  if not utf8.len(line) then
    reason = "invalid utf-8"
  else
    local f = split(line)
    if #f ~= ncols then
      reason = string.format("%d fields, expected %d", #f, ncols)
    else
      local row = {}
      for _, col in ipairs(WANT) do
        local v = f[index[col]] or ""
        if not VALID[col](v) then reason = "bad " .. col; break end
        row[#row + 1] = v
      end
      if not reason then
        row[#row + 1] = batch
        row[#row + 1] = tostring(lineno)
        clean:write(table.concat(row, ","), "\n")
      end
    end
  end
  if reason then
    local id = line:match("^(%d+),") or ""
    quarantine:write(id, ",", csv_quote(reason), "\n")
  end
end
inp:close(); clean:close(); quarantine:close()
