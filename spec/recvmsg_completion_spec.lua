-- How a WSARecvMsg completes (the WSARecvMsg page: lpOverlapped and
-- lpCompletionRoutine): routines, completed at once, event style,
-- nonoverlapped timeouts, several outstanding operations, close and
-- CancelIoEx.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_TRUNC, MSG_CTRUNC = wsarecv.MSG_TRUNC, wsarecv.MSG_CTRUNC

local R = require "spec.support.recvmsg"(after_each)
local sock, udp = R.sock, R.udp

local pack, wait_for, assert_pending = H.pack, H.wait_for, H.assert_pending
local types = H.control_types

---------------------------------------------------------------------------
-- completion forms
---------------------------------------------------------------------------

describe("WSARecvMsg completion forms", function()

  it("overlapped with a routine: runs only in an alertable wait, once, "
    .. "with (err, bytes, ov, flags, msg)", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local ov = wsarecv.overlapped()
      ov.context = "ctx"
      local calls = {}
      assert_pending(ch.rx:WSARecvMsg(m, ov, function(...)
        calls[#calls + 1] = table.pack(...)
      end))
      ch.send("routine")
      -- I/O progresses in a non-alertable wait, the routine waits
      for _ = 1, 100 do
        wsarecv.SleepEx(10, false)
        if not ov.pending then break end
      end
      assert.is_false(ov.pending)
      assert.equal(0, #calls)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.equal(1, #calls)
      local c = calls[1]
      assert.equal(5, c.n)
      assert.is_nil(c[1])
      assert.equal(7, c[2])
      assert.equal(ov, c[3])
      assert.equal("ctx", c[3].context)
      assert.equal(0, c[4])
      assert.equal(m, c[5])
      assert.equal("routine", buf:sub(1, 7))
      assert.same({ "127.0.0.1", ch.txport }, { m:name() })
      assert.equal(0, wsarecv.SleepEx(20, true))
      assert.equal(1, #calls)
    end)

  it("completed at once: 0, bytes, flags, and the routine still runs "
    .. "once", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      ch.send("queued")
      local calls = {}
      wsarecv.SleepEx(10, false)
      assert.same({ 0, 6, 0, n = 3 },
        pack(ch.rx:WSARecvMsg(m, nil, function(err, bytes, _, flags, mm)
          calls[#calls + 1] = { err, bytes, flags, mm == m }
        end)))
      assert.equal("queued", buf:sub(1, 6))
      assert.same({ "IP_PKTINFO" }, types(m))
      assert.equal(0, #calls)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(100, true))
      assert.same({ { nil, 6, 0, true } }, calls)
      assert.equal(0, wsarecv.SleepEx(20, true))
      assert.equal(1, #calls)
    end)

  it("event style: WSAGetOverlappedResult and WSAWaitForMultipleEvents",
    function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local ov = wsarecv.overlapped()
      assert_pending(ch.rx:WSARecvMsg(m, ov))
      assert.same({ nil, "WSA_IO_INCOMPLETE", 996, n = 3 },
        pack(ch.rx:WSAGetOverlappedResult(ov)))
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov }, false, 30, false))
      ch.send("event")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
        false))
      assert.same({ 5, 0, n = 2 }, pack(ch.rx:WSAGetOverlappedResult(ov)))
      assert.equal("event", buf:sub(1, 5))
      assert.same({ "IP_TTL" }, types(m))
      assert.same({ "127.0.0.1", ch.txport }, { m:name() })
      -- again, waiting inside WSAGetOverlappedResult
      assert_pending(ch.rx:WSARecvMsg(m, ov))
      ch.send("waited")
      assert.same({ 6, 0, n = 2 },
        pack(ch.rx:WSAGetOverlappedResult(ov, true)))
      assert.equal("waited", buf:sub(1, 6))
    end)

  it("nonoverlapped: SO_RCVTIMEO gives WSAETIMEDOUT, FIONBIO gives "
    .. "WSAEWOULDBLOCK", function()
      local ch = udp("inet", "127.0.0.1")
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
      assert(ch.rx:setsockopt("SO_RCVTIMEO", 100) == 0)
      local t0 = os.time()
      assert.same({ nil, "WSAETIMEDOUT", 10060, n = 3 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.is_true(os.time() - t0 <= 2)
      assert.is_false(m.pending)
      assert(ch.rx:setsockopt("FIONBIO", true) == 0)
      assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
        pack(ch.rx:WSARecvMsg(m)))
      ch.send("nb")
      assert.is_true(wait_for(function()
        local r = pack(ch.rx:WSARecvMsg(m))
        if r[1] == 0 then
          assert.same({ 0, 2, 0, n = 3 }, r)
          return true
        end
        assert.equal("WSAEWOULDBLOCK", r[2])
      end))
    end)

  it("several outstanding operations: each msg filled in posting order",
    function()
      local ch = udp("inet", "127.0.0.1")
      local senders = {}
      for i = 1, 4 do
        local t = H.bound(sock("inet", "dgram"), "127.0.0.1")
        senders[i] = t
      end
      local msgs, bufs, ovs, calls = {}, {}, {}, {}
      local routine = function(err, bytes, ov, flags, mm)
        calls[#calls + 1] = { ov.context, err, bytes, flags, mm }
      end
      for i = 1, 4 do
        bufs[i] = wsarecv.buffer(16)
        msgs[i] = wsarecv.msg { buffers = bufs[i], control = 64 }
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert_pending(ch.rx:WSARecvMsg(msgs[i], ovs[i], routine))
        assert.is_true(msgs[i].pending)
      end
      assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
      assert.equal(4, ch.rx:pending())
      local texts = { "one", "two-2", "three-33", "4" }
      for i, t in ipairs(texts) do
        assert(senders[i]:setsockopt("IP_TTL", 10 + i) == 0)
        assert.equal(#t, senders[i]:sendto(t, "127.0.0.1", ch.port))
      end
      assert.is_true(wait_for(function() return #calls == 4 end))
      table.sort(calls, function(a, b) return a[1] < b[1] end)
      for i, t in ipairs(texts) do
        assert.same({ i, nil, #t, 0 },
          { calls[i][1], calls[i][2], calls[i][3], calls[i][4] })
        assert.equal(msgs[i], calls[i][5])
        assert.equal(t, bufs[i]:sub(1, #t))
        assert.equal(string.rep("\0", 16 - #t), bufs[i]:sub(#t + 1))
        local _, p = senders[i]:getsockname()
        assert.same({ "127.0.0.1", p }, { msgs[i]:name() })
        assert.same({ { level = "IPPROTO_IP", type = "IP_TTL",
          ttl = 10 + i } }, msgs[i]:control())
        assert.is_false(msgs[i].pending)
      end
    end)

  it("several outstanding operations with different buffer and control "
    .. "sizes: each msg gets its own truncation flags", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
      local sizes = { { 16, 64 }, { 4, 64 }, { 16, 0 }, { 16, 64 } }
      local msgs, calls = {}, {}
      for i, sz in ipairs(sizes) do
        msgs[i] = wsarecv.msg { buffers = wsarecv.buffer(sz[1]),
          control = sz[2] }
        local ov = wsarecv.overlapped()
        ov.context = i
        assert_pending(ch.rx:WSARecvMsg(msgs[i], ov,
          function(err, bytes, o, flags, mm)
            calls[#calls + 1] = { o.context, err, bytes, flags,
              mm.flags, types(mm), mm == msgs[o.context] }
          end))
      end
      for i = 1, 4 do ch.send("datagram" .. i) end
      assert.is_true(wait_for(function() return #calls == 4 end))
      table.sort(calls, function(a, b) return a[1] < b[1] end)
      assert.same({
        { 1, nil, 9, 0, 0, { "IP_TTL" }, true },
        { 2, "WSAEMSGSIZE", 4, MSG_TRUNC, MSG_TRUNC, { "IP_TTL" }, true },
        { 3, "WSAEMSGSIZE", 9, MSG_CTRUNC, MSG_CTRUNC, {}, true },
        { 4, nil, 9, 0, 0, { "IP_TTL" }, true },
      }, calls)
      assert.equal("datagram1", msgs[1].buffers:sub(1, 9))
      assert.equal("data", msgs[2].buffers:sub())
      assert.equal("datagram3", msgs[3].buffers:sub(1, 9))
      assert.equal("datagram4", msgs[4].buffers:sub(1, 9))
    end)

  it("the WSABUF array is captured at the call: changing the table while "
    .. "pending does not redirect the data", function()
      local ch = udp("inet", "127.0.0.1")
      local a, b = wsarecv.buffer(8), wsarecv.buffer(8)
      local bufs = { a }
      local m = wsarecv.msg { buffers = bufs, control = 0 }
      local ov = wsarecv.overlapped()
      assert_pending(ch.rx:WSARecvMsg(m, ov))
      bufs[1] = b
      ch.send("capture")
      assert.same({ 7, 0, n = 2 }, pack(ch.rx:WSAGetOverlappedResult(ov,
        true)))
      assert.equal("capture\0", a:sub())
      assert.equal(string.rep("\0", 8), b:sub())
    end)

  it("a pending msg, its buffers and ov survive a full collection with no "
    .. "other reference", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
      local seen
      do
        local m = wsarecv.msg { buffers = { wsarecv.buffer(16) },
          control = 64 }
        assert_pending(ch.rx:WSARecvMsg(m, wsarecv.overlapped(),
          function(err, bytes, ov, _, mm)
            seen = { err, bytes, mm.buffers[1]:sub(1, bytes),
              types(mm), ov.bytes }
          end))
      end
      collectgarbage("collect")
      collectgarbage("collect")
      ch.send("survivor")
      assert.is_true(wait_for(function() return seen ~= nil end))
      assert.same({ nil, 8, "survivor", { "IP_TTL" }, 8 }, seen)
    end)

  it("close: a pending WSARecvMsg completes with WSA_OPERATION_ABORTED",
    function()
      local ch = udp("inet", "127.0.0.1")
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
      local seen
      assert_pending(ch.rx:WSARecvMsg(m, nil, function(err, bytes, _, _, mm)
        seen = { err, bytes, mm == m }
      end))
      ch.rx:close()
      -- the msg belongs to the operation until its routine has run
      assert.is_true(m.pending)
      assert.is_true(wait_for(function() return seen ~= nil end))
      assert.same({ "WSA_OPERATION_ABORTED", 0, true }, seen)
      assert.is_false(m.pending)
    end)

  it("CancelIoEx: the routine gets WSA_OPERATION_ABORTED and the msg is "
    .. "free again once it has run", function()
      local ch = udp("inet", "127.0.0.1")
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
      local ov = wsarecv.overlapped()
      local seen
      assert_pending(ch.rx:WSARecvMsg(m, ov, function(err, bytes, _, _, mm)
        seen = { err, bytes, mm == m }
      end))
      assert.equal(0, ch.rx:CancelIoEx(ov))
      assert.is_true(m.pending)
      assert.is_true(wait_for(function() return seen ~= nil end))
      assert.same({ "WSA_OPERATION_ABORTED", 0, true }, seen)
      assert.is_false(m.pending)
      ch.send("after cancel")
      assert.same({ 0, 12, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    end)
end)
