-- wsarecv.async: coroutine tasks on overlapped receives (standalone:
-- async.run is the loop).  The adapters' specs run the same tasks under
-- luv and cqueues.
local wsarecv = require "wsarecv"
local async = require "wsarecv.async"
local H = require "spec.support.helpers"

local T = H.tracker()

after_each(function()
  T.cleanup(function() H.drain(50, true) end)
  -- a failed test may leave tasks behind: let them end on their aborts
  pcall(async.run)
end)

local function udp() return H.udp("inet", "127.0.0.1", { socket = T.socket }) end

describe("async", function()
  it("runs tasks on several sockets until each has ended", function()
    local chans, got = {}, {}
    for i = 1, 4 do
      chans[i] = udp()
      got[i] = {}
      async.spawn(function(ch, log)
        local buf = wsarecv.buffer(32)
        for _ = 1, 5 do
          local n, flags = async.recv(ch.rx, buf)
          assert(n, flags)
          log[#log + 1] = buf:sub(1, n)
        end
        return "done"
      end, chans[i], got[i])
    end
    async.spawn(function()                       -- the sender, a task too
      for k = 1, 5 do
        for i = 1, 4 do chans[i].send(("s%d-%d"):format(i, k)) end
        async.sleep(5)
      end
    end)
    assert.are.equal(5, async.count())
    async.run()
    assert.are.equal(0, async.count())
    for i = 1, 4 do
      assert.are.same({ ("s%d-1"):format(i), ("s%d-2"):format(i),
        ("s%d-3"):format(i), ("s%d-4"):format(i), ("s%d-5"):format(i) }, got[i])
    end
  end)

  it("passes spawn's arguments; tasks start in spawn order", function()
    local order = {}
    for i = 1, 3 do
      async.spawn(function(a, b) order[#order + 1] = a .. b end, i, "x")
    end
    async.run()
    assert.are.same({ "1x", "2x", "3x" }, order)
  end)

  it("recvmsg: the source address and the flags", function()
    local ch = udp()
    local result
    async.spawn(function()
      local msg = wsarecv.msg { buffers = wsarecv.buffer(4), control = 64 }
      local n, flags = async.recvmsg(ch.rx, msg)
      local a, b, c, d = async.recvmsg(ch.rx, msg)     -- too long
      result = { n, flags, msg:name(), a, b, c, d, msg.flags }
    end)
    async.spawn(function()
      ch.send("abc")
      ch.send("too long")
    end)
    async.run()
    assert.are.same({ 3, 0, "127.0.0.1", nil, "WSAEMSGSIZE", 10040, 4,
      wsarecv.MSG_TRUNC }, { result[1], result[2], result[3], result[4],
      result[5], result[6], result[7], result[8] })
  end)

  it("returns nil, name, code for a receive that fails to start", function()
    local ch = udp()
    ch.rx:close()
    local r
    async.spawn(function() r = H.pack(async.recv(ch.rx, wsarecv.buffer(4))) end)
    async.run()
    assert.are.same({ nil, "WSAENOTSOCK", 10038, n = 4 }, r)
  end)

  it("a receive aborted by close completes with WSA_OPERATION_ABORTED", function()
    local ch = udp()
    local r
    async.spawn(function() r = H.pack(async.recv(ch.rx, wsarecv.buffer(4))) end)
    async.spawn(function()
      async.sleep(10)
      ch.rx:close()
    end)
    async.run()
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, 0, n = 4 }, r)
  end)

  -- Deadlines are read from the clock inside async.sleep, so which of two
  -- sleeps is due first depends on how long the tasks between them ran: a
  -- loaded machine may rightly wake the 10 ms sleeper before the third
  -- sleep(0).  What never depends on it: each sleep's deadline lies between
  -- the clock read just before the call and the next read of any task (the
  -- call reads it and yields before another task runs), so the wake order
  -- must never contradict those bounds, and nobody wakes before its lower
  -- bound.
  it("sleep: tasks wake in deadline order; sleep(0) lets the others run", function()
    local open, sleeps, nwoke = {}, {}, 0
    local function clock()                 -- every read bounds open sleeps
      local t = wsarecv.now()
      for i = #open, 1, -1 do
        open[i].hi = t + open[i].ms / 1000
        open[i] = nil
      end
      return t
    end
    local function sleep(name, ms)
      local t = clock()
      local rec = { name = name, ms = ms, start = t, lo = t + ms / 1000 }
      sleeps[#sleeps + 1] = rec
      open[#open + 1] = rec
      async.sleep(ms)
      rec.woke_at = clock()
      nwoke = nwoke + 1
      rec.woke = nwoke
    end
    for _, ms in ipairs { 30, 10, 20 } do
      async.spawn(function() sleep(ms, ms) end)
    end
    async.spawn(function()
      for i = 1, 3 do sleep("y" .. i, 0) end
    end)
    async.run()
    assert.are.equal(6, nwoke)
    for _, a in ipairs(sleeps) do
      assert.is_true(a.woke_at >= a.lo, a.name .. " woke early")
      for _, b in ipairs(sleeps) do
        -- a woke first while b slept: b's deadline was not surely earlier
        if a.woke < b.woke and b.start < a.woke_at then
          assert.is_false(b.hi < a.lo, ("%s woke before %s, due earlier")
            :format(a.name, b.name))
        end
      end
    end
  end)

  it("sleep(0) lets each other due task run before the caller again", function()
    local order = {}
    for _, name in ipairs { "a", "b", "c" } do
      async.spawn(function()
        for i = 1, 3 do
          order[#order + 1] = name .. i
          async.sleep(0)
        end
      end)
    end
    async.run()
    assert.are.same({ "a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3" },
      order)
  end)

  it("an error in a task comes out of run with the task's traceback", function()
    local ch = udp()
    local function deep_in_the_task() error("task failed here") end
    async.spawn(function()
      async.recv(ch.rx, wsarecv.buffer(4))
      deep_in_the_task()
    end)
    async.spawn(function() ch.send("go") end)
    local ok, err = pcall(async.run)
    assert.is_false(ok)
    assert.matches("task failed here", err)
    assert.matches("deep_in_the_task", err)
    assert.are.equal(0, async.count())
  end)

  it("refuses calls outside a task, and from a routine, clearly", function()
    local ch = udp()
    assert.matches("not inside a task",
      H.raised(async.recv, ch.rx, wsarecv.buffer(4)))
    assert.matches("not inside a task", H.raised(async.sleep, 1))
    local err
    ch.rx:WSARecv(wsarecv.buffer(4), 0, nil, function()
      err = H.raised(async.recv, ch.rx, wsarecv.buffer(4))
    end)
    ch.send("x")
    assert.is_true(H.wait_for(function() return err ~= nil end))
    assert.matches("not inside a task", err)
    -- a task that enters an alertable wait runs routines on its own thread:
    -- a routine there cannot suspend the task
    local inner
    async.spawn(function()
      ch.rx:WSARecv(wsarecv.buffer(4), 0, nil, function()
        inner = H.raised(async.sleep, 1)
      end)
      ch.send("y")
      H.wait_for(function() return inner ~= nil end)
    end)
    async.run()
    assert.matches("cannot suspend here", inner)
    assert.matches("bad argument #1 to 'spawn'", H.raised(async.spawn, 42))
    assert.matches("bad argument #1 to 'sleep'", H.raised(async.sleep, -1))
  end)

  it("drops a task suspended by a foreign yield, with a clear error", function()
    async.spawn(function() coroutine.yield("mine") end)
    assert.matches("yielded outside wsarecv.async", H.raised(async.run))
    assert.are.equal(0, async.count())      -- nobody could resume it
  end)

  it("keeps a steady stream of receives free of allocation", function()
    local ch = udp()
    local N = 10000
    local done, kb
    local received
    async.spawn(function()
      local buf = wsarecv.buffer(64)
      local recv = async.recv
      for i = 1, N do
        if i == 1001 then
          collectgarbage("collect")
          collectgarbage("stop")
          kb = collectgarbage("count")
        end
        local n = recv(ch.rx, buf)
        if not n then error("receive failed") end
        received = i
      end
      kb = collectgarbage("count") - kb
      collectgarbage("restart")
      done = true
    end)
    received = 0
    async.spawn(function()
      -- bursts of 50, each once the previous is in (the kernel's buffer
      -- holds them all); a lost datagram ends the test by closing rx
      local tx, addr, port = ch.tx, ch.addr, ch.port
      local deadline = wsarecv.now() + 20
      for b = 1, N / 50 do
        for _ = 1, 50 do tx:sendto("0123456789", addr, port) end
        while received < b * 50 do
          if wsarecv.now() > deadline then ch.rx:close() return end
          async.sleep(0)
        end
      end
    end)
    async.run()
    collectgarbage("restart")
    assert.is_true(done)
    print(("[measure] async: %.1f KiB of Lua heap growth over %d receives "
      .. "(after 1000 to warm up)"):format(kb, N - 1000))
    assert.is_true(kb < 64, kb .. " KiB")
  end)
end)

-- issue 14 item 7: SleepEx takes at most 0xFFFFFFFE ms; a longer sleep
-- made async.run raise "SleepEx failed: WSAEINVAL".  A sleeper that never
-- wakes in the test's life stays a task, so each case runs in a child.
describe("async.sleep longer than one wait", function()
  local CHILD = 'local wsarecv = require "wsarecv"\nio.stdout:setvbuf("no")\n'
    .. H.CHILD_UDP .. [[
local async = require "wsarecv.async"
local rx, send = udp()
local got
local function receiver(after)
  async.spawn(function()
    local b = wsarecv.buffer(8)
    got = b:sub(1, assert(async.recv(rx, b)))
    after()
  end)
  async.spawn(function() async.sleep(20); send("data") end)
end
]]

  it("5e9 ms: run goes on waiting while other tasks work", function()
    local out, how, rc = H.run_child(CHILD .. [[
      async.spawn(function() async.sleep(5e9) end)
      receiver(function() error("the receiver's end") end)
      local ok, err = pcall(async.run)
      print("END", got, async.count(), (tostring(err):match("[^\n]*")))
    ]])
    H.assert_exit(out, how, rc, 0)
    assert.matches("^END\tdata\t1\t[^\n]*the receiver's end\n$", out)
  end)

  it("math.huge: run says the task waits for nothing that can come", function()
    local out, how, rc = H.run_child(CHILD .. [[
      async.spawn(function() async.sleep(math.huge) end)
      receiver(function() end)
      local ok, err = pcall(async.run)
      print("END", got, async.count(), wsarecv.timeout(), err)
    ]])
    H.assert_exit(out, how, rc, 0)
    assert.matches("^END\tdata\t1\tnil\t[^\n]*1 task%(s%) wait for nothing "
      .. "that can come", out)
  end)
end)

-- issue 16: async.cancel, async.timeout, coroutine.close on a task.  Only
-- the task's own operation ends (CancelIoEx on its overlapped object).
describe("async.cancel", function()
  it("ends a pending receive; the task goes on and receives", function()
    local ch = udp()
    local first, second, idle, done
    local rtask = async.spawn(function()
      local buf = wsarecv.buffer(8)
      first = H.pack(async.recv(ch.rx, buf))
      local n = assert(async.recv(ch.rx, buf))
      second = buf:sub(1, n)
    end)
    async.spawn(function()
      idle = async.cancel(async.spawn(function() end))  -- not started
      done = async.cancel(rtask)
      async.sleep(0)
      ch.send("after")
    end)
    async.run()
    assert.is_false(idle)
    assert.is_true(done)
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, 0, n = 4 }, first)
    assert.are.equal("after", second)
    assert.is_false(async.cancel(rtask))                 -- ended
  end)

  it("ends only that task's receive, not another's on the same socket",
     function()
    local ch = udp()
    local a, b
    local ta = async.spawn(function()
      a = H.pack(async.recv(ch.rx, wsarecv.buffer(8)))
    end)
    async.spawn(function()
      local buf = wsarecv.buffer(8)
      local n = assert(async.recv(ch.rx, buf))
      b = buf:sub(1, n)
    end)
    async.spawn(function()
      assert(async.cancel(ta))
      async.sleep(0)
      ch.send("kept")
    end)
    async.run()
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, 0, n = 4 }, a)
    assert.are.equal("kept", b)
  end)

  it("ends a sleep, even a sleep(math.huge)", function()
    local r
    local sleeper = async.spawn(function() r = H.pack(async.sleep(math.huge)) end)
    async.spawn(function() assert(async.cancel(sleeper)) end)
    async.run()
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 }, r)
    assert.are.equal(0, async.count())
  end)

  it("refuses a task that is not a thread", function()
    assert.matches("bad argument #1 to 'cancel'", H.raised(async.cancel, {}))
    assert.is_false(async.cancel(coroutine.create(function() end)))
  end)
