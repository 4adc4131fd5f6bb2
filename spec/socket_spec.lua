-- wsarecv sockets: creation, adoption, the BSD calls, options, closing,
-- the error table and the flag constants.  Real sockets on loopback only.

local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

-- helpers ---------------------------------------------------------------

local raised, pack, assert_fail = H.raised, H.pack, H.assert_fail
local unix_path = H.unix_path

-- a connected stream pair: client, accepted server side, listener
local function tcp_pair(family, addr)
  local c, a, l = H.stream_pair(family, addr)
  return c, a, l
end

-- a bounded alertable wait until cond() is true (at most ~2 s)
local function wait_until(cond) return H.wait_for(cond, 200) end

-- keep objects alive until the Lua state closes (used for wrap: two socket
-- objects own one descriptor, so neither may close it during the run)
local keep = debug.getregistry()
keep["wsarecv socket_spec keepalive"] = keep["wsarecv socket_spec keepalive"]
                                        or {}
local keepalive = keep["wsarecv socket_spec keepalive"]

local ERRORS = {
  WSAEINTR = 10004, WSAEFAULT = 10014, WSAEINVAL = 10022,
  WSAEWOULDBLOCK = 10035, WSAEINPROGRESS = 10036, WSAENOTSOCK = 10038,
  WSAEMSGSIZE = 10040, WSAEOPNOTSUPP = 10045, WSAENETDOWN = 10050,
  WSAENETRESET = 10052, WSAECONNABORTED = 10053, WSAECONNRESET = 10054,
  WSAENOTCONN = 10057, WSAESHUTDOWN = 10058, WSAETIMEDOUT = 10060,
  WSAECONNREFUSED = 10061, WSANOTINITIALISED = 10093, WSAEDISCON = 10101,
  WSA_OPERATION_ABORTED = 995, WSA_IO_INCOMPLETE = 996, WSA_IO_PENDING = 997,
}

