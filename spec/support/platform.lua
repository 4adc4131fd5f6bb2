-- What this machine is, read without starting a process: Windows (or
-- Wine) or not, this process's pid, lo's interface index.  (Probes that
-- need a shell are in processes.lua.)  Part of spec/support/helpers.lua's
-- union (the specs take it from there).
local M = {}

-- running on Windows (or Wine)
M.windows = package.config:sub(1, 1) == "\\"

-- this process's pid as a string (nil if /proc is missing)
function M.pid()
  local f = io.open("/proc/self/stat")
  if not f then return nil end
  local pid = f:read("l"):match("^(%d+)")
  f:close()
  return pid
end

-- the interface index of lo (nil if /sys does not say)
function M.lo_ifindex()
  local f = io.open("/sys/class/net/lo/ifindex")
  if not f then return nil end
  local n = tonumber(f:read("l"))
  f:close()
  return n
end

return M
