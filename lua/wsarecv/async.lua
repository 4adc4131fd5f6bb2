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

-- -------------------------------------------------------------------------
-- Timers: a binary heap of tasks, ordered by (at, seq)
-- -------------------------------------------------------------------------

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

-- -------------------------------------------------------------------------
-- Running tasks
-- -------------------------------------------------------------------------

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

--- One `WSARecv`: the task waits for its completion.
-- @tparam socket sock the socket
-- @param buffers a WSABUF array (a buffer, or an array of buffers and
-- slices), as `WSARecv` takes it
-- @tparam[opt=0] int flags input flags
-- @treturn[1] int the bytes placed
-- @treturn[1] int the output flags
-- @return[2] nil
-- @treturn[2] string the WSA error name (`WSA_OPERATION_ABORTED` when the
-- socket was closed, `WSAEMSGSIZE`, ...; at once, `WSAENOTSOCK` and the
-- other failures of a receive that does not start)
-- @treturn[2] int its code
-- @treturn[2] int the bytes placed (not for a receive that did not start)
-- @raise outside a task, or where the task cannot suspend; a wrong type,
-- as `WSARecv`
function M.recv(sock, buffers, flags)
  local t = current("recv")
  return posted(sock:WSARecv(buffers, flags or 0, t.ov, routine))
end

--- One `WSARecvMsg`: the task waits for its completion; then
-- `msg:name()`, `msg:control()` and `msg.flags` describe the message.
-- @tparam socket sock the socket (datagram or raw)
-- @tparam msg msg the msg
-- @treturn[1] int the bytes placed
-- @treturn[1] int the output flags (also in `msg.flags`)
-- @return[2] nil
-- @treturn[2] string the WSA error name, as for `recv`
-- @treturn[2] int its code
-- @treturn[2] int the bytes placed (not for a receive that did not start)
-- @raise as `recv`
function M.recvmsg(sock, msg)
  local t = current("recvmsg")
  return posted(sock:WSARecvMsg(msg, t.ov, routine))
end

--- Suspend the task for `ms` milliseconds; `sleep(0)` lets the other due
-- tasks run first.  Any length works: one beyond what a single wait takes
-- (`SleepEx`'s 0xFFFFFFFE ms, about 49.7 days) is waited for in steps,
-- and `math.huge` is for ever.
-- @tparam number ms 0 or more (`math.huge` included)
-- @raise a negative or NaN `ms` (`bad argument #1 to 'sleep'`); outside a
-- task
function M.sleep(ms)
  if type(ms) ~= "number" or ms < 0 or ms ~= ms then
    error("bad argument #1 to 'sleep' (milliseconds >= 0 expected)", 2)
  end
  local t = current("sleep")
  t.at = now() + ms / 1000
  push(t)
  yield(WAIT)
end

--- Start a task: `fn(...)` runs in a new coroutine, from the next wait
-- that runs tasks (`async.run`, or `wsarecv.run` under an adapter), tasks
-- in spawn order.  Wakes an integrator asleep on `wsarecv.pollfd()`.
-- @tparam function fn the task's body (or a table with `__call`)
-- @param ... its arguments
-- @treturn thread the task's coroutine
-- @raise `fn` not callable (`bad argument #1 to 'spawn'`)
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

--- How many tasks have not ended.
-- @treturn int the count
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

-- Seconds until the first timer is due, or nil: none, or only
-- sleep(math.huge)s, which nothing but the end of time wakes.
local function timers_timeout()
  if nheap == 0 or heap[1].at == math.huge then return nil end
  local d = heap[1].at - now()
  return d > 0 and d or 0
end

wsarecv._add_source { timeout = timers_timeout, run = run_due }

-- SleepEx's timeout for d seconds: at most its longest finite one (a
-- longer sleep is waited for in such steps: run_due wakes nobody early).
local MAX_MS = 0xFFFFFFFE
local function sleep_ms(d)
  return math.min(math.ceil(d * 1000), MAX_MS)
end

--- Run wsarecv as the main loop (alertable `wsarecv.SleepEx`) until every
-- task has ended.  Under an adapter (wsarecv.luv, cqueues, `ws.select`)
-- do not call it: the adapter's `wsarecv.run("nowait")` runs the tasks.
-- @raise an error raised in a task, with the task's traceback (the other
-- tasks are not ended: `run` may be called again); `called inside a
-- task`; `N task(s) wait for nothing that can come` when no receive is
-- pending and no timer is set (a `sleep(math.huge)` sets none)
function M.run()
  if tasks[running()] then error("async.run: called inside a task", 2) end
  while ntasks > 0 do
    run_due()
    if ntasks == 0 then break end
    local d = timers_timeout()
    local r, name, code = wsarecv.SleepEx(d and sleep_ms(d), true)
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
