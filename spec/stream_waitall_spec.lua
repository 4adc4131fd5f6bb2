-- MSG_WAITALL on stream sockets (the WSARecv page, lpFlags MSG_WAITALL):
-- complete only with the buffers full, or on close, reset or error; the
-- flags it may not be combined with.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack, assert_fail, assert_pending = H.pack, H.assert_fail, H.assert_pending
local wait_until, settle = H.wait_until, H.settle
local recorder = H.recorder

describe("WSARecv on a stream socket", function()
  describe("MSG_WAITALL", function()
    it("nonoverlapped: completes with the full buffer", function()
      local c, a, done = pair()
      assert.are.equal(12, c:send("abcdefghijkl"))
      local buf = wsarecv.buffer(10)
      assert.are.same({ n = 3, 0, 10, 0 },
                      pack(a:WSARecv(buf, wsarecv.MSG_WAITALL)))
      assert.are.equal("abcdefghij", buf:sub())
      done()
    end)

    it("nonoverlapped: the peer's close completes it with a partial count",
       function()
      local c, a, done = pair()
      assert.are.equal(2, c:send("ab"))
      assert.are.equal(0, c:shutdown("send"))
      local buf = wsarecv.buffer(10)
      assert.are.same({ n = 3, 0, 2, 0 },
                      pack(a:WSARecv(buf, wsarecv.MSG_WAITALL)))
      assert.are.equal("ab", buf:sub(1, 2))
      done()
    end)

    it("#wine nonoverlapped: a reset after partial data fails, reporting the bytes placed",
       function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("abcd"))
      assert.are.equal(2, a:send("zz"))
      c:close()                             -- RST: "zz" was unread
      local buf = wsarecv.buffer(10)
      local r = pack(a:WSARecv(buf, wsarecv.MSG_WAITALL))
      assert.are.same({ n = 4, nil, "WSAECONNRESET", 10054, 4 }, r)
      assert.are.equal("abcd", buf:sub(1, 4))
      done()
    end)

    it("nonoverlapped with FIONBIO fails with WSAEOPNOTSUPP", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      assert.are.equal(10, c:send("0123456789"))
      local buf = wsarecv.buffer(4)
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, wsarecv.MSG_WAITALL))
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("0123", buf:sub())
      done()
    end)

    for _, f in ipairs { "MSG_OOB", "MSG_PEEK", "MSG_PARTIAL" } do
      it(("with %s fails with WSAEOPNOTSUPP (both modes), no routine runs")
           :format(f), function()
        local c, a, done = pair()
        assert.are.equal(4, c:send("data"))
        local buf = wsarecv.buffer(4)
        local flags = wsarecv.MSG_WAITALL | wsarecv[f]
        assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, flags))
        local rec = recorder()
        local ov = wsarecv.overlapped()
        assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, flags, ov, rec.fn))
        assert.is_false(ov.pending)
        settle(30)
        assert.are.equal(0, rec.calls)
        assert.are.equal(0, a:pending())
        -- the data is all still there
        assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
        assert.are.equal("data", buf:sub())
        done()
      end)
    end

    it("#wine overlapped: completes only when the buffer is full", function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(10)
      local rec = recorder()
      local ov = wsarecv.overlapped()
      assert_pending(a:WSARecv(buf, wsarecv.MSG_WAITALL, ov, rec.fn))
      assert.are.equal(3, c:send("abc"))
      settle(40)
      assert.are.equal(0, rec.calls)
      assert.is_true(ov.pending)
      assert.is_nil(ov.bytes)
      assert.are.equal(4, c:send("defg"))
      settle(40)
      assert.are.equal(0, rec.calls)
      assert.is_true(ov.pending)
      assert.are.equal(6, c:send("hijXYZ"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(10, rec[1].bytes)
      assert.are.equal(ov, rec[1].ov)
      assert.are.equal(0, rec[1].flags)
      assert.are.equal("abcdefghij", buf:sub())
      assert.is_false(ov.pending)
      assert.are.equal(10, ov.bytes)
      -- the rest is left for the next receive
      local rest = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(rest, 0)))
      assert.are.equal("XYZ", rest:sub(1, 3))
      done()
    end)

    it("#wine overlapped: the peer's close completes it with the partial count",
       function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(10)
      local rec = recorder()
      assert_pending(a:WSARecv(buf, wsarecv.MSG_WAITALL, nil, rec.fn))
      assert.are.equal(4, c:send("abcd"))
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.equal(0, c:shutdown("send"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(4, rec[1].bytes)
      assert.are.equal("abcd", buf:sub(1, 4))
      assert.are.equal(string.rep("\0", 6), buf:sub(5))
      done()
    end)

    it("#wine overlapped: a reset after partial data fails with the bytes placed",
       function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(10)
      local ov = wsarecv.overlapped()
      assert_pending(a:WSARecv(buf, wsarecv.MSG_WAITALL, ov))
      assert.are.equal(2, c:send("ab"))
      settle(30)
      assert.are.same({ n = 3, nil, "WSA_IO_INCOMPLETE", 996 },
                      pack(a:WSAGetOverlappedResult(ov)))
      assert.are.equal(2, a:send("zz"))
      c:close()                              -- RST
      assert.is_true(wait_until(function() return not ov.pending end))
      assert.are.equal("WSAECONNRESET", ov.error)
      assert.are.equal(2, ov.bytes)
      assert.are.same({ n = 4, nil, "WSAECONNRESET", 10054, 2 },
                      pack(a:WSAGetOverlappedResult(ov)))
      assert.are.equal("ab", buf:sub(1, 2))
      done()
    end)
  end)
end)
