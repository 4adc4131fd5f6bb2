--- wsarecv.async: coroutine tasks on overlapped receives, sends, accepts
-- and connects.
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
-- buffers and msgs reused, a receive or a send allocates nothing but what
-- the coroutine switch may need.  No call blocks the process: a send waits
-- in its task until the kernel took every byte, an accept is an AcceptEx
-- on the listener, a connect a ConnectEx.
--
-- Timers (async.sleep, async.timeout) are kept here, in a heap;
-- wsarecv.timeout() and wsarecv.run() include them.  A task's pending
-- operation is ended with CancelIoEx on the task's own overlapped object
-- (async.cancel, async.timeout, coroutine.close), so no other operation on
-- the socket is touched.
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
-- coroutine -> task { co, ov, at, seq, hi, args, waiting, aborted,
-- timeouts, accepting }: `waiting` is the socket of its pending operation
-- (for an accept, the listener) or "sleep"; `timeouts` its innermost
-- async.timeout's timer; `accepting` the fresh socket of its accept
local tasks = {}
local ntasks = 0
local ABORTED, ABORTED_CODE = "WSA_OPERATION_ABORTED", 995

-- -------------------------------------------------------------------------
-- Timers: a binary heap of tasks (sleeping, or spawned) and of timeout
-- timers { task, at, seq, hi, outer, expired }, ordered by (at, seq);
-- each entry knows its index (hi) so a cancel can take it out.
-- -------------------------------------------------------------------------

local heap, nheap, seq = {}, 0, 0

local function before(a, b)
  return a.at < b.at or (a.at == b.at and a.seq < b.seq)
end

local function place(x, i)
  heap[i] = x
  x.hi = i
end

local function sift_up(x, i)
  while i > 1 do
    local parent = i // 2
    if not before(x, heap[parent]) then break end
    place(heap[parent], i)
    i = parent
  end
  place(x, i)
end

local function sift_down(x, i)
  while true do
    local c = 2 * i
    if c > nheap then break end
    if c < nheap and before(heap[c + 1], heap[c]) then c = c + 1 end
    if not before(heap[c], x) then break end
    place(heap[c], i)
    i = c
  end
  place(x, i)
end

local function push(x)
  seq = seq + 1
  x.seq = seq
  nheap = nheap + 1
  sift_up(x, nheap)
end

-- Take x out of the heap (it is in it: x.hi set).
local function remove(x)
  local i, last = x.hi, heap[nheap]
  heap[nheap] = nil
  nheap = nheap - 1
  x.hi = nil
  if last == x then return end
  if i > 1 and before(last, heap[i // 2]) then
    sift_up(last, i)
  else
    sift_down(last, i)
  end
end

local function pop()
  local top = heap[1]
  remove(top)
  return top
end

-- -------------------------------------------------------------------------
-- Running tasks
-- -------------------------------------------------------------------------

-- End what t waits on: its operation (CancelIoEx on its own object: the
-- routine then brings WSA_OPERATION_ABORTED) or its sleep (taken off the
-- heap; `wake` puts it back as due, to return the abort).  Whether there
-- was something to end: an operation already done is not.
local function end_wait(t, wake)
  local w = t.waiting
  if w == "sleep" then
    if t.hi then remove(t) end
    t.waiting = nil
    if wake then
      t.aborted = true
      t.at = now()
      push(t)
      wsarecv.wake()    -- an integrator asleep on pollfd() must notice
    end
    return true
  elseif w ~= nil then
    return w:CancelIoEx(t.ov) == 0
  end
  return false
end

-- Forget t (it ended, or was closed): what it waits on is ended, its
-- timers are taken off the heap.  Once only.
local function forget(t)
  if tasks[t.co] ~= t then return end
  tasks[t.co] = nil
  ntasks = ntasks - 1
  end_wait(t, false)
  if t.accepting then t.accepting:close() end  -- nobody takes it now
  if t.hi then remove(t) end              -- spawned, never started
  local rec = t.timeouts
  while rec do
    if rec.hi then remove(rec) end
    rec = rec.outer
  end
  t.timeouts = nil
end

-- A task's coroutine closes this (a to-be-closed variable of its body):
-- coroutine.close on a suspended task comes here too.
local TASK = { __close = function(t) forget(t) end }

-- After a resume: forget a finished task, raise a failed one's error with
-- the task's own traceback, refuse a yield that was not ours.
local function after(t, ok, what)
  if status(t.co) == "dead" then
    forget(t)
    if not ok then
      if type(what) == "string" then what = debug.traceback(t.co, what) end
      error(what, 0)
    end
  elseif what ~= WAIT then
    forget(t)                    -- nobody can resume it: it is gone
    error("wsarecv.async: a task yielded outside wsarecv.async "
      .. "(coroutine.yield in a task suspends it forever)", 0)
  end
end

local function step(t, ...)
  return after(t, resume(t.co, ...))
end

-- The completion routine every task operation shares: resume the task
-- (not one that was closed: its operation was cancelled, and ends here).
local function routine(err, bytes, ov, flags)
  local t = ov.context
  if tasks[t.co] ~= t then return end
  if status(t.co) ~= "suspended" then
    error("wsarecv.async: a task's operation completed while the task runs "
      .. "(a task must not call an alertable wait itself)", 0)
  end
  t.waiting = nil
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
local function posted(t, sock, r, name, code, placed)
  if r == nil and code ~= 997 then return nil, name, code, placed end
  t.waiting = sock
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
  return posted(t, sock, sock:WSARecv(buffers, flags or 0, t.ov, routine))
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
  return posted(t, sock, sock:WSARecvMsg(msg, t.ov, routine))
end

-- A send's completion, as the call returns it: the bytes (the output
-- flags of a send are always 0).
local function sent(err, bytes)
  if err then return nil, err, errors[err], bytes end
  return bytes
end

-- What the send's post returned, as `posted` does (a send that fails to
-- start sent nothing).
local function posted_send(t, sock, r, name, code)
  if r == nil and code ~= 997 then return nil, name, code end
  t.waiting = sock
  return sent(yield(WAIT))
