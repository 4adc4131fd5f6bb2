-- Event-style operations (the WSARecv page, lpOverlapped without a
-- routine; WSAWaitForMultipleEvents, WSAGetOverlappedResult) and the
-- overlapped object's fields and reuse.
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
-- event-style operations
---------------------------------------------------------------------------

describe("event-style operations (overlapped object, no routine)", function()
  it("WSAWaitForMultipleEvents returns the 1-based index of the completed "
    .. "one, or WSA_WAIT_TIMEOUT", function()
      local rx1 = udp()
      local rx2, send2 = udp()
      local ov1, ov2 = wsarecv.overlapped(), wsarecv.overlapped()
      local b2 = wsarecv.buffer(8)
      assert_pending(rx1:WSARecv(wsarecv.buffer(8), 0, ov1))
      assert_pending(rx2:WSARecv(b2, 0, ov2))
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov1, ov2 }, false, 20, false))
      send2("second")
      assert.equal(2,
        wsarecv.WSAWaitForMultipleEvents({ ov1, ov2 }, false, 2000, false))
      assert.is_false(ov2.pending)
      assert.equal(6, ov2.bytes)
      assert.equal("second", b2:sub(1, 6))
      assert.is_true(ov1.pending)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov1 }, false, 20, false))
      assert.same({ 6, 0, n = 2 }, pack(rx2:WSAGetOverlappedResult(ov2)))
    end)

  it("an event-style operation completing at once returns 0, bytes, flags "
    .. "and its object is signalled", function()
      local rx, send = udp()
      send("quick")
      wsarecv.SleepEx(5, false)
      local ov = wsarecv.overlapped()
      local b = wsarecv.buffer(8)
      assert.same({ 0, 5, 0, n = 3 }, pack(rx:WSARecv(b, 0, ov)))
      assert.is_false(ov.pending)
      assert.equal(5, ov.bytes)
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 0,
        false))
      assert.same({ 5, 0, n = 2 }, pack(rx:WSAGetOverlappedResult(ov, true)))
      -- reposting resets the event
      assert_pending(rx:WSARecv(b, 0, ov))
      assert.is_true(ov.pending)
      assert.is_nil(ov.bytes)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov }, false, 10, false))
    end)

  it("waitall returns #ovs once all are done", function()
    local rx, send = udp()
    local ovs, bufs = {}, {}
    for i = 1, 3 do
      ovs[i], bufs[i] = wsarecv.overlapped(), wsarecv.buffer(8)
      assert_pending(rx:WSARecv(bufs[i], 0, ovs[i]))
    end
    send("a")
    send("b")
    assert.is_true(progress_until(function() return not ovs[2].pending end))
    assert.equal("WSA_WAIT_TIMEOUT",
      wsarecv.WSAWaitForMultipleEvents(ovs, true, 20, false))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents(ovs, false, 0, false))
    send("c")
    assert.equal(3, wsarecv.WSAWaitForMultipleEvents(ovs, true, 2000, false))
    for i, c in ipairs { "a", "b", "c" } do
      assert.equal(c, bufs[i]:sub(1, 1))
      assert.equal(1, ovs[i].bytes)
    end
  end)

  it("an alertable wait returns WSA_WAIT_IO_COMPLETION when routines ran; "
    .. "a non-alertable one runs none", function()
      local rxa = udp()
      local rxb, sendb = udp()
      local waiting = wsarecv.overlapped()
      assert_pending(rxa:WSARecv(wsarecv.buffer(4), 0, waiting))
      local n = 0
      local ovb = wsarecv.overlapped()
      assert_pending(rxb:WSARecv(wsarecv.buffer(4), 0, ovb,
        function() n = n + 1 end))
      sendb("zz")
      assert.is_true(progress_until(function() return not ovb.pending end))
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ waiting }, false, 10, false))
      assert.equal(0, n)
      assert.equal("WSA_WAIT_IO_COMPLETION",
        wsarecv.WSAWaitForMultipleEvents({ waiting }, false, 1000, true))
      assert.equal(1, n)
      assert.is_true(waiting.pending)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ waiting }, false, 10, true))
      assert.equal(1, n)
    end)

  it("WSAGetOverlappedResult: WSA_IO_INCOMPLETE while pending, then bytes "
    .. "and flags", function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      local b = wsarecv.buffer(8)
      assert_pending(rx:WSARecv(b, 0, ov))
      assert.same({ nil, "WSA_IO_INCOMPLETE", 996, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov)))
      assert.same({ nil, "WSA_IO_INCOMPLETE", 996, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov, false)))
      send("result")
      local r
      for _ = 1, 200 do
        r = pack(rx:WSAGetOverlappedResult(ov))
        if r[1] ~= nil then break end
        wsarecv.SleepEx(10, false)
      end
      assert.same({ 6, 0, n = 2 }, r)
      assert.equal("result", b:sub(1, 6))
      -- asking again gives the same answer
      assert.same({ 6, 0, n = 2 }, pack(rx:WSAGetOverlappedResult(ov, true)))
    end)

  it("WSAGetOverlappedResult with wait = true waits for an operation "
    .. "without a routine (child process)", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local ov = wsarecv.overlapped()
        local b = wsarecv.buffer(8)
        show(rx:WSARecv(b, 0, ov))
        send("waited")
        show(rx:WSAGetOverlappedResult(ov, true))
        show(b:sub(1, 6), ov.pending)
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil WSA_IO_PENDING 997\n6 0\nwaited false\n", out)
    end)

  it("WSAGetOverlappedResult with wait = true is refused when the "
    .. "operation has a routine", function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      local n, got = 0, nil
      assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov,
        function(_, bytes) n = n + 1; got = bytes end))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov, true)))
      assert.is_true(ov.pending)
      assert.equal(1, rx:pending())
      send("abc")
      assert.is_true(wait_for(function() return n > 0 end))
      wsarecv.SleepEx(5, true)
      assert.equal(1, n)
      assert.equal(3, got)
    end)
