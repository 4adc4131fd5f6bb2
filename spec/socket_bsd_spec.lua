-- The BSD calls around a receive (the bind, connect, listen, accept,
-- send, sendto, shutdown and getsockname pages) on loopback: results and
-- WSA error codes.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local raised, pack, assert_fail = H.raised, H.pack, H.assert_fail
local unix_path = H.unix_path

-- a connected stream pair: client, accepted server side, listener
local tcp_pair = H.stream_pair

describe("wsarecv.socket", function()

  describe("BSD calls", function()
    it("bind + getsockname on 127.0.0.1 picks a port", function()
      local s = wsarecv.socket("inet", "stream")
      assert.are.equal(0, s:bind("127.0.0.1", 0))
      local addr, port = s:getsockname()
      assert.are.equal("127.0.0.1", addr)
      assert.are.equal("integer", math.type(port))
      assert.is_true(port > 0 and port <= 65535)
      s:close()
    end)

    it("bind + getsockname on ::1", function()
      local s = wsarecv.socket("inet6", "dgram")
      assert.are.equal(0, s:bind("::1", 0))
      local addr, port = s:getsockname()
      assert.are.equal("::1", addr)
      assert.is_true(port > 0)
      s:close()
    end)

    it("#wine bind + getsockname on a unix path gives the path and no port", function()
      local path = unix_path()
      local s = wsarecv.socket("unix", "stream")
      assert.are.equal(0, s:bind(path))
      local r = pack(s:getsockname())
      s:close()
      os.remove(path)
      assert.are.equal(path, r[1])
      assert.is_nil(r[2])
    end)

    it("bind to a port in use fails with WSAEADDRINUSE", function()
      local a = wsarecv.socket("inet", "stream")
      assert.are.equal(0, a:bind("127.0.0.1", 0))
      assert.are.equal(0, a:listen())
      local _, port = a:getsockname()
      local b = wsarecv.socket("inet", "stream")
      assert_fail("WSAEADDRINUSE", 10048, b:bind("127.0.0.1", port))
      a:close()
      b:close()
    end)

    it("bind to an address that is not an address fails (returned, not raised)",
       function()
      local s = wsarecv.socket("inet", "stream")
      local r = pack(s:bind("not-an-address", 0))
      s:close()
      assert.is_nil(r[1])
      assert.are.equal("string", type(r[2]))
      assert.are.equal(wsarecv.errors[r[2]], r[3])
    end)

    it("#linux an address with an embedded zero raises, never binds the part before it",
       function()
      local s = wsarecv.socket("inet", "dgram")
      local cases = {
        { "bind", "#1", function() return s:bind("127.0.0.1\0junk", 0) end },
        { "connect", "#1",
          function() return s:connect("127.0.0.1\0junk", 9) end },
        { "sendto", "#2",
          function() return s:sendto("x", "127.0.0.1\0junk", 9) end },
      }
      for _, c in ipairs(cases) do
        local err = raised(c[3])
        assert.is_truthy(err, c[1] .. " did not raise")
        assert.is_truthy(err:find(("bad argument %s to '%s'"):format(c[2], c[1]),
                                  1, true), err)
        assert.is_truthy(err:find("embedded zero", 1, true), err)
      end
      -- and nothing was bound meanwhile
      assert.are.equal(0, select(2, s:getsockname()))
      s:close()
    end)

    it("#wine a unix path with an embedded zero raises, never binds the path before it",
       function()
      local path = unix_path()
      local s = wsarecv.socket("unix", "dgram")
      local err = raised(function() return s:bind(path .. "\0y") end)
      s:close()
      local f = io.open(path)
      if f then f:close(); os.remove(path) end
      assert.is_nil(f, "bound " .. path)
      assert.is_truthy(err)
      assert.is_truthy(err:find("bad argument #1 to 'bind'", 1, true), err)
      assert.is_truthy(err:find("embedded zero", 1, true), err)
    end)

    it("a listen backlog outside int raises (2^32 was a backlog of 0)",
       function()
      local l = wsarecv.socket("inet", "stream")
      assert.are.equal(0, l:bind("127.0.0.1", 0))
      for _, b in ipairs { 1 << 32, math.maxinteger, math.mininteger } do
        local err = raised(function() return l:listen(b) end)
        assert.is_truthy(err, "did not raise for " .. b)
        assert.is_truthy(err:find("bad argument #1 to 'listen'", 1, true), err)
      end
      assert.are.equal(0, l:listen(0x7fffffff))  -- the kernel caps an int
      l:close()
    end)

    it("send flags outside 32 bits: WSAEOPNOTSUPP, nothing sent", function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      -- 2^32 was sent as 0, 2^32 + 1 as MSG_OOB
      for _, f in ipairs { 1 << 32, (1 << 32) + wsarecv.MSG_OOB, -1,
                           math.mininteger, math.maxinteger } do
        assert_fail("WSAEOPNOTSUPP", 10045, c:send("x", f))
      end
      assert.are.equal(4, c:send("last"))
      local buf = wsarecv.buffer(16)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("last", buf:sub(1, 4))
      c:close(); a:close(); l:close()
    end)

    it("connect/listen/accept on 127.0.0.1: accept gives socket, addr, port",
       function()
      local l = wsarecv.socket("inet", "stream")
      assert.are.equal(0, l:bind("127.0.0.1", 0))
      assert.are.equal(0, l:listen(8))
      local laddr, lport = l:getsockname()
      local c = wsarecv.socket("inet", "stream")
      assert.are.equal(0, c:connect("127.0.0.1", lport))
      local a, paddr, pport = l:accept()
      assert.are.equal("userdata", type(a))
      local caddr, cport = c:getsockname()
      assert.are.equal(caddr, paddr)
      assert.are.equal(cport, pport)
      assert.are.same({ laddr, lport }, { c:getpeername() })
      assert.are.same({ caddr, cport }, { a:getpeername() })
      assert.are.same({ laddr, lport }, { a:getsockname() })
      a:close(); c:close(); l:close()
    end)

    it("connect/accept on ::1", function()
      local c, a, l = tcp_pair("inet6", "::1")
      local _, lport = l:getsockname()
      assert.are.same({ "::1", lport }, { c:getpeername() })
      assert.are.equal("::1", (a:getpeername()))
      a:close(); c:close(); l:close()
    end)

    it("#wine connect/accept on a unix path (peer address has no port)", function()
      local path = unix_path()
      local l = wsarecv.socket("unix", "stream")
      assert.are.equal(0, l:bind(path))
      assert.are.equal(0, l:listen())
      local c = wsarecv.socket("unix", "stream")
      assert.are.equal(0, c:connect(path))
      local r = pack(l:accept())
      os.remove(path)
      assert.are.equal(3, r.n)
      assert.are.equal("userdata", type(r[1]))
      assert.are.equal("string", type(r[2]))
      assert.is_nil(r[3])
      local pr = pack(c:getpeername())
      assert.are.equal(path, pr[1])
      assert.is_nil(pr[2])
      assert.are.equal(3, c:send("abc"))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(r[1]:WSARecv(buf, 0)))
      assert.are.equal("abc", buf:sub(1, 3))
      r[1]:close(); c:close(); l:close()
    end)

    it("connect to a port nobody listens on fails with WSAECONNREFUSED", function()
      local b = wsarecv.socket("inet", "stream")
      assert.are.equal(0, b:bind("127.0.0.1", 0))   -- bound, not listening
      local _, port = b:getsockname()
      local c = wsarecv.socket("inet", "stream")
      assert_fail("WSAECONNREFUSED", 10061, c:connect("127.0.0.1", port))
      b:close(); c:close()
    end)

    it("accept on a non-blocking (FIONBIO) listener with nobody waiting",
       function()
      local l = wsarecv.socket("inet", "stream")
      assert.are.equal(0, l:bind("127.0.0.1", 0))
      assert.are.equal(0, l:listen())
      assert.are.equal(0, l:setsockopt("FIONBIO", true))
      assert_fail("WSAEWOULDBLOCK", 10035, l:accept())
      l:close()
    end)

    it("getpeername on an unconnected socket fails with WSAENOTCONN", function()
      local s = wsarecv.socket("inet", "stream")
      assert_fail("WSAENOTCONN", 10057, s:getpeername())
      s:close()
    end)

    it("send returns the bytes sent and the peer receives them", function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      local payload = ("0123456789"):rep(100)
      assert.are.equal(#payload, c:send(payload))
      assert.are.equal(0, c:send(""))
      local buf = wsarecv.buffer(#payload)
      local r = pack(a:WSARecv(buf, wsarecv.MSG_WAITALL))
      assert.are.same({ n = 3, 0, #payload, 0 }, r)
      assert.are.equal(payload, buf:sub())
      a:close(); c:close(); l:close()
    end)

    it("sendto returns the bytes sent and the datagram arrives", function()
      local rx = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, rx:bind("127.0.0.1", 0))
      local addr, port = rx:getsockname()
      local tx = wsarecv.socket("inet", "dgram")
      assert.are.equal(7, tx:sendto("datagrm", addr, port))
      local buf = wsarecv.buffer(32)
      assert.are.same({ n = 3, 0, 7, 0 }, pack(rx:WSARecv(buf, 0)))
      assert.are.equal("datagrm", buf:sub(1, 7))
      rx:close(); tx:close()
    end)

    it("shutdown('send') makes the peer read the data, then 0 bytes", function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      assert.are.equal(4, c:send("last"))
      assert.are.equal(0, c:shutdown("send"))
      local buf = wsarecv.buffer(16)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      -- our side can still receive
      assert.are.equal(2, a:send("ok"))
      assert.are.same({ n = 3, 0, 2, 0 }, pack(c:WSARecv(buf, 0)))
      a:close(); c:close(); l:close()
    end)

    it("shutdown() defaults to both; an unconnected socket gives WSAENOTCONN",
       function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      assert.are.equal(0, c:shutdown())
      local buf = wsarecv.buffer(4)
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      assert_fail("WSAESHUTDOWN", 10058, c:WSARecv(buf, 0))
      local u = wsarecv.socket("inet", "stream")
      assert_fail("WSAENOTCONN", 10057, u:shutdown("both"))
      a:close(); c:close(); l:close(); u:close()
    end)
  end)

  -- Issue 14, item 13: what Windows does (Wine's sock.c test_shutdown,
  -- "shutting down with async I/O pending", and its UDP part).
  describe("shutdown('receive') with a receive pending", function()
    -- a few non-alertable waits: I/O progresses
    local function settle()
      for _ = 1, 5 do wsarecv.SleepEx(10, false) end
    end
    local function done(ov)
      return H.progress_until(function() return not ov.pending end)
    end

    it("the pending receive waits, then completes with the data that comes "
       .. "after; new receives fail with WSAESHUTDOWN", function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      local buf, ov = wsarecv.buffer(5), wsarecv.overlapped()
      H.assert_pending(a:WSARecv(buf, 0, ov))
      assert.are.equal(0, a:shutdown("receive"))
      assert_fail("WSAESHUTDOWN", 10058, a:WSARecv(wsarecv.buffer(5), 0))
      settle()
      -- (Linux's own SHUT_RD would end it with 0 bytes, end of stream)
      assert.is_true(ov.pending, "completed before any data came")
      assert.are.equal(5, c:send("test\0"))
      assert.is_true(done(ov))
      assert.are.same({ nil, 5, "test\0" }, { ov.error, ov.bytes, buf:sub(1, 5) })
      assert_fail("WSAESHUTDOWN", 10058,
                  a:WSARecv(buf, 0, wsarecv.overlapped()))
      -- our sending still works, and the peer's end comes as before
      assert.are.equal(2, a:send("ok"))
      a:close(); c:close(); l:close()
    end)

    it("UDP: a bound socket needs no peer; the pending receive gets the "
       .. "datagram sent after", function()
      local u = H.udp("inet", "127.0.0.1")
      local buf, ov = wsarecv.buffer(8), wsarecv.overlapped()
      H.assert_pending(u.rx:WSARecv(buf, 0, ov))
      assert.are.equal(0, u.rx:shutdown("receive"))
      assert_fail("WSAESHUTDOWN", 10058, u.rx:WSARecv(wsarecv.buffer(5), 0))
      settle()
      assert.is_true(ov.pending, "completed before any datagram came")
      u.send("dgram")
      assert.is_true(done(ov))
      assert.are.same({ nil, 5, "dgram" }, { ov.error, ov.bytes, buf:sub(1, 5) })
      assert_fail("WSAESHUTDOWN", 10058,
                  u.rx:WSARecv(buf, 0, wsarecv.overlapped()))
      u.rx:close(); u.tx:close()
    end)

    it("UDP: shutdown('send') needs no peer either; sendto then fails with "
       .. "WSAESHUTDOWN", function()
      local u = H.udp("inet", "127.0.0.1")
      assert.are.equal(0, u.tx:shutdown("send"))
      assert_fail("WSAESHUTDOWN", 10058, u.tx:sendto("x", "127.0.0.1", u.port))
      assert.are.equal(0, u.tx:shutdown("both"))
      u.rx:close(); u.tx:close()
    end)

    it("a listening socket has no peer: WSAENOTCONN, and it still accepts",
       function()
      local l = wsarecv.socket("inet", "stream")
      assert.are.equal(0, l:bind("127.0.0.1", 0))
      assert.are.equal(0, l:listen())
      local _, port = l:getsockname()
      assert_fail("WSAENOTCONN", 10057, l:shutdown("receive"))
      assert_fail("WSAENOTCONN", 10057, l:shutdown("send"))
      local c = wsarecv.socket("inet", "stream")
      assert.are.equal(0, c:connect("127.0.0.1", port))
      local a = assert(l:accept())
      a:close(); c:close(); l:close()
    end)
  end)
end)