end

--- One `WSASend`: the task waits until the kernel took every byte (a
-- stream) or the datagram went.  Other tasks run meanwhile; sends of
-- several tasks on one socket go out whole, in the order they were made.
-- @tparam socket sock the socket (connected)
-- @param buffers a string, a buffer, or an array of buffers and slices,
-- as `WSASend` takes them (kept unchanged until the call returns)
-- @tparam[opt=0] int flags `MSG_OOB` (stream), `MSG_DONTROUTE`
-- @treturn[1] int the bytes sent: all of them
-- @return[2] nil
-- @treturn[2] string the WSA error name (`WSA_OPERATION_ABORTED` when
-- cancelled, timed out or the socket was closed; `WSAECONNRESET`,
-- `WSAENOTCONN`, `WSAESHUTDOWN`, `WSAEMSGSIZE`, `WSAENOTSOCK`...)
-- @treturn[2] int its code
-- @treturn[2] int the bytes that left before the failure (a stream send
-- ended part way)
-- @raise outside a task, or where the task cannot suspend; a wrong type,
-- as `WSASend`
function M.send(sock, buffers, flags)
  local t = current("send")
  return posted_send(t, sock, sock:WSASend(buffers, flags or 0, t.ov, routine))
end

--- One `WSASendTo`: a datagram to an address (an unbound socket is bound
-- implicitly); the task waits until it went.
-- @tparam socket sock the socket
-- @param buffers as `send`'s
-- @tparam string addr the destination (a path on a unix socket)
-- @tparam[opt] int port 0..65535 (nil on a unix socket)
-- @tparam[opt=0] int flags `MSG_DONTROUTE`
-- @treturn[1] int the bytes sent
-- @return[2] nil
-- @treturn[2] string the WSA error name, as for `send` (also the address
-- failures of `bind`)
-- @treturn[2] int its code
-- @raise as `send`; a port out of range
function M.sendto(sock, buffers, addr, port, flags)
  local t = current("sendto")
  return posted_send(t, sock,
    sock:WSASendTo(buffers, flags or 0, addr, port, t.ov, routine))
end

--- One `WSASendMsg`: `msg.buffers` to `msg.to` (nil: the connected peer)
-- with the control messages `msg.control` was set to; the task waits
-- until it went.
-- @tparam socket sock the socket (datagram or raw)
-- @tparam msg msg the msg (not changed)
-- @tparam[opt=0] int flags `MSG_DONTROUTE`
-- @treturn[1] int the bytes sent
-- @return[2] nil
-- @treturn[2] string the WSA error name, as for `send` (a stream socket
-- fails at once, as `WSASendMsg` does)
-- @treturn[2] int its code
-- @raise as `send`
function M.sendmsg(sock, msg, flags)
  local t = current("sendmsg")
  return posted_send(t, sock, sock:WSASendMsg(msg, flags or 0, t.ov, routine))
end