end)

describe("async.timeout", function()
  it("a receive that does not come in time: WAIT_TIMEOUT, and only that "
     .. "receive ends", function()
    local ch, other = udp(), udp()
    local r, inner, later, kept
    async.spawn(function()
      local buf = wsarecv.buffer(8)
      r = H.pack(async.timeout(20, function()
        inner = H.pack(async.recv(ch.rx, buf))
        return "fn returned"
      end))
      other.send("other")
      ch.send("later")
      later = buf:sub(1, assert(async.recv(ch.rx, buf)))
    end)
    async.spawn(function()
      local buf = wsarecv.buffer(8)
      kept = buf:sub(1, assert(async.recv(other.rx, buf)))
    end)
    async.run()
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, 0, n = 4 }, inner)
    assert.are.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, r)
    assert.are.equal("later", later)
    assert.are.equal("other", kept)
  end)

  it("in time: returns what fn returned, all of it", function()
    local ch = udp()
    ch.send("early")
    local r, v
    async.spawn(function()
      local buf = wsarecv.buffer(8)
      r = H.pack(async.timeout(60000, async.recv, ch.rx, buf))
      v = H.pack(async.timeout(60000, function(a) return a, nil, 3 end, 1))
    end)
    async.run()
    assert.are.same({ 5, 0, n = 2 }, r)
    assert.are.same({ 1, nil, 3, n = 3 }, v)
  end)

  it("ends a sleep inside it", function()
    local r
    async.spawn(function() r = H.pack(async.timeout(10, async.sleep, math.huge)) end)
    async.run()
    assert.are.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, r)
  end)

  it("an error in fn comes out; its timer never fires later", function()
    local ch = udp()
    local caught, got
    async.spawn(function()
      caught = H.pack(pcall(async.timeout, 5, error, "boom", 0))
      local buf = wsarecv.buffer(8)
      got = H.pack(async.recv(ch.rx, buf))
    end)
    async.spawn(function()
      async.sleep(50)
      ch.send("data")
    end)
    async.run()
    assert.are.same({ false, "boom", n = 2 }, caught)
    assert.are.same({ 4, 0, n = 2 }, got)
  end)

  it("refuses bad arguments and calls outside a task", function()
    assert.matches("bad argument #1 to 'timeout'",
      H.raised(async.timeout, -1, print))
    assert.matches("bad argument #2 to 'timeout'",
      H.raised(async.timeout, 1, 42))
    assert.matches("not inside a task", H.raised(async.timeout, 1, print))
  end)
