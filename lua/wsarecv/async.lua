--- wsarecv.async: coroutine tasks on overlapped receives.
--
--     local async = require "wsarecv.async"
--     async.spawn(function(sock)
--       local buf = wsarecv.buffer(1500)
--       while true do
--         local n, err = async.recv(sock, buf)
--         if not n then break end
--         print(buf:sub(1, n))
--       end
--     end, sock)
--     async.run()
--
-- Each call posts one overlapped operation with the task's own overlapped
-- object and a shared completion routine, then suspends the task; the
-- routine resumes it with the result.  So tasks run only where routines
-- run: in an alertable wait -- async.run() when wsarecv is the main loop,
-- or wsarecv.run("nowait") called by an adapter (wsarecv.luv, cqueues,
-- LuaSocket's select).  The same task code runs under all of them.  With
-- buffers and msgs reused, a receive allocates nothing but what the
-- coroutine switch may need.
--
-- Timers (async.sleep) are kept here, in a heap; wsarecv.timeout() and
-- wsarecv.run() include them.
--
-- @module wsarecv.async

local wsarecv = require "wsarecv"

local M = {}

local running, yield, resume, status =
  coroutine.running, coroutine.yield, coroutine.resume, coroutine.status
local isyieldable = coroutine.isyieldable
local errors, now = wsarecv.errors, wsarecv.now
local unpack = table.unpack

local WAIT = {}          -- what our own yields pass: any other is foreign
local tasks = {}         -- coroutine -> task { co, ov, at, seq, args }
local ntasks = 0

---------------------------------------------------------------------------
-- Timers: a binary heap of tasks, ordered by (at, seq)
---------------------------------------------------------------------------

local heap, nheap, seq = {}, 0, 0

local function before(a, b)
  return a.at < b.at or (a.at == b.at and a.seq < b.seq)
end

local function push(t)
  seq = seq + 1
  t.seq = seq
  nheap = nheap + 1
  local i = nheap
  while i > 1 do
    local parent = i // 2
    if not before(t, heap[parent]) then break end
    heap[i] = heap[parent]
    i = parent
  end
  heap[i] = t
end

local function pop()
  local top, last = heap[1], heap[nheap]
  heap[nheap] = nil
  nheap = nheap - 1
  local i = 1
  while true do
    local c = 2 * i
    if c > nheap then break end
    if c < nheap and before(heap[c + 1], heap[c]) then c = c + 1 end
    if not before(heap[c], last) then break end
    heap[i] = heap[c]
    i = c
  end
  if nheap > 0 then heap[i] = last end
  return top
end

---------------------------------------------------------------------------
-- Running tasks
---------------------------------------------------------------------------

-- After a resume: forget a finished task, raise a failed one's error with
-- the task's own traceback, refuse a yield that was not ours.
local function after(t, ok, what)
  if status(t.co) == "dead" then
    tasks[t.co] = nil
    ntasks = ntasks - 1
    if not ok then
      if type(what) == "string" then what = debug.traceback(t.co, what) end
      error(what, 0)
    end
  elseif what ~= WAIT then
    tasks[t.co] = nil            -- nobody can resume it: it is gone
    ntasks = ntasks - 1
    error("wsarecv.async: a task yielded outside wsarecv.async "
      .. "(coroutine.yield in a task suspends it forever)", 0)
  end
end

local function step(t, ...)
  return after(t, resume(t.co, ...))
end

-- The completion routine every task operation shares: resume the task.
local function routine(err, bytes, ov, flags)
  local t = ov.context
  if status(t.co) ~= "suspended" then
    error("wsarecv.async: a task's receive completed while the task runs "
      .. "(a task must not call an alertable wait itself)", 0)
  end
  step(t, err, bytes, flags)
end

-- The task calling f, or a clear error.
local function current(f)
  local t = tasks[running()]
  if t == nil then
    error("wsarecv.async." .. f .. ": not inside a task (start one with "
      .. "async.spawn)", 3)
  end
  if not isyieldable() then
    error("wsarecv.async." .. f .. ": the task cannot suspend here (inside "
      .. "a completion routine or a C function)", 3)
  end
  return t
end

-- The completion, as the call returns it.
local function result(err, bytes, flags)
  if err then return nil, err, errors[err], bytes end
  return bytes, flags
end

-- What the post returned: started (pending or done, the routine follows),
-- or failed to start (no routine will run).
local function posted(r, name, code, placed)
  if r == nil and code ~= 997 then return nil, name, code, placed end
  return result(yield(WAIT))
end

--- async.recv(sock, buffers [, flags]) -> bytes, flags | nil, name, code
-- [, bytes placed].  One WSARecv; the task waits for its completion.
function M.recv(sock, buffers, flags)
  local t = current("recv")
  return posted(sock:WSARecv(buffers, flags or 0, t.ov, routine))
end

--- async.recvmsg(sock, msg) -> bytes, flags | nil, name, code [, bytes].
-- One WSARecvMsg; msg holds the source and control messages after.
function M.recvmsg(sock, msg)
  local t = current("recvmsg")
  return posted(sock:WSARecvMsg(msg, t.ov, routine))
end

--- async.sleep(ms): suspend the task for ms milliseconds (0: let the
-- other due tasks run first).
function M.sleep(ms)
  if type(ms) ~= "number" or ms < 0 or ms ~= ms then
    error("bad argument #1 to 'sleep' (milliseconds >= 0 expected)", 2)
  end
  local t = current("sleep")
  t.at = now() + ms / 1000
  push(t)
  yield(WAIT)
end

--- async.spawn(fn, ...) -> the task's coroutine.  fn(...) starts at the
-- next alertable wait that runs tasks (async.run, or an adapter's run).
function M.spawn(fn, ...)
  local mt = getmetatable(fn)
  if type(fn) ~= "function" and not (mt and mt.__call) then
    error("bad argument #1 to 'spawn' (function expected)", 2)
  end
  local t = { co = coroutine.create(fn), ov = wsarecv.overlapped(),
              at = 0, args = table.pack(...) }
  t.ov.context = t
  tasks[t.co] = t
  ntasks = ntasks + 1
  push(t)
  wsarecv.wake()        -- an integrator asleep on pollfd() must notice
  return t.co
end

--- async.count() -> tasks not yet ended.
function M.count() return ntasks end

-- Resume the tasks whose time has come (not those a resumed task puts
-- back on the heap now: sleep(0) yields to the others, then runs).
local function run_due()
  if nheap == 0 then return ntasks > 0 end
  local t0, limit = now(), seq
  while nheap > 0 and heap[1].at <= t0 and heap[1].seq <= limit do
    local t = pop()
    local args = t.args
    if args then
      t.args = nil
      step(t, unpack(args, 1, args.n))
    else
      step(t)
    end
  end
  return ntasks > 0
end

local function timers_timeout()
  if nheap == 0 then return nil end
  local d = heap[1].at - now()
  return d > 0 and d or 0
end

wsarecv._add_source { timeout = timers_timeout, run = run_due }

--- async.run(): run wsarecv as the main loop until every task has ended.
-- An error in a task comes out of here, with the task's traceback.
function M.run()
  if tasks[running()] then error("async.run: called inside a task", 2) end
  while ntasks > 0 do
    run_due()
    if ntasks == 0 then break end
    local d = timers_timeout()
    local r, name, code = wsarecv.SleepEx(d and math.ceil(d * 1000), true)
    if r == nil then
      if name == "WSAEINVAL" and d == nil then
        error(("async.run: %d task(s) wait for nothing that can come "
          .. "(no receive pending, no timer)"):format(ntasks), 2)
      end
      error(("async.run: SleepEx failed: %s (%d)"):format(name, code), 2)
    end
  end
end

return M