describe("wsarecv.socket", function()

  describe("creation", function()
    for _, family in ipairs { "inet", "inet6", "unix" } do
      for _, stype in ipairs { "stream", "dgram" } do
        it(("creates a %s %s socket"):format(family, stype), function()
          local s = wsarecv.socket(family, stype)
          assert.are.equal("userdata", type(s))
          assert.is_truthy(tostring(s):find("wsarecv.socket", 1, true))
          assert.is_truthy(tostring(s):find(family .. "/" .. stype, 1, true))
          local fd = s:fileno()
          assert.are.equal("integer", math.type(fd))
          assert.is_true(fd >= 0)
          assert.are.equal(0, s:close())
        end)
      end
    end

    it("creates a unix seqpacket socket", function()
      local s = wsarecv.socket("unix", "seqpacket")
      assert.are.equal("userdata", type(s))
      assert.is_truthy(tostring(s):find("unix/seqpacket", 1, true))
      s:close()
    end)

    for _, family in ipairs { "inet", "inet6" } do
      it(("an %s seqpacket socket is created or refused, never raised")
           :format(family), function()
        local r = pack(pcall(wsarecv.socket, family, "seqpacket"))
        assert.is_true(r[1])
        if r[2] ~= nil then       -- e.g. SCTP is available
          assert.are.equal("userdata", type(r[2]))
          r[2]:close()
        else
          assert.is_truthy(r[3] == "WSAESOCKTNOSUPPORT"
                           or r[3] == "WSAEPROTONOSUPPORT", r[3])
          assert.are.equal(wsarecv.errors[r[3]], r[4])
        end
      end)
    end

    it("accepts a protocol by name or number", function()
      local a = wsarecv.socket("inet", "stream", "tcp")
      local b = wsarecv.socket("inet", "dgram", "udp")
      local c = wsarecv.socket("inet6", "stream", 0)
      local d = wsarecv.socket("inet", "stream", 6)
      for _, s in ipairs { a, b, c, d } do
        assert.are.equal("userdata", type(s))
        s:close()
      end
    end)

    it("returns (does not raise) a failure for a protocol the type cannot use",
       function()
      assert_fail("WSAEPROTONOSUPPORT", 10043,
                  wsarecv.socket("inet", "stream", "udp"))
    end)

    it("raises for an unknown type string", function()
      local err = raised(function() return wsarecv.socket("inet", "bogus") end)
      assert.is_truthy(err)
      assert.is_truthy(err:find("bad argument #2 to 'socket'", 1, true), err)
    end)

    it("raises for an unknown family string", function()
      local err = raised(function() return wsarecv.socket("ipx", "stream") end)
      assert.is_truthy(err)
      assert.is_truthy(err:find("bad argument #1 to 'socket'", 1, true), err)
    end)

    it("raises for an unknown protocol string or a missing type", function()
      assert.is_truthy(raised(wsarecv.socket, "inet", "stream", "sctpx"))
      assert.is_truthy(raised(wsarecv.socket, "inet"))
      assert.is_truthy(raised(wsarecv.socket))
    end)

    it("raises for an option string with an embedded zero", function()
      -- luaL_checkoption compares up to the zero: "dgram\0x" was "dgram"
      local cases = {
        { "#1", { "inet\0junk", "dgram" } },
        { "#2", { "inet", "dgram\0junk" } },
        { "#3", { "inet", "dgram", "udp\0junk" } },
      }
      for _, c in ipairs(cases) do
        local err = raised(function() return wsarecv.socket(table.unpack(c[2])) end)
        assert.is_truthy(err, "did not raise")
        assert.is_truthy(err:find("bad argument " .. c[1] .. " to 'socket'",
                                  1, true), err)
        assert.is_truthy(err:find("embedded zero", 1, true), err)
      end
    end)

    it("raises for a protocol number outside int (never truncated)", function()
      -- 2^32 + 17 was read as 17 (UDP) and made a UDP socket
      for _, p in ipairs { (1 << 32) + 17, math.maxinteger, math.mininteger } do
        local err = raised(function() return wsarecv.socket("inet", "dgram", p) end)
        assert.is_truthy(err, "did not raise for " .. p)
        assert.is_truthy(err:find("bad argument #3 to 'socket'", 1, true), err)
      end
    end)
  end)

  describe("wrap", function()
    it("adopts another socket's descriptor and receives on it", function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      local w = wsarecv.wrap(c:fileno())
      -- c and w share one descriptor: keep both open until the state closes
      keepalive[#keepalive + 1] = c
      keepalive[#keepalive + 1] = w
      assert.are.equal("userdata", type(w))
      assert.are.equal(c:fileno(), w:fileno())
      assert.is_truthy(tostring(w):find("inet/stream", 1, true))
      local ca, cp = c:getsockname()
      local wa, wp = w:getsockname()
      assert.are.equal(ca, wa)
      assert.are.equal(cp, wp)
      assert.are.same({ a:getsockname() }, { w:getpeername() })

      -- nonoverlapped
      assert.are.equal(5, a:send("hello"))
      local buf = wsarecv.buffer(16)
      local r = pack(w:WSARecv(buf, 0))
      assert.are.same({ n = 3, 0, 5, 0 }, r)
      assert.are.equal("hello", buf:sub(1, 5))

      -- overlapped, with a routine
      local calls, got = 0, nil
      local r2 = pack(w:WSARecv(buf, 0, nil, function(err, n)
        calls = calls + 1
        got = { err, n, buf:sub(1, n) }
      end))
      assert.are.same({ n = 3, nil, "WSA_IO_PENDING", 997 }, r2)
      assert.are.equal(6, a:send("world!"))
      assert.is_true(wait_until(function() return calls > 0 end))
      assert.are.equal(1, calls)
      assert.are.same({ nil, 6, "world!" }, got)
      a:close()
      l:close()
    end)

    it("adopts a datagram descriptor and learns its type", function()
      local u = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, u:bind("127.0.0.1", 0))
      local addr, port = u:getsockname()
      local w = wsarecv.wrap(u:fileno())
      keepalive[#keepalive + 1] = u
      keepalive[#keepalive + 1] = w
      assert.is_truthy(tostring(w):find("inet/dgram", 1, true))
      local tx = wsarecv.socket("inet", "dgram")
      assert.are.equal(4, tx:sendto("ping", addr, port))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(w:WSARecv(buf, 0)))
      assert.are.equal("ping", buf:sub(1, 4))
      -- message-oriented now: MSG_WAITALL is refused, as for dgram sockets
      assert_fail("WSAEOPNOTSUPP", 10045, w:WSARecv(buf, wsarecv.MSG_WAITALL))
      tx:close()
    end)

    it("returns WSAENOTSOCK for a descriptor that is not open", function()
      assert_fail("WSAENOTSOCK", 10038, wsarecv.wrap(100000))
    end)

    it("raises for a negative descriptor or a non-integer", function()
      assert.is_truthy(raised(wsarecv.wrap, -1))
      assert.is_truthy(raised(wsarecv.wrap, "3"  .. "x"))
      assert.is_truthy(raised(wsarecv.wrap, {}))
      assert.is_truthy(raised(wsarecv.wrap))
    end)
  end)

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

    it("bind + getsockname on a unix path gives the path and no port", function()
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

    it("an address with an embedded zero raises, never binds the part before it",
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

    it("a unix path with an embedded zero raises, never binds the path before it",
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

    it("connect/accept on a unix path (peer address has no port)", function()
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

  describe("wrong argument types raise naming the argument", function()
    local s
    before_each(function() s = wsarecv.socket("inet", "dgram") end)
    after_each(function() s:close() end)

    local cases = {
      { "bind", function(x) return x:bind({}, 0) end, "#1" },
      { "bind", function(x) return x:bind("127.0.0.1", "port") end, "#2" },
      { "bind", function(x) return x:bind("127.0.0.1", 70000) end, "#2" },
      { "connect", function(x) return x:connect("127.0.0.1", {}) end, "#2" },
      { "listen", function(x) return x:listen("many") end, "#1" },
      { "send", function(x) return x:send({}) end, "#1" },
      { "sendto", function(x) return x:sendto({}, "127.0.0.1", 9) end, "#1" },
      { "sendto", function(x) return x:sendto("x", "127.0.0.1", "p") end, "#3" },
      { "shutdown", function(x) return x:shutdown("sideways") end, "#1" },
      { "setsockopt", function(x) return x:setsockopt("SO_RCVBUF", "big") end,
        "#2" },
      { "setsockopt", function(x) return x:setsockopt({}, 1) end, "#1" },
      { "getsockopt", function(x) return x:getsockopt({}) end, "#1" },
      { "WSARecv", function(x) return x:WSARecv("not a buffer", 0) end, "#1" },
      { "WSARecv", function(x) return x:WSARecv(wsarecv.buffer(1), "x") end,
        "#2" },
      { "WSARecv", function(x) return x:WSARecv(wsarecv.buffer(1), 0, 5) end,
        "#3" },
      { "WSARecv", function(x)
          return x:WSARecv(wsarecv.buffer(1), 0, nil, "f") end, "#4" },
      { "CancelIoEx", function(x) return x:CancelIoEx(7) end, "#1" },
      { "WSAGetOverlappedResult", function(x)
          return x:WSAGetOverlappedResult({}) end, "#1" },
    }
    for i, c in ipairs(cases) do
      it(("%s case %d"):format(c[1], i), function()
        local err = raised(c[2], s)
        assert.is_truthy(err, "did not raise")
        local want = ("bad argument %s to '%s'"):format(c[3], c[1])
        assert.is_truthy(err:find(want, 1, true), err)
      end)
    end

    -- Argument types are checked before the socket's state: a closed socket
    -- does not turn a programming mistake into nil, "WSAENOTSOCK".
    local buf1 = function() return wsarecv.buffer(1) end
    local closed_cases = {
      { "bind", "#1", function(x) return x:bind({}, 0) end },
      { "bind", "#2", function(x) return x:bind("127.0.0.1", {}) end },
      { "connect", "#1", function(x) return x:connect(false, 9) end },
      { "connect", "#2", function(x) return x:connect("127.0.0.1", "p") end },
      { "listen", "#1", function(x) return x:listen({}) end },
      -- accept, getsockname, getpeername take nothing but self
      { "accept", "#1", function(x) return x.accept({}) end },
      { "send", "#1", function(x) return x:send({}) end },
      { "send", "#2", function(x) return x:send("x", "oob") end },
      { "sendto", "#1", function(x) return x:sendto({}, "127.0.0.1", 9) end },
      { "sendto", "#2", function(x) return x:sendto("x", {}, 9) end },
      { "sendto", "#3", function(x) return x:sendto("x", "127.0.0.1", {}) end },
      { "shutdown", "#1", function(x) return x:shutdown({}) end },
      { "setsockopt", "#1", function(x) return x:setsockopt({}, 1) end },
      { "setsockopt", "#2",
        function(x) return x:setsockopt("SO_RCVBUF", {}) end },
      { "setsockopt", "#2",
        function(x) return x:setsockopt("IP_ADD_MEMBERSHIP", "239.1.1.1") end },
      { "setsockopt", "#1", function(x) return x:setsockopt("SO_ERROR", 1) end },
      { "getsockopt", "#1", function(x) return x:getsockopt({}) end },
      { "getsockopt", "#1",
        function(x) return x:getsockopt("IP_ADD_MEMBERSHIP") end },
      { "getsockname", "#1", function(x) return x.getsockname(7) end },
      { "getpeername", "#1", function(x) return x.getpeername(7) end },
      { "WSARecv", "#1", function(x) return x:WSARecv(7, 0) end },
      { "WSARecv", "#1", function(x) return x:WSARecv({ "x" }, 0) end },
      { "WSARecv", "#1", function(x)
          return x:WSARecv({ buf1(), 7 }, 0, wsarecv.overlapped()) end },
      { "WSARecv", "#2", function(x) return x:WSARecv(buf1(), "x") end },
      { "WSARecv", "#3", function(x) return x:WSARecv(buf1(), 0, {}) end },
      { "WSARecv", "#4", function(x)
          return x:WSARecv(buf1(), 0, nil, "f") end },
      { "WSARecvMsg", "#1", function(x) return x:WSARecvMsg({}) end },
      { "WSARecvMsg", "#1", function(x)
          return x:WSARecvMsg(wsarecv.msg { buffers = { "x" } }) end },
      { "WSARecvMsg", "#2", function(x)
          return x:WSARecvMsg(wsarecv.msg { buffers = buf1() }, {}) end },
      { "WSARecvMsg", "#3", function(x)
          return x:WSARecvMsg(wsarecv.msg { buffers = buf1() }, nil, 1) end },
      { "WSAGetOverlappedResult", "#1", function(x)
          return x:WSAGetOverlappedResult({}) end },
      { "CancelIoEx", "#1", function(x) return x:CancelIoEx({}) end },
    }
    for i, c in ipairs(closed_cases) do
      it(("%s on a closed socket, case %d: still raises"):format(c[1], i),
         function()
        local t = wsarecv.socket("inet", "dgram")
        t:close()
        local err = raised(c[3], t)
        assert.is_truthy(err, "did not raise")
        local want = ("bad argument %s to '%s'"):format(c[2], c[1])
        assert.is_truthy(err:find(want, 1, true), err)
      end)
    end

    it("a bad slice does not hide a wrong type later in the array", function()
      -- the WSAEFAULT of item 1 used to be returned before item 2 was read
      local b = wsarecv.buffer(4)
      for _, ov in ipairs { false, true } do
        local err = raised(function()
          return s:WSARecv({ { b, -1 }, "x" }, 0,
                           ov and wsarecv.overlapped() or nil)
        end)
        assert.is_truthy(err, "did not raise")
        assert.is_truthy(err:find("bad argument #1 to 'WSARecv'", 1, true), err)
        assert.is_truthy(err:find("item 2", 1, true), err)
      end
    end)
  end)

  describe("options", function()
    -- option, family, type: every boolean option listed in API.md
    local bools = {
      { "SO_REUSEADDR", "inet", "stream" },
      { "SO_REUSEPORT", "inet", "stream" },
      { "SO_BROADCAST", "inet", "dgram" },
      { "FIONBIO", "inet", "stream" },
      { "IPV6_V6ONLY", "inet6", "stream" },
      { "IP_PKTINFO", "inet", "dgram" },
      { "IPV6_PKTINFO", "inet6", "dgram" },
      { "IP_RECVTOS", "inet", "dgram" },
      { "IP_RECVTTL", "inet", "dgram" },
      { "IPV6_RECVTCLASS", "inet6", "dgram" },
      { "IPV6_HOPLIMIT", "inet6", "dgram" },
      { "SO_TIMESTAMP", "inet", "dgram" },
      { "SO_RXQ_OVFL", "inet", "dgram" },
    }
    for _, o in ipairs(bools) do
      it(("%s is a boolean: set true/false, read back as a boolean")
           :format(o[1]), function()
        local s = wsarecv.socket(o[2], o[3])
        assert.are.equal(0, s:setsockopt(o[1], true))
        assert.is_true(s:getsockopt(o[1]))
        assert.are.equal(0, s:setsockopt(o[1], false))
        assert.is_false(s:getsockopt(o[1]))
        assert.are.equal(0, s:setsockopt(o[1], 1))   -- 0/1 work too
        assert.is_true(s:getsockopt(o[1]))
        assert.are.equal(0, s:setsockopt(o[1], 0))
        assert.is_false(s:getsockopt(o[1]))
        s:close()
      end)
    end

    for _, name in ipairs { "SO_RCVBUF", "SO_SNDBUF" } do
      it(name .. " is an integer (the kernel may round it up)", function()
        local s = wsarecv.socket("inet", "stream")
        assert.are.equal(0, s:setsockopt(name, 65536))
        local v = s:getsockopt(name)
        assert.are.equal("integer", math.type(v))
        assert.is_true(v >= 65536, tostring(v))
        assert.is_true(v <= 4 * 65536, tostring(v))
        s:close()
      end)
    end

    it("SO_RCVTIMEO is in milliseconds, as on Windows", function()
      local s = wsarecv.socket("inet", "stream")
      assert.are.equal(0, s:getsockopt("SO_RCVTIMEO"))
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 1500))
      local v = s:getsockopt("SO_RCVTIMEO")
      assert.are.equal("integer", math.type(v))
      assert.are.equal(1500, v)
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 7))
      assert.are.equal(7, s:getsockopt("SO_RCVTIMEO"))
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 0))
      assert.are.equal(0, s:getsockopt("SO_RCVTIMEO"))
      s:close()
    end)

    it("FIONBIO defaults to false", function()
      local s = wsarecv.socket("inet", "stream")
      assert.is_false(s:getsockopt("FIONBIO"))
      s:close()
    end)

    it("SO_REUSEADDR has an effect: two non-listening sockets may share a port",
       function()
      -- the option has an effect, not only a stored value
      local s = wsarecv.socket("inet", "stream")
      assert.are.equal(0, s:setsockopt("SO_REUSEADDR", true))
      assert.are.equal(0, s:bind("127.0.0.1", 0))
      local _, port = s:getsockname()
      local t = wsarecv.socket("inet", "stream")
      assert.are.equal(0, t:setsockopt("SO_REUSEADDR", true))
      -- two non-listening sockets with SO_REUSEADDR may share a port
      assert.are.equal(0, t:bind("127.0.0.1", port))
      s:close(); t:close()
    end)

    it("IP_ADD_MEMBERSHIP takes {group, interface} and is set-only", function()
      local s = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, s:bind("0.0.0.0", 0))
      assert.are.equal(0, s:setsockopt("IP_ADD_MEMBERSHIP",
                                       { "239.255.42.1", "127.0.0.1" }))
      assert.are.equal(0, s:setsockopt("IP_ADD_MEMBERSHIP",
                                       { group = "239.255.42.2",
                                         interface = "127.0.0.1" }))
      assert_fail("WSAEINVAL", 10022,
                  s:setsockopt("IP_ADD_MEMBERSHIP", { "not.a.group", "" }))
      local err = raised(function() return s:getsockopt("IP_ADD_MEMBERSHIP") end)
      assert.is_truthy(err)
      assert.is_truthy(raised(function()
        return s:setsockopt("IP_ADD_MEMBERSHIP", "239.255.42.3") end))
      s:close()
    end)

    it("IPV6_ADD_MEMBERSHIP takes {group, interface}", function()
      local s = wsarecv.socket("inet6", "dgram")
      assert.are.equal(0, s:bind("::", 0))
      assert.are.equal(0, s:setsockopt("IPV6_ADD_MEMBERSHIP", { "ff02::4242", "1" }))
      assert.are.equal(0, s:setsockopt("IPV6_ADD_MEMBERSHIP", { "ff02::4243", "lo" }))
      assert_fail("WSAEINVAL", 10022,
                  s:setsockopt("IPV6_ADD_MEMBERSHIP", { "zz::", "1" }))
      assert.is_truthy(raised(function()
        return s:getsockopt("IPV6_ADD_MEMBERSHIP") end))
      s:close()
    end)

    it("an unknown option name raises, for set and get", function()
      local s = wsarecv.socket("inet", "stream")
      local e1 = raised(function() return s:setsockopt("SO_NOSUCH", 1) end)
      local e2 = raised(function() return s:getsockopt("SO_NOSUCH") end)
      s:close()
      assert.is_truthy(e1)
      assert.is_truthy(e2)
      assert.is_truthy(e1:find("SO_NOSUCH", 1, true), e1)
      assert.is_truthy(e2:find("SO_NOSUCH", 1, true), e2)
      assert.is_truthy(e1:find("bad argument #1 to 'setsockopt'", 1, true), e1)
      assert.is_truthy(e2:find("bad argument #1 to 'getsockopt'", 1, true), e2)
    end)

    it("option names are case-sensitive constant names", function()
      local s = wsarecv.socket("inet", "stream")
      local e = raised(function() return s:getsockopt("so_rcvbuf") end)
      s:close()
      assert.is_truthy(e)
    end)

    it("an option name with an embedded zero raises, for set and get", function()
      local s = wsarecv.socket("inet", "stream")
      local e1 = raised(function() return s:setsockopt("SO_RCVBUF\0x", 1) end)
      local e2 = raised(function() return s:getsockopt("SO_RCVBUF\0x") end)
      s:close()
      assert.is_truthy(e1 and e1:find("bad argument #1 to 'setsockopt'", 1, true),
                       e1)
      assert.is_truthy(e2 and e2:find("bad argument #1 to 'getsockopt'", 1, true),
                       e2)
      assert.is_truthy(e1:find("embedded zero", 1, true), e1)
    end)

    it("a membership group or interface with an embedded zero raises", function()
      local s = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, s:bind("0.0.0.0", 0))
      local values = {
        { "239.255.42.9\0junk", "127.0.0.1" },
        { "239.255.42.9", "127.0.0.1\0junk" },
        { group = "239.255.42.9\0junk", interface = "127.0.0.1" },
        { group = "239.255.42.9", interface = "lo\0junk" },
      }
      for i, v in ipairs(values) do
        local err = raised(function()
          return s:setsockopt("IP_ADD_MEMBERSHIP", v) end)
        assert.is_truthy(err, "case " .. i .. " did not raise")
        assert.is_truthy(err:find("bad argument #2 to 'setsockopt'", 1, true),
                         err)
        assert.is_truthy(err:find("embedded zero", 1, true), err)
      end
      s:close()
    end)

    it("an integer value outside the option's C type raises, never truncated",
       function()
      local s = wsarecv.socket("inet", "dgram")
      local before = s:getsockopt("SO_RCVBUF")
      -- 2^40 was set as 0 (the kernel's minimum), 2^32 + 64 as 64
      local cases = {
        { "SO_RCVBUF", 1 << 40 }, { "SO_RCVBUF", (1 << 32) + 65536 },
        { "SO_RCVBUF", math.mininteger }, { "IP_TTL", (1 << 32) + 64 },
        { "SO_RCVTIMEO", 1 << 32 }, { "SO_RCVTIMEO", math.maxinteger },
      }
      for _, c in ipairs(cases) do
        local err = raised(function() return s:setsockopt(c[1], c[2]) end)
        assert.is_truthy(err, c[1] .. " = " .. c[2] .. " did not raise")
        assert.is_truthy(err:find("bad argument #2 to 'setsockopt'", 1, true),
                         err)
        assert.is_truthy(err:find("out of range", 1, true), err)
      end
      assert.are.equal(before, s:getsockopt("SO_RCVBUF"))
      assert.are.equal(0, s:getsockopt("SO_RCVTIMEO"))
      -- the edges of the ranges are taken
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 0xFFFFFFFF))
      assert.are.equal(0xFFFFFFFF, s:getsockopt("SO_RCVTIMEO"))
      assert.are.equal(0, s:setsockopt("SO_RCVBUF", 0x7fffffff))
      -- a boolean option reads any integer as true or false
      assert.are.equal(0, s:setsockopt("SO_BROADCAST", 1 << 40))
      assert.is_true(s:getsockopt("SO_BROADCAST"))
      s:close()
    end)
  end)

  describe("flags outside 32 bits", function()
    -- Flags are 32-bit on Windows.  A value that is not (2^32, a negative
    -- number) is an unknown flag: WSAEOPNOTSUPP, nothing posted or consumed,
    -- no routine.  2^32 used to be read as 0 and the receive was posted.
    local BAD = { 1 << 32, (1 << 32) + wsarecv.MSG_PEEK, -1, -(1 << 32),
                  math.mininteger, math.maxinteger }

    -- a datagram "data" waits on u.rx
    local function udp_with_data()
      local u = H.udp("inet", "127.0.0.1")
      u.send("data")
      assert.is_true(H.progress_until(function()
        return u.rx:WSARecv(wsarecv.buffer(16), wsarecv.MSG_PEEK) ~= nil end))
      return u
    end

    -- no routine ran, nothing is pending, the datagram is still there
    local function check_untouched(u, calls)
      wsarecv.SleepEx(10, true)
      assert.are.equal(0, calls[1])
      assert.are.equal(0, u.rx:pending())
      local buf = wsarecv.buffer(16)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(u.rx:WSARecv(buf, 0)))
      assert.are.equal("data", buf:sub(1, 4))
      u.rx:close(); u.tx:close()
    end

    for _, f in ipairs(BAD) do
      it(("WSARecv with flags %d: WSAEOPNOTSUPP in every form"):format(f),
         function()
        local u = udp_with_data()
        local calls = { 0 }
        local function routine() calls[1] = calls[1] + 1 end
        local buf = wsarecv.buffer(16)
        assert_fail("WSAEOPNOTSUPP", 10045, u.rx:WSARecv(buf, f))
        assert_fail("WSAEOPNOTSUPP", 10045,
                    u.rx:WSARecv(buf, f, wsarecv.overlapped()))
        assert_fail("WSAEOPNOTSUPP", 10045, u.rx:WSARecv(buf, f, nil, routine))
        check_untouched(u, calls)
      end)

      it(("WSARecvMsg with msg flags %d: WSAEOPNOTSUPP"):format(f), function()
        local u = udp_with_data()
        local calls = { 0 }
        local function routine() calls[1] = calls[1] + 1 end
        local m1 = wsarecv.msg { buffers = wsarecv.buffer(16), flags = f }
        local m2 = wsarecv.msg { buffers = wsarecv.buffer(16) }
        m2.flags = f
        for _, m in ipairs { m1, m2 } do
          assert_fail("WSAEOPNOTSUPP", 10045, u.rx:WSARecvMsg(m))
          assert_fail("WSAEOPNOTSUPP", 10045,
                      u.rx:WSARecvMsg(m, wsarecv.overlapped()))
          assert_fail("WSAEOPNOTSUPP", 10045, u.rx:WSARecvMsg(m, nil, routine))
        end
        check_untouched(u, calls)
      end)
    end

    it("0xFFFFFFFF is refused; an integral float is read as its integer",
       function()
      local u = udp_with_data()
      assert_fail("WSAEOPNOTSUPP", 10045,
                  u.rx:WSARecv(wsarecv.buffer(4), 0xFFFFFFFF))
      -- MSG_PEEK as 2.0: peeks, the datagram stays
      local buf = wsarecv.buffer(16)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(u.rx:WSARecv(buf, 2.0)))
      check_untouched(u, { 0 })
    end)
  end)

  describe("closing", function()
    it("close() returns 0 and is idempotent", function()
      local s = wsarecv.socket("inet", "stream")
      assert.are.equal(0, s:close())
      assert.are.equal(0, s:close())
      assert.are.equal(0, s:close())
      assert.is_truthy(tostring(s):find("closed", 1, true))
    end)

    local methods = {
      { "bind", function(s) return s:bind("127.0.0.1", 0) end },
      { "connect", function(s) return s:connect("127.0.0.1", 9) end },
      { "listen", function(s) return s:listen() end },
      { "accept", function(s) return s:accept() end },
      { "send", function(s) return s:send("x") end },
      { "sendto", function(s) return s:sendto("x", "127.0.0.1", 9) end },
      { "shutdown", function(s) return s:shutdown("both") end },
      { "setsockopt", function(s) return s:setsockopt("SO_RCVBUF", 4096) end },
      { "setsockopt FIONBIO", function(s) return s:setsockopt("FIONBIO", true) end },
      { "getsockopt", function(s) return s:getsockopt("SO_RCVBUF") end },
      { "getsockopt SO_RCVTIMEO", function(s) return s:getsockopt("SO_RCVTIMEO") end },
      { "getsockname", function(s) return s:getsockname() end },
      { "getpeername", function(s) return s:getpeername() end },
      { "WSARecv nonoverlapped", function(s)
          return s:WSARecv(wsarecv.buffer(4), 0) end },
      { "WSARecv overlapped", function(s)
          return s:WSARecv(wsarecv.buffer(4), 0, wsarecv.overlapped()) end },
      { "WSARecv with routine", function(s)
          return s:WSARecv(wsarecv.buffer(4), 0, nil, function() end) end },
      { "CancelIoEx", function(s) return s:CancelIoEx() end },
    }
    for _, m in ipairs(methods) do
      it(("%s on a closed socket returns nil, WSAENOTSOCK, 10038"):format(m[1]),
         function()
        local s = wsarecv.socket("inet", "stream")
        s:close()
        assert.are.same({ n = 3, nil, "WSAENOTSOCK", 10038 }, pack(m[2](s)))
      end)
    end

    it("a routine passed to a closed socket never runs", function()
      local s = wsarecv.socket("inet", "stream")
      s:close()
      local calls = 0
      s:WSARecv(wsarecv.buffer(4), 0, nil, function() calls = calls + 1 end)
      wsarecv.SleepEx(20, true)
      assert.are.equal(0, calls)
    end)

    it("close() aborts a pending receive (WSA_OPERATION_ABORTED, 0 bytes)",
       function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      local got, calls = nil, 0
      local ov = wsarecv.overlapped()
      assert_fail("WSA_IO_PENDING", 997,
                  a:WSARecv(wsarecv.buffer(8), 0, ov, function(err, n, o)
                    calls = calls + 1
                    got = { err, n, o == ov }
                  end))
      assert.are.equal(1, a:pending())
      assert.are.equal(0, a:close())
      assert.are.equal(0, a:pending())
      assert.is_true(wait_until(function() return calls > 0 end))
      wsarecv.SleepEx(10, true)
      assert.are.equal(1, calls)
      assert.are.same({ "WSA_OPERATION_ABORTED", 0, true }, got)
      assert.are.equal("WSA_OPERATION_ABORTED", ov.error)
      assert.are.equal(0, ov.bytes)
      c:close(); l:close()
    end)

    it("a <close> variable closes the socket at the end of its scope", function()
      local ref, port
      do
        local s <close> = wsarecv.socket("inet", "stream")
        ref = s
        assert.are.equal(0, s:bind("127.0.0.1", 0))
        assert.are.equal(0, s:listen())
        port = select(2, s:getsockname())
      end
      assert_fail("WSAENOTSOCK", 10038, ref:getsockname())
      -- the port is free again: the descriptor really was closed
      local c = wsarecv.socket("inet", "stream")
      assert_fail("WSAECONNREFUSED", 10061, c:connect("127.0.0.1", port))
      c:close()
    end)

    it("the collector closes a socket nobody references", function()
      local weak = setmetatable({}, { __mode = "v" })
      -- in its own function, so no stack slot keeps the socket alive
      local function listener()
        local s = wsarecv.socket("inet", "stream")
        assert.are.equal(0, s:bind("127.0.0.1", 0))
        assert.are.equal(0, s:listen())
        weak[1] = s
        return (select(2, s:getsockname()))
      end
      local port = listener()
      collectgarbage("collect")
      collectgarbage("collect")
      assert.is_nil(weak[1])
      local c = wsarecv.socket("inet", "stream")
      assert_fail("WSAECONNREFUSED", 10061, c:connect("127.0.0.1", port))
      c:close()
    end)
  end)

  describe("pending()", function()
    it("counts the operations outstanding on the socket", function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      assert.are.equal(0, a:pending())
      local ovs = {}
      for i = 1, 3 do
        ovs[i] = wsarecv.overlapped()
        assert_fail("WSA_IO_PENDING", 997,
                    a:WSARecv(wsarecv.buffer(4), 0, ovs[i]))
      end
      assert.are.equal(3, a:pending())
      assert.are.equal(4, c:send("abcd"))
      assert.is_true(wait_until(function() return a:pending() == 2 end))
      assert.are.equal(0, a:CancelIoEx())
      assert.are.equal(0, a:pending())
      a:close(); c:close(); l:close()
    end)
  end)
