-- A pack-local helper module: require "helpers.util" finds it inside the pack.
local M = {}
function M.name(s) return "revenue " .. s end
return M
