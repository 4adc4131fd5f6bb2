-- Lifecycle: what pending operations keep alive, what the collector may
-- take, closing inside routines, and leaving the interpreter (os.exit,
-- end of script, errors escaping, lua_close) at any point.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local T = H.tracker()
local track = T.track

local assert_pending = H.assert_pending

local function full_gc()
  for _ = 1, 4 do collectgarbage("collect") end
end

local wait_for, progress_until = H.wait_for, H.progress_until

local function drain() H.drain(50, true) end

-- A sender socket (tracked) and a function sending to 127.0.0.1:port.
local function sender()
  local tx = H.bound(track(wsarecv.socket("inet", "dgram")), "127.0.0.1")
  return function(port, str)
    return assert(tx:sendto(str, "127.0.0.1", port))
  end
end

-- A bound UDP receiver that is NOT tracked (the test decides its fate).
local function untracked_rx()
  local rx, port = H.bound(wsarecv.socket("inet", "dgram"), "127.0.0.1")
  return rx, port
end

-- Child lua5.4 runs inherit the environment (LD_PRELOAD, ASAN_OPTIONS, ...).
local run_child = H.run_child

local CHILD = 'local wsarecv = require "wsarecv"\nio.stdout:setvbuf("no")\n'
  .. H.CHILD_UDP .. [[
local function settle()          -- let I/O progress, run no routine
  for _ = 1, 5 do wsarecv.SleepEx(5, false) end
end
]]

local assert_exit = H.assert_exit

after_each(function()
  T.cleanup(function()
    drain()
    full_gc()
  end)
end)

---------------------------------------------------------------------------
-- what pending operations keep alive
---------------------------------------------------------------------------

