-- Making a socket (the socket page: af, type, protocol; WSAESOCKTNOSUPPORT
-- and WSAEPROTONOSUPPORT) and adopting a descriptor (wsarecv.wrap).
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local raised, pack, assert_fail = H.raised, H.pack, H.assert_fail

-- a connected stream pair: client, accepted server side, listener
local tcp_pair = H.stream_pair

-- a bounded alertable wait until cond() is true (at most ~2 s)
local function wait_until(cond) return H.wait_for(cond, 200) end

describe("wsarecv.socket", function()

  describe("creation", function()
    for _, family in ipairs { "inet", "inet6", "unix" } do
      for _, stype in ipairs { "stream", "dgram" } do
        it(("creates a %s %s socket%s"):format(family, stype,
             family ~= "unix" and ""
             or stype == "dgram" and " #linux" or " #wine"), function()
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

    it("#linux creates a unix seqpacket socket", function()
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
    it("adopts a duplicate of another socket's descriptor and receives on it",
       function()
      local c, a, l = tcp_pair("inet", "127.0.0.1")
      local w = wsarecv.wrap(c:fileno(), { dup = true })
      assert.are.equal("userdata", type(w))
      assert.are_not.equal(c:fileno(), w:fileno())
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
      assert.are.same(H.PENDING, r2)
      assert.are.equal(6, a:send("world!"))
      assert.is_true(wait_until(function() return calls > 0 end))
      assert.are.equal(1, calls)
      assert.are.same({ nil, 6, "world!" }, got)
      w:close()
      c:close()
      a:close()
      l:close()
    end)

    it("adopts a datagram descriptor and learns its type", function()
      local u = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, u:bind("127.0.0.1", 0))
      local addr, port = u:getsockname()
      local w = wsarecv.wrap(u:fileno(), { dup = true })
      assert.is_truthy(tostring(w):find("inet/dgram", 1, true))
      local tx = wsarecv.socket("inet", "dgram")
      assert.are.equal(4, tx:sendto("ping", addr, port))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(w:WSARecv(buf, 0)))
      assert.are.equal("ping", buf:sub(1, 4))
      -- message-oriented now: MSG_WAITALL is refused, as for dgram sockets
      assert_fail("WSAEOPNOTSUPP", 10045, w:WSARecv(buf, wsarecv.MSG_WAITALL))
      tx:close()
      w:close()
      u:close()
    end)

    -- Issue 14, item 9: two sockets on one descriptor.  Without the
    -- refusal, closing the second one aborted the process inside libuv
    -- (two watches of one descriptor), hence the child process.
    local CHILD = 'local wsarecv = require "wsarecv"\n'
      .. 'io.stdout:setvbuf("no")\n' .. H.CHILD_UDP

    it("refuses the descriptor of an open socket (WSAEINVAL); dup is fine",
       function()
      local out, how, rc = H.run_child(CHILD .. [[
        local s, send = udp()
        local buf, ov = wsarecv.buffer(8), wsarecv.overlapped()
        assert(select(2, s:WSARecv(buf, 0, ov)) == "WSA_IO_PENDING")
        local w, e, c = wsarecv.wrap(s:fileno())
        print("plain", w == nil, e, c)
        print("why", select(3, wsarecv.lasterror()))
        if w then
          w:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())
          w:close()
        end
        wsarecv.SleepEx(10, false)
        local d = assert(wsarecv.wrap(s:fileno(), { dup = true }))
        d:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())
        d:close()
        wsarecv.SleepEx(10, false)
        -- the owner goes on receiving
        send("ping")
        for _ = 1, 300 do
          if not ov.pending then break end
          wsarecv.SleepEx(10, false)
        end
        print("owner", ov.pending, ov.error, ov.bytes, buf:sub(1, ov.bytes))
        print("close", s:close())
      ]])
      assert.equal("exit", how, out)
      assert.equal(0, rc, out)
      assert.equal("plain\ttrue\tWSAEINVAL\t10022\n"
        .. "why\tan open wsarecv socket owns this descriptor: use that "
        .. "socket, or wrap a dup of it\n"
        .. "owner\tfalse\tnil\t4\tping\nclose\t0\n", out)
    end)

    it("refuses the descriptor of a socket that was never used", function()
      local out, how, rc = H.run_child(CHILD .. [[
        local s = udp()
        print("plain", select(2, wsarecv.wrap(s:fileno())))
        print("close", s:close())
      ]])
      assert.equal("exit", how, out)
      assert.equal(0, rc, out)
      assert.equal("plain\tWSAEINVAL\t10022\nclose\t0\n", out)
    end)

    -- #linux: pollfd() is the Linux platform's epoll descriptor
    it("#linux refuses a descriptor that is no socket: the loop's and a "
       .. "port's pollfd (WSAENOTSOCK)", function()
      local out, how, rc = H.run_child(CHILD .. [[
        local port = wsarecv.CreateIoCompletionPort()
        for _, fd in ipairs { wsarecv.pollfd(), port:pollfd() } do
          for _, opts in ipairs { {}, { dup = true } } do
            local w, e, c = wsarecv.wrap(fd, opts)
            print(w == nil, e, c)
            if w then w:close() end
          end
        end
        -- both still work
        local s, send = udp()
        local ov = wsarecv.overlapped()
        s:WSARecv(wsarecv.buffer(8), 0, ov)
        send("x")
        for _ = 1, 300 do
          if not ov.pending then break end
          wsarecv.SleepEx(10, false)
        end
        print("received", ov.bytes)
        port:PostQueuedCompletionStatus(7, 1)
        print("port", port:GetQueuedCompletionStatus(0))
        port:close()
      ]])
      assert.equal("exit", how, out)
      assert.equal(0, rc, out)
      assert.equal(("true\tWSAENOTSOCK\t10038\n"):rep(4)
        .. "received\t1\nport\t7\t1\tnil\n", out)
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
end)
