-- Time and bounded waits for the specs: the wall clock, waits that stop
-- when a condition holds or a budget is used up, and draining the
-- routines a test left queued.  Every loop here ends by itself.  Part of
-- spec/support/helpers.lua's union (the specs take it from there).
local wsarecv = require "wsarecv"

local M = {}

local function poll(pred, budget, alertable)
  for _ = 1, budget or 300 do
    if pred() then return true end
    wsarecv.SleepEx(10, alertable)
  end
  return pred() and true or false
end

-- Alertable waits of at most 10 ms each (routines may run) until pred()
-- holds or `budget` waits (default 300, about 3 s) are used up.  Returns
-- whether pred() held.
function M.wait_for(pred, budget) return poll(pred, budget, true) end

-- The same with non-alertable waits: I/O progresses, no routine runs.
function M.progress_until(pred, budget) return poll(pred, budget, false) end

-- wall clock in seconds (10 ms resolution); os.clock is CPU time.
-- Windows has no /proc: the module's monotonic clock there.
function M.now()
  local f = io.open("/proc/uptime")
  if not f then return wsarecv.now() end
  local t = f:read("n")
  f:close()
  return t
end

-- alertable waits until cond() holds, at most `limit` seconds (default 3)
-- of wall clock
function M.wait_until(cond, limit)
  local deadline = M.now() + (limit or 3)
  while not cond() do
    if M.now() > deadline then return false end
    wsarecv.SleepEx(10, true)
  end
  return true
end

-- alertable waits for `ms` milliseconds in total (routines may run)
function M.settle(ms)
  local deadline = M.now() + ms / 1000
  repeat wsarecv.SleepEx(10, true) until M.now() >= deadline
end

-- five SleepEx(0, true) calls: whatever routines a test left queued run
function M.quiesce()
  for _ = 1, 5 do wsarecv.SleepEx(0, true) end
end

-- Run queued routines without blocking: at most `rounds` (default 50)
-- SleepEx(0, true) calls, stopping at the first that runs none.  With
-- `protect`, an error a routine raises is swallowed and draining goes on;
-- without, it escapes.
function M.drain(rounds, protect)
  for _ = 1, rounds or 50 do
    local ok, r
    if protect then
      ok, r = pcall(wsarecv.SleepEx, 0, true)
    else
      ok, r = true, wsarecv.SleepEx(0, true)
    end
    if ok and r ~= "WAIT_IO_COMPLETION" then break end
  end
end

return M
