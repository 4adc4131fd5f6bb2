-- Programming mistakes raise, naming the argument, on open and closed
-- sockets; flags outside 32 bits (DWORD on Windows: the WSARecv page's
-- lpFlags) are an unknown flag, WSAEOPNOTSUPP.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local raised, pack, assert_fail = H.raised, H.pack, H.assert_fail

describe("wsarecv.socket", function()

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
end)
