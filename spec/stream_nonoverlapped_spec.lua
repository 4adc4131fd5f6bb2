-- Nonoverlapped WSARecv on stream sockets (the WSARecv page, "a
-- nonoverlapped socket": blocking, FIONBIO, SO_RCVTIMEO, MSG_PEEK, graceful
-- close and reset) over TCP on 127.0.0.1.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack, assert_fail = H.pack, H.assert_fail
local now = H.now

describe("WSARecv on a stream socket", function()
  describe("nonoverlapped", function()
    it("returns 0, bytes, flags and fills the buffer", function()
      local c, a, done = pair()
      assert.are.equal(11, c:send("hello world"))
      local buf = wsarecv.buffer(64)
      assert.are.same({ n = 3, 0, 11, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("hello world", buf:sub(1, 11))
      assert.are.equal(string.rep("\0", 53), buf:sub(12))
      done()
    end)

    it("flags may be omitted (nil means 0)", function()
      local c, a, done = pair()
      assert.are.equal(3, c:send("abc"))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(buf)))
      done()
    end)

    it("a single byte is enough to complete", function()
      local c, a, done = pair()
      assert.are.equal(1, c:send("x"))
      local buf = wsarecv.buffer(4096)
      assert.are.same({ n = 3, 0, 1, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("x", buf:sub(1, 1))
      done()
    end)

    it("returns at most the buffer's capacity and leaves the rest queued",
       function()
      local c, a, done = pair()
      assert.are.equal(10, c:send("0123456789"))
      local buf = wsarecv.buffer(4)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("0123", buf:sub())
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("4567", buf:sub())
      assert.are.same({ n = 3, 0, 2, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("89", buf:sub(1, 2))
      done()
    end)

    it("#linux blocks until data arrives (the sender is another process)", function()
      if not H.have_perl() then pending("perl is not installed") return end
      local l = H.perl_listener()
      local a, p = H.perl_peer(l, { { "sleep", 0.3 }, { "send", "late5" },
                                  { "sleep", 0.2 } })
      l:close()
      assert.are.equal(0, a:setsockopt("SO_RCVTIMEO", 3000))  -- a bound only
      local buf = wsarecv.buffer(16)
      local t0 = now()
      local r = pack(a:WSARecv(buf, 0))
      local elapsed = now() - t0
      assert.are.same({ n = 3, 0, 5, 0 }, r)
      assert.are.equal("late5", buf:sub(1, 5))
      assert.is_true(elapsed >= 0.15, "returned after " .. elapsed .. " s")
      -- and then the peer's close
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      a:close()
      p:close()
    end)

    it("MSG_PEEK leaves the data for the next receive", function()
      local c, a, done = pair()
      assert.are.equal(8, c:send("peekaboo"))
      local buf = wsarecv.buffer(4)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, wsarecv.MSG_PEEK)))
      assert.are.equal("peek", buf:sub())
      buf:fill(0)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, wsarecv.MSG_PEEK)))
      assert.are.equal("peek", buf:sub())
      local all = wsarecv.buffer(16)
      assert.are.same({ n = 3, 0, 8, 0 }, pack(a:WSARecv(all, 0)))
      assert.are.equal("peekaboo", all:sub(1, 8))
      done()
    end)

    it("MSG_PUSH_IMMEDIATE is accepted", function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("push"))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 },
                      pack(a:WSARecv(buf, wsarecv.MSG_PUSH_IMMEDIATE)))
      assert.are.equal("push", buf:sub(1, 4))
      done()
    end)

    it("FIONBIO with no data fails with WSAEWOULDBLOCK, then works", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      local buf = wsarecv.buffer(8)
      assert_fail("WSAEWOULDBLOCK", 10035, a:WSARecv(buf, 0))
      assert.are.equal(0, a:pending())
      assert.are.equal(3, c:send("now"))
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("now", buf:sub(1, 3))
      done()
    end)

    it("SO_RCVTIMEO=100 fails with WSAETIMEDOUT after about 100 ms", function()
      local _, a, done = pair()
      assert.are.equal(0, a:setsockopt("SO_RCVTIMEO", 100))
      local buf = wsarecv.buffer(8)
      local t0 = now()
      local r = assert_fail("WSAETIMEDOUT", 10060, a:WSARecv(buf, 0))
      local elapsed = now() - t0
      assert.is_true(elapsed >= 0.08, "timed out after " .. elapsed .. " s")
      assert.is_true(elapsed <= 1.0, "timed out after " .. elapsed .. " s")
      assert.is_true(r.n == 3 or r[4] == 0)
      assert.are.equal(0, a:pending())
      done()
    end)

    it("an unconnected stream socket fails with WSAENOTCONN", function()
      local s = wsarecv.socket("inet", "stream")
      assert_fail("WSAENOTCONN", 10057, s:WSARecv(wsarecv.buffer(4), 0))
      s:close()
    end)

    it("after shutdown('receive') fails with WSAESHUTDOWN", function()
      local _, a, done = pair()
      assert.are.equal(0, a:shutdown("receive"))
      assert_fail("WSAESHUTDOWN", 10058, a:WSARecv(wsarecv.buffer(4), 0))
      done()
    end)

    it("unknown input flags fail with WSAEOPNOTSUPP", function()
      local c, a, done = pair()
      assert.are.equal(1, c:send("z"))
      local buf = wsarecv.buffer(4)
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, 0x10000))
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, wsarecv.MSG_TRUNC))
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, 0x4))
      -- nothing was consumed
      assert.are.same({ n = 3, 0, 1, 0 }, pack(a:WSARecv(buf, 0)))
      done()
    end)

    it("graceful close reads as 0 bytes, after the data", function()
      local c, a, done = pair()
      assert.are.equal(3, c:send("bye"))
      c:close()
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      done()
    end)

    it("#wine a reset connection fails with WSAECONNRESET, and keeps failing",
       function()
      local c, a, done = pair()
      assert.are.equal(2, a:send("zz"))   -- left unread in c ...
      c:close()                           -- ... so closing c sends RST
      local buf = wsarecv.buffer(8)
      assert_fail("WSAECONNRESET", 10054, a:WSARecv(buf, 0))
      assert_fail("WSAECONNRESET", 10054, a:WSARecv(buf, 0))
      done()
    end)
  end)
end)