end)

describe("wsarecv.errors and strerror", function()
  for name, code in pairs(ERRORS) do
    it(("%s is %d in both directions"):format(name, code), function()
      assert.are.equal(code, wsarecv.errors[name])
      assert.are.equal(name, wsarecv.errors[code])
      assert.are.equal("integer", math.type(wsarecv.errors[name]))
    end)

    it(("strerror gives one line for %s by name and by code"):format(name),
       function()
      local a, b = wsarecv.strerror(name), wsarecv.strerror(code)
      assert.are.equal("string", type(a))
      assert.is_true(#a > 5)
      assert.is_falsy(a:find("\n", 1, true))
      assert.are.equal(a, b)
      assert.is_falsy(a:find("unknown error", 1, true))
    end)
  end

  it("strerror meanings say what the error is", function()
    assert.is_truthy(wsarecv.strerror("WSAECONNRESET"):lower():find("reset"))
    assert.is_truthy(wsarecv.strerror(10060):lower():find("timed out"))
    assert.is_truthy(wsarecv.strerror("WSAENOTCONN"):lower():find("not connected"))
  end)

  it("different errors have different meanings", function()
    local seen = {}
    for name in pairs(ERRORS) do
      local m = wsarecv.strerror(name)
      assert.is_nil(seen[m], name .. " shares its text with " .. tostring(seen[m]))
      seen[m] = name
    end
  end)
end)

describe("MSG_* constants", function()
  local want = {
    MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_WAITALL = 0x8,
    MSG_PUSH_IMMEDIATE = 0x20, MSG_TRUNC = 0x100, MSG_CTRUNC = 0x200,
    MSG_BCAST = 0x400, MSG_MCAST = 0x800, MSG_PARTIAL = 0x8000,
  }
  for name, v in pairs(want) do
    it(("%s has the Windows value 0x%x"):format(name, v), function()
      assert.are.equal(v, wsarecv[name])
      assert.are.equal("integer", math.type(wsarecv[name]))
    end)
  end

  it("MAX_PENDING is 4096", function()
    assert.are.equal(4096, wsarecv.MAX_PENDING)
  end)
end)
