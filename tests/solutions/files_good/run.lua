-- files_good: the reference solution of tests/packs/files. Reads every drop in
-- $HARNESS_INPUT_DIR/orders in name order (the order they arrived in), rejects the lines that
-- do not parse as an order, keeps the last version of each id, and writes into
-- $HARNESS_OUTPUT_DIR/out: orders.csv, orders.jsonl, rejects.csv and summary.jsonl. Each run
-- rebuilds everything from all drops so far, so running it after every drop is idempotent.
local IN = assert(os.getenv("HARNESS_INPUT_DIR"), "HARNESS_INPUT_DIR is not set")
local OUT = assert(os.getenv("HARNESS_OUTPUT_DIR"), "HARNESS_OUTPUT_DIR is not set")
local COLS = { "id", "customer", "amount", "status", "ts", "note" }
local NULL = {} -- an empty unquoted CSV field

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- RFC 4180 fields of one line (no newlines inside quotes in these drops), or nil and why.
local function split_csv(line)
  local fields, i, n = {}, 1, #line
  while true do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "unterminated quote" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      local c = line:sub(i, i)
      if c == "" then return fields end
      if c ~= "," then return nil, "text after a closing quote" end
      i = i + 1
    else
      local c = line:find(",", i, true)
      local f = line:sub(i, (c or n + 1) - 1)
      if f:find('"', 1, true) then return nil, "stray quote" end
      fields[#fields + 1] = f == "" and NULL or f
      if not c then return fields end
      i = c + 1
    end
  end
end

local INT = "^%-?%d+$"
local DEC = "^%-?%d+%.?%d*$"
local TS = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.?%d*Z$"
-- Per column: the pattern its text must match and whether it may be NULL.
local RULES = {
  id = { INT, false }, customer = { INT, true }, amount = { DEC, false },
  status = { nil, false }, ts = { TS, false }, note = { nil, true },
}

local function parse(line)
  local f, why = split_csv(line)
  if not f then return nil, why end
  if #f ~= #COLS then return nil, ("%d fields, expected %d"):format(#f, #COLS) end
  local rec = {}
  for k, name in ipairs(COLS) do
    local v, rule = f[k], RULES[name]
    if v == NULL then
      if not rule[2] then return nil, name .. " is empty" end
    else
      if not utf8.len(v) then return nil, name .. " is not UTF-8" end
      if rule[1] and not v:find(rule[1]) then return nil, name .. " is not of its type" end
    end
    rec[name] = v
  end
  return rec
end

local files = {}
local ls = io.popen("LC_ALL=C ls -1 " .. shq(IN .. "/orders") .. " 2>/dev/null")
for name in ls:lines() do
  if name:match("%.csv$") then files[#files + 1] = name end
end
ls:close()

local latest, rejects, lines = {}, {}, 0
for _, name in ipairs(files) do
  local fh = assert(io.open(IN .. "/orders/" .. name, "rb"))
  local ln = 0
  for line in fh:lines() do
    ln = ln + 1
    line = line:gsub("\r$", "")
    if ln == 1 then
      assert(line == table.concat(COLS, ","), name .. ": unexpected header " .. line)
    elseif line ~= "" then
      lines = lines + 1
      local rec, why = parse(line)
      if rec then
        latest[tonumber(rec.id)] = rec -- arrival order: a later line replaces an earlier one
      else
        rejects[#rejects + 1] = { name, ln, why }
      end
    end
  end
  fh:close()
end

local ids = {}
for id in pairs(latest) do ids[#ids + 1] = id end
table.sort(ids)

local function csv_field(v)
  if v == NULL or v == nil then return "" end
  if v == "" or v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function json_string(v)
  return '"' .. v:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local NUMERIC = { id = true, customer = true, amount = true }
local function json_value(name, v)
  if v == NULL then return "null" end
  return NUMERIC[name] and v or json_string(v)
end

-- Write path atomically: the checks must never see half a file.
local function write(path, chunks)
  local tmp = path .. ".tmp"
  local fh = assert(io.open(tmp, "wb"))
  assert(fh:write(table.concat(chunks)))
  assert(fh:close())
  assert(os.rename(tmp, path))
end

assert(os.execute("mkdir -p " .. shq(OUT .. "/out")))

local csv, jsonl = { table.concat(COLS, ","), "\n" }, {}
for _, id in ipairs(ids) do
  local rec, row, obj = latest[id], {}, {}
  for k, name in ipairs(COLS) do
    row[k] = csv_field(rec[name])
    obj[k] = json_string(name) .. ":" .. json_value(name, rec[name])
  end
  csv[#csv + 1] = table.concat(row, ",") .. "\n"
  jsonl[#jsonl + 1] = "{" .. table.concat(obj, ",") .. "}\n"
end
write(OUT .. "/out/orders.csv", csv)
write(OUT .. "/out/orders.jsonl", jsonl)

local rej = { "file,line,reason\n" }
for _, r in ipairs(rejects) do
  rej[#rej + 1] = ("%s,%d,%s\n"):format(csv_field(r[1]), r[2], csv_field(r[3]))
end
write(OUT .. "/out/rejects.csv", rej)

write(OUT .. "/out/summary.jsonl", {
  ('{"drops":%d,"lines":%d,"rejected":%d,"orders":%d}\n'):format(#files, lines, #rejects, #ids),
})
print(("files_good: %d drops, %d lines, %d rejected, %d orders"):format(#files, lines, #rejects,
                                                                         #ids))