-- sock's family and type names, as wsarecv.socket takes them (tostring
-- says them, open or closed), or a bad-argument error.
local function kind(sock, i, f)
  local mt = getmetatable(sock)
  if type(sock) ~= "userdata" or type(mt) ~= "table"
      or mt.__name ~= "wsarecv.socket" then
    error(("bad argument #%d to '%s' (wsarecv.socket expected, got %s)")
      :format(i, f, type(sock)), 3)
  end
  return tostring(sock):match("^wsarecv%.socket %((%w+)/(%w+)")
end

--- Accept the next connection: an `AcceptEx` on the listener into a
-- fresh socket of the listener's family and type, made here.  The
-- operation belongs to the listener: `async.timeout` and `async.cancel`
-- end it with `CancelIoEx` on the listener (that accept only), and the
-- fresh socket is closed.
-- @tparam socket listener a listening stream socket
-- @treturn[1] socket the connection
-- @treturn[1] string the peer's address
-- @treturn[1] int|nil the peer's port (nil on a unix socket)
-- @return[2] nil
-- @treturn[2] string the WSA error name (`WSA_OPERATION_ABORTED` when
-- cancelled, timed out or the listener was closed; `WSAEINVAL` when not
-- listening, `WSAEOPNOTSUPP` for a datagram socket, `WSAENOTSOCK` for a
-- closed one, what `wsarecv.socket` fails with)
-- @treturn[2] int its code
-- @raise outside a task, or where the task cannot suspend; `listener`
-- not a socket (`bad argument #1 to 'accept'`)
function M.accept(listener)
  local family, stype = kind(listener, 1, "accept")
  local t = current("accept")
  if family == nil then return nil, "WSAENOTSOCK", errors.WSAENOTSOCK end
  local sock, name, code = wsarecv.socket(family, stype)
  if sock == nil then return nil, name, code end
  t.accepting = sock             -- closed if the task is closed meanwhile
  local ok
  ok, name, code = posted(t, listener, listener:AcceptEx(sock, nil, t.ov,
                                                         routine))
  t.accepting = nil
  if ok == nil then
    sock:close()
    return nil, name, code
  end
  return sock, sock:getpeername()
end

