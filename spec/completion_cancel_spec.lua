-- Cancelling and closing (the CancelIoEx and closesocket pages:
-- WSA_OPERATION_ABORTED, ERROR_NOT_FOUND) and the per-socket cap on
-- outstanding operations.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local udp = require "spec.support.completion"(after_each).udp

local pack, assert_pending = H.pack, H.assert_pending
local wait_for, progress_until = H.wait_for, H.progress_until

---------------------------------------------------------------------------
-- cancelling and closing
---------------------------------------------------------------------------

describe("CancelIoEx and close", function()
  it("a datagram that arrived before the cancel is never lost: the cancelled "
    .. "receive got it (ERROR_NOT_FOUND, it completes with the data) or the "
    .. "next receive does", function()
      local rx, send = udp()
      local buf = wsarecv.buffer(16)
      local ov = wsarecv.overlapped()
      assert_pending(rx:WSARecv(buf, 0, ov))
      -- sent, with no wait in between: on Windows the kernel may already
      -- have placed it in buf; on Linux it waits in the socket
      send("intact")
      local r, name = rx:CancelIoEx(ov)
      assert.is_false(ov.pending)
      if r == 0 then
        assert.equal("WSA_OPERATION_ABORTED", ov.error)
        local b2 = wsarecv.buffer(16)
        local got = pack(rx:WSARecv(b2, 0))
        assert.same({ 0, 6, 0, n = 3 }, got)
        assert.equal("intact", b2:sub(1, 6))
      else
        assert.equal("ERROR_NOT_FOUND", name)
        assert.is_nil(ov.error)
        assert.equal(6, ov.bytes)
        assert.equal("intact", buf:sub(1, 6))
      end
    end)

  it("CancelIoEx(ov) cancels that one: it completes once with "
    .. "WSA_OPERATION_ABORTED, 0 bytes; the data goes to the next",
    function()
      local rx, send = udp()
      local calls = {}
      local function rt(err, bytes, ov, flags)
        calls[#calls + 1] = { ov.context, err, bytes, flags }
      end
      local ov1, ov2 = wsarecv.overlapped(), wsarecv.overlapped()
      ov1.context, ov2.context = 1, 2
      local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
      assert_pending(rx:WSARecv(b1, 0, ov1, rt))
      assert_pending(rx:WSARecv(b2, 0, ov2, rt))
      assert.same({ 0, n = 1 }, pack(rx:CancelIoEx(ov1)))
      assert.is_false(ov1.pending)
      assert.is_true(ov2.pending)
      assert.equal(1, rx:pending())
      assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
        pack(rx:CancelIoEx(ov1)))
      send("intact")
      assert.is_true(wait_for(function() return #calls == 2 end))
      wsarecv.SleepEx(5, true)
      table.sort(calls, function(a, b) return a[1] < b[1] end)
      assert.same({ { 1, "WSA_OPERATION_ABORTED", 0, 0 },
                    { 2, nil, 6, 0 } }, calls)
      assert.equal("intact", b2:sub(1, 6))
      assert.equal(string.rep("\0", 8), b1:sub())
      assert.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov1)))
    end)

  it("CancelIoEx() cancels all; nothing was consumed", function()
    local rx, send = udp()
    local calls = {}
    local ovs = {}
    for i = 1, 5 do
      ovs[i] = wsarecv.overlapped()
      ovs[i].context = i
      assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i],
        function(err, bytes, ov)
          calls[#calls + 1] = { ov.context, err, bytes }
        end))
    end
    assert.same({ 0, n = 1 }, pack(rx:CancelIoEx()))
    assert.equal(0, rx:pending())
    assert.is_true(wait_for(function() return #calls == 5 end))
    for _ = 1, 3 do wsarecv.SleepEx(2, true) end
    table.sort(calls, function(a, b) return a[1] < b[1] end)
    for i = 1, 5 do
      assert.same({ i, "WSA_OPERATION_ABORTED", 0 }, calls[i])
      assert.equal("WSA_OPERATION_ABORTED", ovs[i].error)
    end
    send("after-cancel")
    local b = wsarecv.buffer(16)
    assert.same({ 0, 12, 0, n = 3 }, pack(rx:WSARecv(b, 0)))
    assert.equal("after-cancel", b:sub(1, 12))
  end)

  it("a cancelled event-style operation signals its object", function()
    local rx = udp()
    local ov = wsarecv.overlapped()
    assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov))
    assert.equal(0, rx:CancelIoEx(ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 100,
      false))
    assert.equal("WSA_OPERATION_ABORTED", ov.error)
    assert.equal(0, ov.bytes)
    assert.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 },
      pack(rx:WSAGetOverlappedResult(ov)))
  end)

  it("CancelIoEx with nothing pending gives ERROR_NOT_FOUND", function()
    local rx, send = udp()
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx()))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx(wsarecv.overlapped())))
    -- a completed operation cannot be cancelled
    local ov = wsarecv.overlapped()
    assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov))
    send("done")
    assert.is_true(progress_until(function() return not ov.pending end))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx(ov)))
    assert.equal(4, ov.bytes)
    -- an operation of another socket is not found on this one
    local other = udp()
    local ov2 = wsarecv.overlapped()
    assert_pending(other:WSARecv(wsarecv.buffer(8), 0, ov2))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx(ov2)))
    assert.is_true(ov2.pending)
  end)

  it("close() with pending operations: each completes once with "
    .. "WSA_OPERATION_ABORTED; the closed socket answers WSAENOTSOCK",
    function()
      local rx = udp()
      local count, errs = {}, {}
      for i = 1, 3 do
        local ov = wsarecv.overlapped()
        ov.context = i
        assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov,
          function(err, bytes, o)
            count[o.context] = (count[o.context] or 0) + 1
            errs[o.context] = { err, bytes }
          end))
      end
      local evov = wsarecv.overlapped()
      assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, evov))
      assert.equal(4, rx:pending())
      assert.equal(0, rx:close())
      assert.equal(0, rx:pending())
      assert.is_false(evov.pending)
      assert.equal("WSA_OPERATION_ABORTED", evov.error)
      assert.is_true(wait_for(function() return count[3] ~= nil end))
      for _ = 1, 5 do wsarecv.SleepEx(2, true) end
      assert.same({ 1, 1, 1 }, count)
      for i = 1, 3 do
        assert.same({ "WSA_OPERATION_ABORTED", 0 }, errs[i])
      end
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(rx:WSARecv(wsarecv.buffer(8), 0)))
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())))
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 }, pack(rx:CancelIoEx()))
      assert.equal(0, rx:close())  -- closing twice is harmless
    end)

  it("the per-socket cap: MAX_PENDING operations pend, one more gets "
    .. "WSAEWOULDBLOCK; cancelling runs every routine once", function()
      assert.equal(4096, wsarecv.MAX_PENDING)
      local rx, send = udp()
      local b = wsarecv.buffer(1)
      local counts = {}
      local aborted = 0
      local function rt(err, bytes, ov)
        local i = ov.context
        counts[i] = (counts[i] or 0) + 1
        if err == "WSA_OPERATION_ABORTED" and bytes == 0 then
          aborted = aborted + 1
        end
      end
      for i = 1, wsarecv.MAX_PENDING do
        local ov = wsarecv.overlapped()
        ov.context = i
        local r, name = rx:WSARecv(b, 0, ov, rt)
        if name ~= "WSA_IO_PENDING" then
          error(("post %d: %s %s"):format(i, tostring(r), tostring(name)))
        end
      end
      assert.equal(4096, rx:pending())
      local extra = wsarecv.overlapped()
      extra.context = "extra"
      assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
        pack(rx:WSARecv(b, 0, extra, rt)))
      assert.is_false(extra.pending)
      assert.equal(4096, rx:pending())
      assert.equal(0, rx:CancelIoEx())
      assert.equal(0, rx:pending())
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      for _ = 1, 5 do wsarecv.SleepEx(2, true) end
      assert.equal(4096, aborted)
      local bad = 0
      for i = 1, 4096 do if counts[i] ~= 1 then bad = bad + 1 end end
      assert.equal(0, bad)
      assert.is_nil(counts.extra)
      -- below the cap again: posting works
      local got
      assert_pending(rx:WSARecv(b, 0, nil,
        function(err, n) got = { err, n } end))
      send("!")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ nil, 1 }, got)
    end)
end)