end)

---------------------------------------------------------------------------
-- the overlapped object
---------------------------------------------------------------------------

describe("the overlapped object", function()
  it("context round-trips; the other fields are read-only", function()
    local rx, send = udp()
    local ov = wsarecv.overlapped()
    local ctx = { tag = "mine" }
    ov.context = ctx
    assert.equal(ctx, ov.context)
    local seen
    assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov,
      function(_, _, o) seen = o.context end))
    assert.equal(ctx, ov.context)
    send("c")
    assert.is_true(wait_for(function() return seen ~= nil end))
    assert.equal(ctx, seen)
    ov.context = 42
    assert.equal(42, ov.context)
    ov.context = nil
    assert.is_nil(ov.context)
    for _, field in ipairs { "pending", "bytes", "flags", "error" } do
      assert.has_error(function() ov[field] = 1 end)
    end
    assert.is_false(ov.pending)
    assert.equal(1, ov.bytes)
    assert.equal(0, ov.flags)
  end)

  it("a fresh object is idle: not pending, no results", function()
    local ov = wsarecv.overlapped()
    assert.is_false(ov.pending)
    assert.is_nil(ov.bytes)
    assert.is_nil(ov.flags)
    assert.is_nil(ov.error)
  end)

  it("reposting a pending object gives WSAEINVAL and leaves the first "
    .. "operation alone", function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
      local first, second = 0, 0
      assert_pending(rx:WSARecv(b1, 0, ov,
        function() first = first + 1 end))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(rx:WSARecv(b2, 0, ov, function() second = second + 1 end)))
      -- on another socket too
      local other = udp()
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(other:WSARecv(b2, 0, ov, function() second = second + 1 end)))
      assert.equal(1, rx:pending())
      assert.equal(0, other:pending())
      send("orig")
      assert.is_true(wait_for(function() return first > 0 end))
      wsarecv.SleepEx(5, true)
      assert.equal(1, first)
      assert.equal(0, second)
      assert.equal("orig", b1:sub(1, 4))
      assert.equal(string.rep("\0", 8), b2:sub())
    end)

  it("reposting an object whose routine is queued but has not run gives "
    .. "WSAEINVAL; once the routine ran it can be reposted (child process)",
    function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local ov = wsarecv.overlapped()
        local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
        local calls = {}
        assert(select(2, rx:WSARecv(b1, 0, ov, function(e, n)
          calls[#calls + 1] = "A:" .. tostring(e) .. ":" .. n end))
          == "WSA_IO_PENDING")
        send("one")
        for _ = 1, 100 do
          if not ov.pending then break end
          wsarecv.SleepEx(10, false)
        end
        show("done", ov.pending, ov.bytes)
        local function rtb(e, n)
          calls[#calls + 1] = "B:" .. tostring(e) .. ":" .. n
        end
        show("repost", rx:WSARecv(b2, 0, ov, rtb))
        show("pending", rx:pending(), ov.pending, ov.bytes)
        send("two")
        for _ = 1, 10 do wsarecv.SleepEx(5, true) end
        show("calls", table.concat(calls, ","))
        show("data", b1:sub(1, 3), #b2:sub(1, 3):gsub("%z", ""))
        show("again", rx:WSARecv(b2, 0, ov, rtb))
        for _ = 1, 10 do wsarecv.SleepEx(5, true) end
        show("calls", table.concat(calls, ","))
        show("data", b2:sub(1, 3))
      ]])
      assert_clean_exit(out, how, rc)
      assert.equal("done false 3\n"
        .. "repost nil WSAEINVAL 10022\n"
        .. "pending 0 false 3\n"
        .. "calls A:nil:3\n"
        .. "data one 0\n"
        .. "again 0 3 0\n"
        .. "calls A:nil:3,B:nil:3\n"
        .. "data two\n", out)
    end)

  it("a repost that fails early reports no bytes of the previous "
     .. "operation", function()
    local u = H.udp("inet", "127.0.0.1")
    local ov = wsarecv.overlapped()
    local b = wsarecv.buffer(8)
    assert_pending(u.rx:WSARecv(b, 0, ov))
    u.send("hello")
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000, false))
    assert.equal(5, ov.bytes)
    -- an unbound socket fails the post before anything is received
    local unbound = H.socket("inet", "dgram")
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(unbound:WSARecv(b, 0, ov)))
    unbound:close(); u.rx:close(); u.tx:close()
  end)
end)