end)

describe("coroutine.close on a task", function()
  -- rounds of the tasks' loop, as an adapter runs them, at most n
  local function rounds(n, pred)
    for _ = 1, n do
      wsarecv.run("nowait")
      if pred() then return true end
    end
    return false
  end

  -- the old code kept the closed task counted and its receive pending, so
  -- async.run hung: the loop is driven a bounded number of rounds first
  it("cancels its receive; count() and run() forget it", function()
    local ch = udp()
    local started = false
    local task = async.spawn(function()
      started = true
      async.recv(ch.rx, wsarecv.buffer(8))
      error("a closed task must not resume")
    end)
    assert.is_true(rounds(20, function() return started end))
    assert.are.equal("suspended", coroutine.status(task))
    assert.is_true(coroutine.close(task))
    assert.are.equal(0, async.count())
    async.run()                              -- returns at once
    -- the cancelled receive's routine runs, and is ignored; the socket
    -- still receives
    H.drain(5)
    ch.send("still")
    local buf = wsarecv.buffer(8)
    assert.are.same({ n = 3, 0, 5, 0 }, H.pack(ch.rx:WSARecv(buf, 0)))
    assert.is_false(async.cancel(task))
  end)

  -- the old code's async.run hung here: a child, bounded by timeout
  it("async.run returns once the only other task was closed", function()
    local out, how, rc = H.run_child('local wsarecv = require "wsarecv"\n'
      .. H.CHILD_UDP .. [[
      local async = require "wsarecv.async"
      local rx = udp()
      local task = async.spawn(function()
        async.recv(rx, wsarecv.buffer(8))
        print("resumed")
      end)
      async.spawn(function() print("closed", coroutine.close(task)) end)
      async.run()
      print("END", async.count())
    ]], 10)
    H.assert_exit(out, how, rc, 0)
    assert.are.equal("closed\ttrue\nEND\t0\n", out:gsub("\r", ""))
  end)

  it("forgets a closed sleeper, and one closed before it started", function()
    local started = false
    local task = async.spawn(function()
      started = true
      async.sleep(math.huge)
    end)
    assert.is_true(rounds(20, function() return started end))
    assert.is_true(coroutine.close(task))
    assert.are.equal(0, async.count())
    assert.is_true(coroutine.close(async.spawn(function() end)))
    assert.is_true(rounds(20, function() return async.count() == 0 end))
    async.run()
  end)
end)
