-- Alertable waits (the SleepEx and WSAWaitForMultipleEvents pages,
-- fAlertable; wsarecv.run): when routines run and what the waits return,
-- INFINITE and timeouts out of range.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local C = require "spec.support.completion"(after_each)
local udp, CHILD, assert_clean_exit = C.udp, C.CHILD, C.assert_clean_exit

local pack, assert_pending = H.pack, H.assert_pending
local wait_for, progress_until = H.wait_for, H.progress_until
local run_child = H.run_child

---------------------------------------------------------------------------
-- alertable waits
---------------------------------------------------------------------------

describe("alertable waits", function()
  it("SleepEx(ms, false) lets I/O progress but runs no routine; "
    .. "SleepEx(0, true) then runs it", function()
      local rx, send = udp()
      local b = wsarecv.buffer(16)
      local ov = wsarecv.overlapped()
      local calls = {}
      assert_pending(rx:WSARecv(b, 0, ov, function(...)
        calls[#calls + 1] = pack(...)
      end))
      assert.is_true(ov.pending)
      assert.is_nil(ov.bytes)
      assert.is_nil(ov.flags)
      send("hello")
      assert.is_true(progress_until(function() return not ov.pending end))
      assert.equal(0, wsarecv.SleepEx(20, false))
      assert.is_false(ov.pending)
      assert.equal(5, ov.bytes)
      assert.equal(0, ov.flags)
      assert.is_nil(ov.error)
      assert.equal("hello", b:sub(1, 5))
      assert.equal(0, #calls)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.equal(1, #calls)
      assert.same({ nil, 5, ov, 0, n = 4 }, calls[1])
      assert.equal(0, wsarecv.SleepEx(0, true))
      assert.equal(1, #calls)
    end)

  it("SleepEx returns 0 on timeout", function()
    assert.equal(0, wsarecv.SleepEx(0, true))
    assert.equal(0, wsarecv.SleepEx(5, true))
    assert.equal(0, wsarecv.SleepEx(5, false))
    local rx = udp()
    local ran = false
    assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, nil,
      function() ran = true end))
    assert.equal(0, wsarecv.SleepEx(20, true))
    assert.equal(0, wsarecv.SleepEx(5, false))
    assert.is_false(ran)
    assert.equal(1, rx:pending())
  end)

  it("an immediately completed overlapped operation returns 0, bytes, "
    .. "flags and its routine still runs exactly once later", function()
      local rx, send = udp()
      send("now!")
      wsarecv.SleepEx(5, false)
      local b = wsarecv.buffer(8)
      local ov = wsarecv.overlapped()
      local calls = {}
      local r = pack(rx:WSARecv(b, 0, ov, function(...)
        calls[#calls + 1] = pack(...)
      end))
      assert.same({ 0, 4, 0, n = 3 }, r)
      assert.equal("now!", b:sub(1, 4))
      assert.is_false(ov.pending)
      assert.equal(4, ov.bytes)
      assert.equal(0, #calls)           -- not before an alertable wait
      assert.equal(0, wsarecv.SleepEx(0, false))
      assert.equal(0, #calls)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ { nil, 4, ov, 0, n = 4 } }, calls)
      for _ = 1, 3 do wsarecv.SleepEx(5, true) end
      assert.equal(1, #calls)
    end)

  it("a routine without an overlapped object gets a fresh one", function()
    local rx, send = udp()
    local seen = {}
    local function rt(err, bytes, ov, flags)
      seen[#seen + 1] = { err = err, bytes = bytes, ov = ov, flags = flags }
    end
    local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
    assert_pending(rx:WSARecv(b1, 0, nil, rt))
    assert_pending(rx:WSARecv(b2, 0, nil, rt))
    send("aa")
    send("bbb")
    assert.is_true(wait_for(function() return #seen == 2 end))
    for _, s in ipairs(seen) do
      assert.truthy(tostring(s.ov):find("wsarecv.overlapped", 1, true))
      assert.is_false(s.ov.pending)
      assert.equal(s.bytes, s.ov.bytes)
      assert.is_nil(s.err)
    end
    assert.are_not.equal(seen[1].ov, seen[2].ov)
    table.sort(seen, function(x, y) return x.bytes < y.bytes end)
    assert.equal(2, seen[1].bytes)
    assert.equal(3, seen[2].bytes)
    assert.equal("aa", b1:sub(1, 2))
    assert.equal("bbb", b2:sub(1, 3))
  end)

  it("#linux routines queued while a delivery pass runs wait for the next "
    .. "alertable wait", function()
      local rx, send = udp()
      for i = 1, 3 do send("d" .. i) end
      wsarecv.SleepEx(5, false)
      local b = wsarecv.buffer(8)
      local got = {}
      local function rt(_, bytes, ov)
        got[#got + 1] = b:sub(1, bytes)
        if #got < 3 then
          -- the data is there, but a datagram repost made inside a routine
          -- is queued without a syscall and served by one recvmmsg when
          -- the delivery pass ends: pending now, its routine runs later
          local r = pack(rx:WSARecv(b, 0, ov, rt))
          assert(r[1] == nil and r[2] == "WSA_IO_PENDING",
                 "expected WSA_IO_PENDING, got " .. tostring(r[2]))
        end
      end
      assert.same({ 0, 2, 0, n = 3 }, pack(rx:WSARecv(b, 0, nil, rt)))
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ "d1" }, got)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ "d1", "d2" }, got)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ "d1", "d2", "d3" }, got)
      assert.equal(0, wsarecv.SleepEx(0, true))
    end)

  it("run('nowait') and run('once') report whether anything is outstanding",
    function()
      local rx, send = udp()
      local n = 0
      local ov = wsarecv.overlapped()
      assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov,
        function() n = n + 1 end))
      assert.is_true(wsarecv.run("nowait"))
      assert.equal(0, n)
      send("x")
      assert.is_true(progress_until(function() return not ov.pending end))
      assert.equal(0, n)
      assert.is_false(wsarecv.run("once"))
      assert.equal(1, n)
      assert.is_false(wsarecv.run("nowait"))
      assert.equal(1, n)
    end)

  it("run() delivers routines that became ready before it blocks for other "
     .. "I/O", function()
    local out, how, rc = H.run_child([[
      local wsarecv = require "wsarecv"
      local l = wsarecv.socket("inet", "stream")
      assert(l:bind("127.0.0.1", 0) == 0); assert(l:listen() == 0)
      local _, p = l:getsockname()
      local c = wsarecv.socket("inet", "stream")
      assert(c:connect("127.0.0.1", p) == 0)
      local a = l:accept()
      assert(c:send("abc") == 3)
      local u = wsarecv.socket("inet", "dgram")
      assert(u:bind("127.0.0.1", 0) == 0)
      local _, up = u:getsockname()
      -- u completes only when the TCP routines have all run: if run()
      -- blocked with one of them ready, it would wait forever
      u:WSARecv(wsarecv.buffer(4), 0, nil, function() print("udp") end)
      local b, n = wsarecv.buffer(1), 0
      local function rt(err, bytes, ov)
        n = n + 1
        print("tcp", b:sub(1, bytes))
        if n < 3 then a:WSARecv(b, 0, ov, rt)
        else wsarecv.socket("inet", "dgram"):sendto("go", "127.0.0.1", up) end
      end
      a:WSARecv(b, 0, nil, rt)
      wsarecv.run()
      print("done")
    ]], 5)
    H.assert_exit(out, how, rc, 0)
    assert.equal("tcp\ta\ntcp\tb\ntcp\tc\nudp\ndone\n", out)
  end)
end)

---------------------------------------------------------------------------
-- infinite waits (in a child: a wrong answer would block forever)
---------------------------------------------------------------------------

describe("infinite waits", function()
  it("SleepEx(INFINITE, true) with nothing pending gives WSAEINVAL",
    function()
      local out, how, rc = run_child(CHILD .. [[
        show(wsarecv.SleepEx(nil, true))
        show(wsarecv.SleepEx(-1, true))
        show(wsarecv.SleepEx(wsarecv.INFINITE, true))
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil WSAEINVAL 10022\nnil WSAEINVAL 10022\n"
        .. "nil WSAEINVAL 10022\n", out)
    end)

  it("SleepEx(INFINITE, true) returns WAIT_IO_COMPLETION once a pending "
    .. "operation's routine ran", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local n = 0
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
        send("x")
        show(wsarecv.SleepEx(nil, true), n)
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("WAIT_IO_COMPLETION 1\n", out)
    end)

  it("WSAWaitForMultipleEvents(INFINITE) on objects that can never be "
    .. "signalled gives WSAEINVAL", function()
      local out, how, rc = run_child(CHILD .. [[
        local a, b = wsarecv.overlapped(), wsarecv.overlapped()
        show(wsarecv.WSAWaitForMultipleEvents({ a, b }, false, nil, false))
        show(wsarecv.WSAWaitForMultipleEvents({ a }, true, nil, true))
        local rx, send = udp()
        local ov = wsarecv.overlapped()
        rx:WSARecv(wsarecv.buffer(8), 0, ov)
        send("y")
        show(wsarecv.WSAWaitForMultipleEvents({ a, ov }, false, nil, false))
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil WSAEINVAL 10022\nnil WSAEINVAL 10022\n2\n", out)
    end)

  it("a timeout longer than a DWORD holds gives WSAEINVAL without "
    .. "waiting; 0xFFFFFFFF is INFINITE; 0xFFFFFFFE is a timeout", function()
      local out, how, rc = run_child(CHILD .. [[
        show(wsarecv.SleepEx(2^62, true))
        show(wsarecv.SleepEx(0x100000000, false))
        show(wsarecv.SleepEx(math.maxinteger, true))
        show(wsarecv.SleepEx(math.huge, true))
        show(wsarecv.SleepEx(0xFFFFFFFF, true))   -- INFINITE, nothing to wait for
        local a = wsarecv.overlapped()
        show(wsarecv.WSAWaitForMultipleEvents({ a }, false, 2^40, true))
        show(wsarecv.WSAWaitForMultipleEvents(a, true, 0x100000000, false))
        -- the longest finite timeouts are accepted and end at the completion
        local rx, send = udp()
        local n = 0
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
        send("x")
        show(wsarecv.SleepEx(0xFFFFFFFE, true), n)
        local ov = wsarecv.overlapped()
        rx:WSARecv(wsarecv.buffer(8), 0, ov)
        send("y")
        show(wsarecv.WSAWaitForMultipleEvents({ ov }, false, 0xFFFFFFFE, true))
        -- refused before any waiting: a queued routine is not run
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
        send("z")
        wsarecv.SleepEx(20, false)
        local r = table.pack(wsarecv.SleepEx(2^62, true))
        show(r[1], r[2], r[3], n)
        r = table.pack(wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2^33,
          true))
        show(r[1], r[2], r[3], n)
        show(wsarecv.SleepEx(0, true), n)
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal(("nil WSAEINVAL 10022\n"):rep(7)
        .. "WAIT_IO_COMPLETION 1\n1\n"
        .. "nil WSAEINVAL 10022 1\nnil WSAEINVAL 10022 1\n"
        .. "WAIT_IO_COMPLETION 2\n", out)
    end)

  it("timeouts: other negative values and non-integers still raise, "
    .. "and argument errors come before WSAEINVAL", function()
      assert.has_error(function() wsarecv.SleepEx(-2, true) end)
      assert.has_error(function() wsarecv.SleepEx(1.5, true) end)
      assert.has_error(function() wsarecv.SleepEx(0 / 0, true) end)
      assert.has_error(function() wsarecv.SleepEx("soon", true) end)
      assert.has_error(function()
        wsarecv.WSAWaitForMultipleEvents({ wsarecv.overlapped() }, false, -5)
      end)
      assert.matches("bad argument #1", H.raised(
        wsarecv.WSAWaitForMultipleEvents, "not ovs", false, 2^40))
    end)
end)
