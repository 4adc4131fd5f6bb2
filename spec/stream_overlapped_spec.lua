-- Overlapped WSARecv on stream sockets (the WSARecv page, "overlapped
-- socket I/O" and lpCompletionRoutine): pending, completed at once, several
-- outstanding in posting order, event style, refusals, close and reset.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack, assert_fail, assert_pending = H.pack, H.assert_fail, H.assert_pending
local now, wait_until, settle = H.now, H.wait_until, H.settle
local recorder = H.recorder

describe("WSARecv on a stream socket", function()
  describe("overlapped", function()
    it("goes pending, then the routine runs once with (nil, bytes, ov, flags)",
       function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(32)
      local rec = recorder()
      local ov = wsarecv.overlapped()
      assert_pending(a:WSARecv(buf, 0, ov, rec.fn))
      assert.is_true(ov.pending)
      assert.are.equal(1, a:pending())
      settle(20)
      assert.are.equal(0, rec.calls)
      assert.are.equal(5, c:send("hello"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(5, rec[1].bytes)
      assert.are.equal(ov, rec[1].ov)
      assert.are.equal(0, rec[1].flags)
      assert.are.equal("hello", buf:sub(1, 5))
      assert.is_false(ov.pending)
      assert.are.equal(5, ov.bytes)
      assert.are.equal(0, ov.flags)
      assert.is_nil(ov.error)
      assert.are.equal(0, a:pending())
      done()
    end)

    it("completed at once: returns 0, bytes, flags and still runs the routine once",
       function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("now!"))
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0, nil, rec.fn)))
      assert.are.equal("now!", buf:sub(1, 4))
      assert.are.equal(0, rec.calls)         -- only in an alertable wait
      wsarecv.SleepEx(0, false)
      assert.are.equal(0, rec.calls)
      assert.are.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(50, true))
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(4, rec[1].bytes)
      -- a routine without an ov gets a fresh overlapped object
      assert.is_truthy(tostring(rec[1].ov):find("wsarecv.overlapped", 1, true))
      assert.are.equal(4, rec[1].ov.bytes)
      assert.is_false(rec[1].ov.pending)
      settle(30)
      assert.are.equal(1, rec.calls)
      done()
    end)

    it("FIONBIO does not make an overlapped receive fail", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert_pending(a:WSARecv(buf, 0, nil, rec.fn))
      assert.are.equal(2, c:send("ok"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.is_nil(rec[1].err)
      assert.are.equal(2, rec[1].bytes)
      done()
    end)

    it("several outstanding operations are filled in posting order", function()
      local c, a, done = pair()
      local bufs, ovs = {}, {}
      local rec = recorder()
      for i = 1, 4 do
        bufs[i] = wsarecv.buffer(8)
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert_pending(a:WSARecv(bufs[i], 0, ovs[i], rec.fn))
      end
      assert.are.equal(4, a:pending())
      local first = "ABCDEFGHIJKLMNOPQRST"          -- 20 bytes
      assert.are.equal(20, c:send(first))
      assert.is_true(wait_until(function() return rec.calls >= 3 end))
      settle(30)
      assert.are.equal(3, rec.calls)
      assert.are.equal("ABCDEFGH", bufs[1]:sub())
      assert.are.equal("IJKLMNOP", bufs[2]:sub())
      assert.are.equal("QRST", bufs[3]:sub(1, 4))
      assert.is_true(ovs[4].pending)
      assert.are.equal(1, a:pending())
      local by = {}
      for i = 1, rec.calls do by[rec[i].ov.context] = rec[i] end
      assert.are.equal(8, by[1].bytes)
      assert.are.equal(8, by[2].bytes)
      assert.are.equal(4, by[3].bytes)
      assert.is_nil(by[4])
      assert.are.equal(12, c:send("uvwxyz012345"))
      assert.is_true(wait_until(function() return rec.calls >= 4 end))
      assert.are.equal(8, ovs[4].bytes)
      assert.are.equal("uvwxyz01", bufs[4]:sub())
      local cat = bufs[1]:sub() .. bufs[2]:sub() .. bufs[3]:sub(1, 4)
                  .. bufs[4]:sub()
      assert.are.equal("ABCDEFGHIJKLMNOPQRSTuvwxyz01", cat)
      -- the rest of the stream follows the last operation
      local rest = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(rest, 0)))
      assert.are.equal("2345", rest:sub(1, 4))
      done()
    end)

    it("operations without routines complete in order (WSAGetOverlappedResult)",
       function()
      local c, a, done = pair()
      local bufs, ovs = {}, {}
      for i = 1, 3 do
        bufs[i] = wsarecv.buffer(5)
        ovs[i] = wsarecv.overlapped()
        assert_pending(a:WSARecv(bufs[i], 0, ovs[i]))
      end
      for i = 1, 3 do
        assert.are.same({ n = 3, nil, "WSA_IO_INCOMPLETE", 996 },
                        pack(a:WSAGetOverlappedResult(ovs[i])))
      end
      assert.are.equal(15, c:send("onetwo3rd.third"))
      -- a non-waiting call lets the I/O progress
      local r1
      local deadline = now() + 2
      repeat
        r1 = pack(a:WSAGetOverlappedResult(ovs[1]))
        if r1[1] == nil then wsarecv.SleepEx(5, false) end
      until r1[1] ~= nil or now() > deadline
      assert.are.same({ n = 2, 5, 0 }, r1)
      assert.are.same({ n = 2, 5, 0 }, pack(a:WSAGetOverlappedResult(ovs[2])))
      assert.are.same({ n = 2, 5, 0 }, pack(a:WSAGetOverlappedResult(ovs[3], true)))
      assert.are.equal("onetw", bufs[1]:sub())
      assert.are.equal("o3rd.", bufs[2]:sub())
      assert.are.equal("third", bufs[3]:sub())
      done()
    end)

    it("MSG_PEEK is refused with WSAEOPNOTSUPP and no routine runs", function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("peek"))
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert_fail("WSAEOPNOTSUPP", 10045,
                  a:WSARecv(buf, wsarecv.MSG_PEEK, nil, rec.fn))
      assert_fail("WSAEOPNOTSUPP", 10045,
                  a:WSARecv(buf, wsarecv.MSG_PEEK, wsarecv.overlapped()))
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("peek", buf:sub(1, 4))
      done()
    end)

    it("MSG_PUSH_IMMEDIATE is accepted", function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert_pending(a:WSARecv(buf, wsarecv.MSG_PUSH_IMMEDIATE, nil, rec.fn))
      assert.are.equal(3, c:send("abc"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.is_nil(rec[1].err)
      assert.are.equal(3, rec[1].bytes)
      assert.are.equal("abc", buf:sub(1, 3))
      done()
    end)

    it("an unconnected stream socket fails at once with WSAENOTCONN, no routine",
       function()
      local s = wsarecv.socket("inet", "stream")
      local rec = recorder()
      local ov = wsarecv.overlapped()
      assert_fail("WSAENOTCONN", 10057, s:WSARecv(wsarecv.buffer(4), 0, ov, rec.fn))
      assert.is_false(ov.pending)
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.equal(0, s:pending())
      s:close()
    end)

    it("after shutdown('receive') fails at once with WSAESHUTDOWN, no routine",
       function()
      local _, a, done = pair()
      assert.are.equal(0, a:shutdown("receive"))
      local rec = recorder()
      assert_fail("WSAESHUTDOWN", 10058,
                  a:WSARecv(wsarecv.buffer(4), 0, nil, rec.fn))
      settle(30)
      assert.are.equal(0, rec.calls)
      done()
    end)

    it("graceful close: the routine gets err nil and 0 bytes", function()
      local c, a, done = pair()
      local rec = recorder()
      local buf = wsarecv.buffer(8)
      assert_pending(a:WSARecv(buf, 0, nil, rec.fn))
      c:close()
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(0, rec[1].bytes)
      assert.are.equal(0, rec[1].flags)
      done()
    end)

    it("graceful close completes every outstanding operation with 0 bytes",
       function()
      local c, a, done = pair()
      local rec = recorder()
      for _ = 1, 3 do
        assert_pending(a:WSARecv(wsarecv.buffer(4), 0, nil, rec.fn))
      end
      assert.are.equal(2, c:send("hi"))
      c:shutdown("send")
      assert.is_true(wait_until(function() return rec.calls >= 3 end))
      settle(20)
      assert.are.equal(3, rec.calls)
      local total, zeros = 0, 0
      for i = 1, 3 do
        assert.is_nil(rec[i].err)
        total = total + rec[i].bytes
        if rec[i].bytes == 0 then zeros = zeros + 1 end
      end
      assert.are.equal(2, total)
      assert.are.equal(2, zeros)
      done()
    end)

    it("#wine a reset: the routine gets WSAECONNRESET; later posts fail at once",
       function()
      local c, a, done = pair()
      local rec = recorder()
      local ov = wsarecv.overlapped()
      local buf = wsarecv.buffer(8)
      assert_pending(a:WSARecv(buf, 0, ov, rec.fn))
      assert.are.equal(2, a:send("zz"))   -- unread by c ...
      c:close()                           -- ... so this sends RST
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.are.equal("WSAECONNRESET", rec[1].err)
      assert.are.equal(0, rec[1].bytes)
      assert.are.equal("WSAECONNRESET", ov.error)
      local rec2 = recorder()
      assert_fail("WSAECONNRESET", 10054, a:WSARecv(buf, 0, ov, rec2.fn))
      settle(30)
      assert.are.equal(0, rec2.calls)
      done()
    end)
  end)
end)
