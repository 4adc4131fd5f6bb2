-- Closing a socket (the closesocket page: pending overlapped operations
-- are cancelled, WSAENOTSOCK afterwards), <close> variables, the collector;
-- and counting the operations outstanding.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pack, assert_fail = H.pack, H.assert_fail

-- a connected stream pair: client, accepted server side, listener
local tcp_pair = H.stream_pair

-- a bounded alertable wait until cond() is true (at most ~2 s)
local function wait_until(cond) return H.wait_for(cond, 200) end

describe("wsarecv.socket", function()

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
