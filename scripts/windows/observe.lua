-- Print how this Windows (Wine or real) behaves at the corners the
-- native backend must handle: scripts/windows/lua scripts/windows/observe.lua
local probe = require "probe"
print("wine: " .. tostring(probe.wine()))
local seen = probe.observe()
local names = {}
for k in pairs(seen) do names[#names + 1] = k end
table.sort(names)
for _, k in ipairs(names) do print(("%-30s %s"):format(k, seen[k])) end