describe("pending operations keep alive", function()
  it("a socket referenced only through its pending operation: not "
    .. "collected, the operation completes, then it is collectable",
    function()
      local send = sender()
      local weak = setmetatable({}, { __mode = "v" })
      local b = wsarecv.buffer(16)
      local got
      local port
      do
        local rx
        rx, port = untracked_rx()
        weak.sock = rx
        assert_pending(rx:WSARecv(b, 0, nil,
          function(err, bytes, _, flags)
            got = { err = err, bytes = bytes, flags = flags }
          end))
      end
      full_gc()
      assert.is_not_nil(weak.sock)
      send(port, "still-here")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ bytes = 10, flags = 0 }, got)
      assert.equal("still-here", b:sub(1, 10))
      full_gc()
      assert.is_nil(weak.sock)
    end)

  it("an event-style operation keeps its object and socket alive until it "
    .. "completes", function()
      local send = sender()
      local weak = setmetatable({}, { __mode = "v" })
      local b = wsarecv.buffer(8)
      local port
      do
        local rx
        rx, port = untracked_rx()
        local ov = wsarecv.overlapped()
        weak.sock, weak.ov = rx, ov
        assert_pending(rx:WSARecv(b, 0, ov))
      end
      full_gc()
      assert.is_not_nil(weak.sock)
      assert.is_not_nil(weak.ov)
      assert.is_true(weak.ov.pending)
      send(port, "evt")
      assert.is_true(progress_until(function()
        return weak.ov and not weak.ov.pending
      end))
      assert.equal(3, weak.ov.bytes)
      assert.equal("evt", b:sub(1, 3))
      full_gc()
      assert.is_nil(weak.ov)
      assert.is_nil(weak.sock)
    end)

  it("buffers referenced only by a pending operation's array stay alive; "
    .. "the data lands in them; afterwards they are collectable", function()
      local send = sender()
      local rx, port = untracked_rx()
      track(rx)
      local weak = setmetatable({}, { __mode = "v" })
      local seen
      do
        local b1, b2, b3 = wsarecv.buffer(3), wsarecv.buffer(4),
                           wsarecv.buffer(10)
        weak[1], weak[2], weak[3] = b1, b2, b3
        -- an array of a buffer, a slice and a buffer; the table is dropped
        assert_pending(rx:WSARecv({ b1, { b2, 1, 2 }, b3 }, 0, nil,
          function(err, bytes)
            seen = {
              err = err, bytes = bytes,
              b1 = weak[1] and weak[1]:sub(),
              b2 = weak[2] and weak[2]:sub(),
              b3 = weak[3] and weak[3]:sub(1, 5),
            }
          end))
      end
      full_gc()
      assert.is_not_nil(weak[1])
      assert.is_not_nil(weak[2])
      assert.is_not_nil(weak[3])
      send(port, "abcdefghij")
      assert.is_true(wait_for(function() return seen ~= nil end))
      assert.same({ bytes = 10, b1 = "abc", b2 = "\0de\0", b3 = "fghij" },
        seen)
      full_gc()
      assert.is_nil(weak[1])
      assert.is_nil(weak[2])
      assert.is_nil(weak[3])
    end)

  it("a completed operation whose routine has not run keeps its socket "
    .. "alive until the routine ran", function()
      local send = sender()
      local weak = setmetatable({}, { __mode = "v" })
      local got
      local ovref = setmetatable({}, { __mode = "v" })
      local port
      do
        local rx
        rx, port = untracked_rx()
        weak.sock = rx
        local ov = wsarecv.overlapped()
        ovref[1] = ov
        assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov,
          function(_, bytes) got = bytes end))
      end
      send(port, "queued")
      assert.is_true(progress_until(function()
        return ovref[1] and not ovref[1].pending
      end))
      full_gc()
      assert.is_not_nil(weak.sock)
      assert.is_nil(got)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.equal(6, got)
      full_gc()
      assert.is_nil(weak.sock)
      assert.is_nil(ovref[1])
    end)

  it("closing and dropping a socket with pending operations: each routine "
    .. "runs once, aborted; everything is collectable", function()
      local weak = setmetatable({}, { __mode = "v" })
      local calls = {}
      do
        local rx = untracked_rx()
        weak.sock = rx
        for i = 1, 3 do
          local ov = wsarecv.overlapped()
          ov.context = i
          assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov,
            function(err, bytes, o)
              calls[#calls + 1] = { o.context, err, bytes }
            end))
        end
        assert.equal(0, rx:close())
      end
      full_gc()
      assert.is_true(wait_for(function() return #calls == 3 end))
      wsarecv.SleepEx(5, true)
      table.sort(calls, function(a, b) return a[1] < b[1] end)
      assert.same({ { 1, "WSA_OPERATION_ABORTED", 0 },
        { 2, "WSA_OPERATION_ABORTED", 0 },
        { 3, "WSA_OPERATION_ABORTED", 0 } }, calls)
      full_gc()
      assert.is_nil(weak.sock)
    end)

  it("closing inside a routine, then collecting: no crash, later waits "
    .. "work", function()
      local send = sender()
      local calls = {}
      local weak = setmetatable({}, { __mode = "v" })
      local port
      do
        local rx
        rx, port = untracked_rx()
        weak.sock = rx
        for i = 1, 3 do
          local ov = wsarecv.overlapped()
          ov.context = i
          assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov,
            function(err, bytes, o)
              calls[#calls + 1] = { o.context, err or "ok", bytes }
              if o.context == 1 then
                weak.sock:close()
                collectgarbage()
              end
            end))
        end
      end
      send(port, "one")
      assert.is_true(wait_for(function() return #calls == 3 end))
      wsarecv.SleepEx(5, true)
      table.sort(calls, function(a, b) return a[1] < b[1] end)
      assert.same({ { 1, "ok", 3 }, { 2, "WSA_OPERATION_ABORTED", 0 },
        { 3, "WSA_OPERATION_ABORTED", 0 } }, calls)
      full_gc()
      assert.is_nil(weak.sock)
      -- the module still works
      local rx2, port2 = untracked_rx()
      track(rx2)
      local got
      assert_pending(rx2:WSARecv(wsarecv.buffer(4), 0, nil,
        function(_, bytes) got = bytes end))
      send(port2, "ok")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.equal(2, got)
    end)

  it("the collector closes an unreachable socket (its descriptor is free "
    .. "again)", function()
      local fd
      do
        local s = untracked_rx()
        fd = s:fileno()
        assert.is_true(fd >= 0)
      end
      full_gc()
      -- the lowest free descriptor is handed out next
      local s2 = track(wsarecv.socket("inet", "dgram"))
      assert.equal(fd, s2:fileno())
    end)

  it("many sockets posted, closed, dropped: descriptors do not leak",
    function()
      local send = sender()
      full_gc()
      local probe = wsarecv.socket("inet", "dgram")
      local base = probe:fileno()
      probe:close()
      local delivered = 0
      for i = 1, 200 do
        local rx, port = untracked_rx()
        rx:WSARecv(wsarecv.buffer(4), 0, nil,
          function() delivered = delivered + 1 end)
        rx:WSARecv(wsarecv.buffer(4), 0, wsarecv.overlapped())
        if i % 2 == 0 then send(port, "x") end
        wsarecv.SleepEx(0, false)
        rx:close()
        if i % 50 == 0 then
          drain()
          full_gc()
        end
      end
      drain()
      full_gc()
      assert.equal(200, delivered)
      local probe2 = wsarecv.socket("inet", "dgram")
      local now = probe2:fileno()
      probe2:close()
      assert.is_true(now <= base + 2, ("fd went from %d to %d"):format(base,
        now))
    end)
end)

---------------------------------------------------------------------------
-- leaving the interpreter (child processes)
---------------------------------------------------------------------------

describe("leaving the interpreter", function()
  it("close sockets with operations outstanding, then end the script "
    .. "without running the loop", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local rx2 = udp()
        local n = 0
        send("done-at-once")
        settle()
        assert(rx:WSARecv(wsarecv.buffer(32), 0, nil,
          function() n = n + 1 end) == 0)
        for i = 1, 3 do
          rx:WSARecv(wsarecv.buffer(4), 0, nil, function() n = n + 1 end)
          rx2:WSARecv(wsarecv.buffer(4), 0, wsarecv.overlapped())
        end
        rx:close()
        rx2:close()
        print("END", n)
      ]])
      assert_exit(out, how, rc, 0)
      assert.equal("END\t0\n", out)
    end)

  for _, v in ipairs {
    { "os.exit(0, true)", "os.exit(0, true)", 0 },
    { "the end of the script", "", 0 },
    { "os.exit(3)", "os.exit(3)", 3 },
    { "os.exit(3, true)", "os.exit(3, true)", 3 },
  } do
    it("exit with operations pending: " .. v[1], function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local other = udp()
        local bufs = {}
        for i = 1, 4 do
          bufs[i] = wsarecv.buffer(8)
          rx:WSARecv(bufs[i], 0, nil, function() print("never") end)
        end
        other:WSARecv({ wsarecv.buffer(2), wsarecv.buffer(2) }, 0,
          wsarecv.overlapped())
        send("a")          -- completes one: its routine stays queued
        settle()
        print("END", rx:pending(), other:pending())
      ]] .. v[2] .. "\n")
      assert_exit(out, how, rc, v[3])
      assert.equal("END\t3\t1\n", out)
    end)
  end

  it("exit with operations pending on collected sockets and buffers",
    function()
      local out, how, rc = run_child(CHILD .. [[
        do
          local rx = udp()
          for i = 1, 3 do
            rx:WSARecv({ wsarecv.buffer(4), { wsarecv.buffer(8), 2, 4 } }, 0,
              nil, function() print("never") end)
          end
        end
        collectgarbage()
        collectgarbage()
        print("END")
        os.exit(0, true)
      ]])
      assert_exit(out, how, rc, 0)
      assert.equal("END\n", out)
    end)

  for _, v in ipairs {
    { "run()", "wsarecv.run()" },
    { "SleepEx", "wsarecv.SleepEx(2000, true)" },
    { "WSAWaitForMultipleEvents",
      "wsarecv.WSAWaitForMultipleEvents({ wsarecv.overlapped() }, false, "
      .. "2000, true)" },
  } do
    it("an error in a routine escaping to the top level (" .. v[1] .. ") "
      .. "exits with the message, not a crash", function()
        local out, how, rc = run_child(CHILD .. [[
          local rx, send = udp()
          local other = udp()
          other:WSARecv(wsarecv.buffer(4), 0, nil, function() end)
          rx:WSARecv(wsarecv.buffer(4), 0, nil, function()
            error("kaboom-in-routine-42")
          end)
          rx:WSARecv(wsarecv.buffer(4), 0, nil, function() end)
          send("go")
          settle()
          ]] .. v[2] .. [[

          print("NOT REACHED")
        ]])
        assert_exit(out, how, rc, 1)
        assert.truthy(out:find("kaboom-in-routine-42", 1, true), out)
        assert.is_nil(out:find("NOT REACHED", 1, true), out)
      end)
  end

  it("#linux lua_close inside a routine whose repost is waiting for the batch "
     .. "(exit code kept, nothing leaked)", function()
    local out, how, rc = run_child(CHILD .. [[
      local rx, send = udp()
      for i = 1, 5 do send("x" .. i) end
      settle()
      local n = 0
      local function rt(err, bytes, ov)
        n = n + 1
        -- a datagram repost inside a routine waits for the end-of-pass
        -- recvmmsg: the state closes while it is queued for that
        local r = table.pack(rx:WSARecv(wsarecv.buffer(8), 0, ov, rt))
        print("repost", r[2])
        if n == 2 then os.exit(7, true) end
      end
      for _ = 1, 3 do rx:WSARecv(wsarecv.buffer(8), 0, nil, rt) end
      wsarecv.run()
      print("NOT REACHED")
    ]])
    assert_exit(out, how, rc, 7)
    assert.equal("repost\tWSA_IO_PENDING\nrepost\tWSA_IO_PENDING\n", out)
  end)

  it("lua_close right after posting", function()
    local out, how, rc = run_child(CHILD .. [[
      local rx = udp()
      local ov = wsarecv.overlapped()
      rx:WSARecv(wsarecv.buffer(8), 0, ov, function() print("never") end)
      rx:WSARecv({ wsarecv.buffer(8) }, 0, wsarecv.overlapped())
      rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
      print("POSTED", rx:pending())
      os.exit(0, true)
    ]])
    assert_exit(out, how, rc, 0)
    assert.equal("POSTED\t3\n", out)
  end)

  it("lua_close after a routine was queued but not delivered", function()
    local out, how, rc = run_child(CHILD .. [[
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      rx:WSARecv(wsarecv.buffer(8), 0, ov, function() print("never") end)
      rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
      send("q")
      settle()
      print("QUEUED", ov.pending, ov.bytes, rx:pending())
      os.exit(0, true)
    ]])
    assert_exit(out, how, rc, 0)
    assert.equal("QUEUED\tfalse\t1\t1\n", out)
  end)

  it("lua_close inside a routine, with more routines queued and "
    .. "operations pending", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local rx2, send2 = udp()
        local function quit(err, bytes, ov)
          print("IN ROUTINE", bytes)
          os.exit(0, true)
        end
        rx:WSARecv(wsarecv.buffer(8), 0, nil, quit)
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
        rx2:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
        rx2:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())
        send("12345")
        send("second")
        settle()
        wsarecv.run()
        print("NOT REACHED")
      ]])
      assert_exit(out, how, rc, 0)
      assert.equal("IN ROUTINE\t5\n", out)
    end)

  it("lua_close inside a routine that closed its own socket", function()
    local out, how, rc = run_child(CHILD .. [[
      local rx, send = udp()
      local function quit(err, bytes, ov)
        rx:close()
        print("CLOSED", rx:pending())
        os.exit(0, true)
      end
      rx:WSARecv(wsarecv.buffer(8), 0, nil, quit)
      for i = 1, 3 do
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
      end
      send("x")
      wsarecv.SleepEx(2000, true)
      print("NOT REACHED")
    ]])
    assert_exit(out, how, rc, 0)
    assert.equal("CLOSED\t0\n", out)
  end)

  it("lua_close inside a routine run by a wait nested in another routine",
    function()
      local out, how, rc = run_child(CHILD .. [[
        local a, senda = udp()
        local b, sendb = udp()
        b:WSARecv(wsarecv.buffer(8), 0, nil, function()
          print("INNER")
          os.exit(0, true)
        end)
        a:WSARecv(wsarecv.buffer(8), 0, nil, function()
          print("OUTER")
          wsarecv.SleepEx(0, true)
          print("NOT REACHED")
        end)
        a:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
        senda("a1")
        senda("a2")
        settle()
        sendb("b1")
        settle()
        wsarecv.SleepEx(1000, true)
        print("NOT REACHED")
      ]])
      assert_exit(out, how, rc, 0)
      assert.equal("OUTER\nINNER\n", out)
    end)

  it("plain os.exit inside a routine keeps the exit code", function()
    local out, how, rc = run_child(CHILD .. [[
      local rx, send = udp()
      rx:WSARecv(wsarecv.buffer(8), 0, nil, function()
        print("BYE")
        os.exit(7)
      end)
      rx:WSARecv(wsarecv.buffer(8), 0, nil, function() end)
      send("x")
      wsarecv.run()
    ]])
    assert_exit(out, how, rc, 7)
    assert.equal("BYE\n", out)
  end)

  it("a routine error caught by pcall, then the script ends with "
    .. "operations still pending", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() error("caught-one") end)
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() print("never") end)
        send("x")
        local ok, msg = pcall(wsarecv.SleepEx, 2000, true)
        print(ok, msg:find("caught-one", 1, true) ~= nil, rx:pending())
      ]])
      assert_exit(out, how, rc, 0)
      assert.equal("false\ttrue\t2\n", out)
    end)

  it("calls made while the state closes, after the loop is gone, answer "
     .. "WSANOTINITIALISED instead of crashing", function()
    local out, how, rc = H.run_child([[
      local W
      -- created before require: finalized after wsarecv's context
      local g = setmetatable({}, { __gc = function()
        print("socket", select(2, W.socket("inet", "dgram")))
        print("SleepEx", select(2, W.SleepEx(0, true)))
        print("run", select(2, W.run()))
        print("wait", select(2, W.WSAWaitForMultipleEvents({ W.overlapped() }, false, 0, true)))
      end })
      W = require "wsarecv"
      local s = W.socket("inet", "dgram")
      assert(s:bind("127.0.0.1", 0) == 0)
    ]])
    H.assert_exit(out, how, rc, 0)
    assert.equal("socket\tWSANOTINITIALISED\t10093\n"
                 .. "SleepEx\tWSANOTINITIALISED\t10093\n"
                 .. "run\tWSANOTINITIALISED\t10093\n"
                 .. "wait\tWSANOTINITIALISED\t10093\n", out)
  end)
end)