--- Connect: a `ConnectEx`, after binding an unbound socket to any address
-- (ConnectEx needs a bound socket), then `buffers` sent once connected.
-- `async.timeout` and `async.cancel` end the ConnectEx (the socket is
-- then best closed: its state is undefined, as on Windows).
-- @tparam socket sock a stream socket, not connected
-- @tparam string addr the peer (a path on a unix socket)
-- @tparam[opt] int port 0..65535 (nil on a unix socket)
-- @param[opt] buffers data to send once connected (as `send`'s)
-- @treturn[1] int 0: connected
-- @treturn[1] int the bytes of `buffers` sent
-- @return[2] nil
-- @treturn[2] string the WSA error name (`WSAECONNREFUSED`,
-- `WSAETIMEDOUT`, `WSAENETUNREACH`, `WSA_OPERATION_ABORTED` when
-- cancelled or timed out, `WSAEISCONN`, `WSAEALREADY`, the failures of
-- `bind` and of the address)
-- @treturn[2] int its code
-- @raise outside a task, or where the task cannot suspend; a wrong type
-- (`bad argument #1 to 'connect'`, or as `ConnectEx`); a port out of range
function M.connect(sock, addr, port, buffers)
  local family = kind(sock, 1, "connect")
  local t = current("connect")
  if family == "inet" or family == "inet6" then
    local a, p = sock:getsockname()
    if a == nil or p == 0 then
      local r, name, code = sock:bind("*", 0)
      if r == nil then return nil, name, code end
    end
  end
  local n, name, code = posted(t, sock, sock:ConnectEx(addr, port, buffers,
                                                       t.ov, routine))
  if n == nil then return nil, name, code end
  return 0, n
end

--- Suspend the task for `ms` milliseconds; `sleep(0)` lets the other due
-- tasks run first.  Any length works: one beyond what a single wait takes
-- (`SleepEx`'s 0xFFFFFFFE ms, about 49.7 days) is waited for in steps,
-- and `math.huge` is for ever.  `async.cancel` and `async.timeout` end it
-- early.
-- @tparam number ms 0 or more (`math.huge` included)
-- @treturn[1] int 0: the time has passed
-- @return[2] nil
-- @treturn[2] string `WSA_OPERATION_ABORTED`: ended by `async.cancel` or
-- `async.timeout`
-- @treturn[2] int 995
-- @raise a negative or NaN `ms` (`bad argument #1 to 'sleep'`); outside a
-- task
function M.sleep(ms)
  if type(ms) ~= "number" or ms < 0 or ms ~= ms then
    error("bad argument #1 to 'sleep' (milliseconds >= 0 expected)", 2)
  end
  local t = current("sleep")
  t.at = now() + ms / 1000
  push(t)
  t.waiting = "sleep"
  yield(WAIT)
  t.waiting = nil
  if t.aborted then
    t.aborted = nil
    return nil, ABORTED, ABORTED_CODE
  end
  return 0
end

--- End a task's pending operation (a receive, a send, an accept, a
-- connect, or its sleep): the task's call returns
-- `nil, "WSA_OPERATION_ABORTED", 995` and the task goes on.  Only that
-- operation ends (`CancelIoEx` on the task's own overlapped object, on the
-- listener for an accept); one that has already completed keeps its
-- result.  A stream send ended part way says how much left (its fourth
-- result).
-- @tparam thread task a task, as `spawn` returned it
-- @treturn boolean whether there was something to end (false for a task
-- not waiting, not started, ended, or not a task)
-- @raise `task` not a thread (`bad argument #1 to 'cancel'`)
function M.cancel(task)
  if type(task) ~= "thread" then
    error("bad argument #1 to 'cancel' (thread expected)", 2)
  end
  local t = tasks[task]
  if t == nil then return false end
  return end_wait(t, true)
end

-- A timeout's timer is due: end what its task waits on.  An operation
-- already done (its routine not yet run) cannot be ended: the timer tries
-- again at the next round, when the task waits on its next one or has
-- left the timeout.
local function fire(rec)
  local t = rec.task
  if tasks[t.co] ~= t then return end
  if end_wait(t, true) then
    rec.expired = true
  else
    rec.at = now()
    push(rec)
  end
end

--- Run `fn(...)` in the calling task with a time limit.  If it has not
-- returned after `ms`, the operation it waits on (that one only: a
-- receive, a send, the AcceptEx of an accept, the ConnectEx of a connect,
-- or a sleep) is ended: that call returns
-- `nil, "WSA_OPERATION_ABORTED", 995`, and once `fn` returns, `timeout`
-- returns `nil, "WAIT_TIMEOUT", 258`.  `fn` should return on such an
-- error: what it waits on after it has no limit left.  Timeouts nest.
-- @tparam number ms 0 or more (`math.huge`: no limit)
-- @tparam function fn the function (or a table with `__call`)
-- @param ... its arguments
-- @return[1] what `fn` returned, in time
-- @return[2] nil
-- @treturn[2] string `WAIT_TIMEOUT`
-- @treturn[2] int 258
-- @raise a negative or NaN `ms` or `fn` not callable
-- (`bad argument #1/#2 to 'timeout'`); outside a task; an error `fn`
-- raised (the timer ended first)
function M.timeout(ms, fn, ...)
  if type(ms) ~= "number" or ms < 0 or ms ~= ms then
    error("bad argument #1 to 'timeout' (milliseconds >= 0 expected)", 2)
  end
  local mt = getmetatable(fn)
  if type(fn) ~= "function" and not (mt and mt.__call) then
    error("bad argument #2 to 'timeout' (function expected)", 2)
  end
  local t = current("timeout")
  local rec = { task = t, at = now() + ms / 1000, outer = t.timeouts }
  t.timeouts = rec
  push(rec)
  local r = table.pack(pcall(fn, ...))
  t.timeouts = rec.outer
  if rec.hi then remove(rec) end
  if not r[1] then error(r[2], 0) end
  if rec.expired then return nil, "WAIT_TIMEOUT", 258 end
  return unpack(r, 2, r.n)
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
  local t = setmetatable({ ov = wsarecv.overlapped(), at = 0,
                           args = table.pack(...) }, TASK)
  t.co = coroutine.create(function(...)
    local _ <close> = t         -- forgets the task however its body ends
    return fn(...)
  end)
  t.ov.context = t
  tasks[t.co] = t
  ntasks = ntasks + 1
  push(t)
  wsarecv.wake()        -- an integrator asleep on pollfd() must notice
  return t.co
end

--- How many tasks have not ended (a task closed with `coroutine.close`
-- has ended: its operation was cancelled).
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
    if t.co == nil then
      fire(t)                    -- a timeout's timer
    elseif status(t.co) == "dead" then
      forget(t)                  -- closed before it started
    elseif args then
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
-- task`; `N task(s) wait for nothing that can come` when no operation is
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
          .. "(no operation pending, no timer)"):format(ntasks), 2)
      end
      error(("async.run: SleepEx failed: %s (%d)"):format(name, code), 2)
    end
  end
end

return M
