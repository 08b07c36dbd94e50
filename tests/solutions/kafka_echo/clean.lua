-- Valid orders of the input (one JSON object a line) whose id is not in the file arg[1], first
-- one per id, as "id<TAB>json" lines for kcat -K '\t'. arg[2] > 0 drops every arg[2]-th order
-- (the broken solution of the transcript).
local seen = {}
for id in io.lines(arg[1]) do seen[id] = true end
local drop, n = tonumber(arg[2]) or 0, 0
local PAT = '^{"id":(%d+),"amount":(%d+%.%d%d),"status":"([a-z]+)"}$'
for line in io.lines() do
  local id = line:match(PAT)
  if id and not seen[id] then
    seen[id] = true
    n = n + 1
    if drop <= 0 or n % drop ~= 0 then io.write(id, "\t", line, "\n") end
  end
end
