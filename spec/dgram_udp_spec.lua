-- UDP sockets (the WSARecv page's WSAEINVAL for an unbound socket and
-- WSAECONNRESET for ICMP port unreachable; Windows' connected-UDP
-- filtering): binding, addresses, connecting, ICMP errors, dual stack.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local D = require "spec.support.dgram"(after_each)
local sock, bound_wait = D.T.socket, D.bound_wait

local wait_for, pack, assert_pending = H.wait_for, H.pack, H.assert_pending
local closed_udp_port = H.closed_udp_port

-- the CPU time (os.clock) spent in wait()
local function cpu_during(wait)
  local c0 = os.clock()
  wait()
  return os.clock() - c0
end

---------------------------------------------------------------------------
-- binding, connecting, ICMP
---------------------------------------------------------------------------

describe("UDP sockets", function()
  for _, kind in ipairs { "inet", "inet6" } do
    it("an unbound socket: WSARecv fails with WSAEINVAL (" .. kind .. ")",
      function()
        local s = bound_wait(sock(kind, "dgram"))
        local b = wsarecv.buffer(8)
        assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(s:WSARecv(b, 0)))
        local ran = false
        local ov = wsarecv.overlapped()
        assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
          pack(s:WSARecv(b, 0, ov, function() ran = true end)))
        assert.equal(0, s:pending())
        assert.is_false(ov.pending)
        wsarecv.SleepEx(10, true)
        assert.is_false(ran)
      end)
  end

  it("#linux an unbound, unconnected unix dgram socket: WSARecv fails with "
    .. "WSAEINVAL", function()
      local s = bound_wait(sock("unix", "dgram"))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(s:WSARecv(wsarecv.buffer(8), 0)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(s:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())))
      assert.equal(0, s:pending())
    end)

  it("#linux an inet socket given an IPv6 address: WSAEAFNOSUPPORT from bind, "
    .. "connect and sendto; text that is no address: WSAHOST_NOT_FOUND",
    function()
      local s = sock("inet", "dgram")
      local AF = { nil, "WSAEAFNOSUPPORT", 10047, n = 3 }
      local NF = { nil, "WSAHOST_NOT_FOUND", 11001, n = 3 }
      for _, a in ipairs { "::1", "::", "fe80::1%lo", "::ffff:127.0.0.1" } do
        assert.same(AF, pack(s:bind(a, 0)), a)
        assert.same(AF, pack(s:connect(a, 9)), a)
        assert.same(AF, pack(s:sendto("x", a, 9)), a)
      end
      for _, a in ipairs { "no such host", "127.0.0.1.5", "::1::2" } do
        assert.same(NF, pack(s:bind(a, 0)), a)
        assert.same(NF, pack(s:sendto("x", a, 9)), a)
      end
      -- still usable: nothing was bound
      assert.equal(0, s:bind("127.0.0.1", 0))
    end)

  it("#linux an IPv6 scope naming no interface: an unknown name is no address "
    .. "(WSAHOST_NOT_FOUND), an unknown index WSAEADDRNOTAVAIL", function()
      local s = sock("inet6", "dgram")
      local NF = { nil, "WSAHOST_NOT_FOUND", 11001, n = 3 }
      for _, a in ipairs { "fe80::1%nosuchif", "fe80::1%", "fe80::1%12abc",
        "fe80::1%99999999999" } do
        assert.same(NF, pack(s:bind(a, 0)), a)
        assert.same(NF, pack(s:connect(a, 9)), a)
        assert.same(NF, pack(s:sendto("x", a, 9)), a)
      end
      assert.same({ nil, "WSAEADDRNOTAVAIL", 10049, n = 3 },
        pack(s:bind("fe80::1%99999", 0)))
      -- still usable: nothing was bound, nor tied to an interface
      assert.equal(0, s:bind("::1", 0))
      -- the kernel's word for it (ENODEV) is the same error
      assert.same({ nil, "WSAEADDRNOTAVAIL", 10049, n = 3 },
        pack(s:setsockopt("IPV6_ADD_MEMBERSHIP", { "ff02::1:3", "99999" })))
    end)

  it("becomes receivable once sendto bound it implicitly", function()
    local rx = bound_wait(sock("inet", "dgram"))
    local peer, pport = H.bound(sock("inet", "dgram"), "127.0.0.1")
    local b = wsarecv.buffer(8)
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(rx:WSARecv(b, 0)))
    assert.equal(1, rx:sendto("?", "127.0.0.1", pport))
    local _, myport = rx:getsockname()
    assert.is_true(myport > 0)
    peer:sendto("back", "127.0.0.1", myport)
    assert.same({ 0, 4, 0, n = 3 }, pack(rx:WSARecv(b, 0)))
    assert.equal("back", b:sub(1, 4))
  end)

  for _, kind in ipairs { "inet", "inet6" } do
    local addr = kind == "inet" and "127.0.0.1" or "::1"

    it("#wine connected socket that sent to a closed port: the next receive fails "
      .. "WSAECONNRESET (nonoverlapped, " .. kind .. ")", function()
        local port = closed_udp_port(kind, addr)
        local s = H.bound(bound_wait(sock(kind, "dgram")), addr)
        assert.equal(0, s:connect(addr, port))
        assert.equal(5, s:send("probe"))
        wsarecv.SleepEx(20, false)
        local b = wsarecv.buffer(8)
        assert.same({ nil, "WSAECONNRESET", 10054, n = 3 },
          pack(s:WSARecv(b, 0)))
        -- the error is reported once; the socket is still usable
        assert(s:setsockopt("FIONBIO", true) == 0)
        assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
          pack(s:WSARecv(b, 0)))
      end)

    it("connected socket that sent to a closed port: a pending overlapped "
      .. "receive completes with WSAECONNRESET (" .. kind .. ")", function()
        local port = closed_udp_port(kind, addr)
        local s = H.bound(sock(kind, "dgram"), addr)
        assert.equal(0, s:connect(addr, port))
        local b = wsarecv.buffer(8)
        local ov = wsarecv.overlapped()
        local calls = {}
        assert_pending(s:WSARecv(b, 0, ov, function(err, bytes, _, flags)
          calls[#calls + 1] = { err = err, bytes = bytes, flags = flags }
        end))
        assert.equal(5, s:send("probe"))
        assert.is_true(wait_for(function() return #calls > 0 end))
        assert.same({ { err = "WSAECONNRESET", bytes = 0, flags = 0 } }, calls)
        assert.equal("WSAECONNRESET", ov.error)
        assert.same({ nil, "WSAECONNRESET", 10054, n = 3 },
          pack(s:WSAGetOverlappedResult(ov)))
      end)

    it("#wine connected socket, ICMP port unreachable on a pending receive: the "
      .. "error is reported once, later receives work (" .. kind .. ")",
      function()
        local port = closed_udp_port(kind, addr)
        local s = H.bound(sock(kind, "dgram"), addr)
        assert.equal(0, s:connect(addr, port))
        local calls = {}
        assert_pending(s:WSARecv(wsarecv.buffer(8), 0, nil, function(err, bytes)
          calls[#calls + 1] = { err = err, bytes = bytes }
        end))
        assert.equal(5, s:send("probe"))
        assert.is_true(wait_for(function() return #calls > 0 end))
        assert.equal(1, #calls)
        assert.is_string(calls[1].err)

        -- afterwards the socket still receives: a peer now takes the port
        local peer = sock(kind, "dgram")
        assert.equal(0, peer:bind(addr, port))
        local _, myport = s:getsockname()
        local b2 = wsarecv.buffer(8)
        local got
        assert_pending(s:WSARecv(b2, 0, nil, function(err, bytes)
          got = { err = err, bytes = bytes }
        end))
        assert.equal(5, peer:sendto("alive", addr, myport))
        assert.is_true(wait_for(function() return got ~= nil end, 100))
        assert.same({ bytes = 5 }, got)
        assert.equal("alive", b2:sub(1, 5))
      end)

    it("a connected socket ignores datagrams from other addresses ("
      .. kind .. ")", function()
        local rx, rport = H.bound(sock(kind, "dgram"), addr)
        local good, gport = H.bound(sock(kind, "dgram"), addr)
        local bad = H.bound(sock(kind, "dgram"), addr)
        assert.equal(0, rx:connect(addr, gport))

        local b = wsarecv.buffer(16)
        local got = {}
        assert_pending(rx:WSARecv(b, 0, nil, function(err, bytes)
          got[#got + 1] = { err = err, bytes = bytes, data = b:sub(1, bytes) }
        end))
        bad:sendto("from-bad", addr, rport)
        wsarecv.SleepEx(30, true)
        assert.same({}, got)
        good:sendto("from-good", addr, rport)
        assert.is_true(wait_for(function() return #got > 0 end))
        assert.same({ { bytes = 9, data = "from-good" } }, got)
        -- the stranger's datagram was dropped, not queued behind
        assert(rx:setsockopt("FIONBIO", true) == 0)
        assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
          pack(rx:WSARecv(b, 0)))
      end)
  end

  it("dual stack: an inet6 socket with IPV6_V6ONLY off, bound to ::, "
    .. "receives from an inet socket sending to 127.0.0.1", function()
      local s6 = bound_wait(sock("inet6", "dgram"))
      assert.equal(0, s6:setsockopt("IPV6_V6ONLY", false))
      assert.is_false(s6:getsockopt("IPV6_V6ONLY"))
      assert.equal(0, s6:bind("::", 0))
      local _, port = s6:getsockname()
      assert.is_true(port > 0)
      local s4 = H.bound(sock("inet", "dgram"), "127.0.0.1")

      -- nonoverlapped
      assert.equal(3, s4:sendto("v4!", "127.0.0.1", port))
      local b = wsarecv.buffer(16)
      assert.same({ 0, 3, 0, n = 3 }, pack(s6:WSARecv(b, 0)))
      assert.equal("v4!", b:sub(1, 3))

      -- overlapped, pending first
      local got
      local b2 = wsarecv.buffer(16)
      assert_pending(s6:WSARecv(b2, 0, nil, function(err, bytes)
        got = { err = err, bytes = bytes }
      end))
      assert.equal(6, s4:sendto("mapped", "127.0.0.1", port))
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ bytes = 6 }, got)
      assert.equal("mapped", b2:sub(1, 6))
    end)

  it("#linux an error-queue entry left behind (IP_RECVERR) fails the next receive "
     .. "instead of spinning the loop", function()
    local u = H.udp("inet", "127.0.0.1")
    local dead = H.closed_udp_port("inet", "127.0.0.1")
    assert.equal(0, u.rx:setsockopt("IP_RECVERR", true))
    local errs = {}
    for _ = 1, 2 do
      assert_pending(u.rx:WSARecv(wsarecv.buffer(8), 0, nil,
        function(err) errs[#errs + 1] = err end))
    end
    u.rx:sendto("x", "127.0.0.1", dead)
    H.settle(30)
    -- this send consumes the socket error; the queue entry stays behind
    u.rx:sendto("x", "127.0.0.1", dead)
    local cpu = cpu_during(function()
      for _ = 1, 10 do wsarecv.SleepEx(50, true) end
    end)
    assert.is_true(cpu < 0.25, "CPU while waiting: " .. cpu .. " s")
    assert.truthy(#errs >= 1)
    assert.equal("WSAECONNRESET", errs[1])
    u.rx:close(); H.drain(); u.tx:close()
  end)

  it("a nonblocking nonoverlapped receive queued behind an overlapped one "
     .. "gets data the kernel already has", function()
    local u = H.udp("inet", "127.0.0.1")
    local ov = wsarecv.overlapped()
    local first = wsarecv.buffer(8)
    assert_pending(u.rx:WSARecv(first, 0, ov))
    assert.equal(0, u.rx:setsockopt("FIONBIO", true))
    u.send("one"); u.send("two")
    H.settle(20)
    local b = wsarecv.buffer(8)
    assert.same({ 0, 3, 0, n = 3 }, pack(u.rx:WSARecv(b, 0)))
    assert.equal("one", first:sub(1, 3))       -- posting order kept
    assert.equal("two", b:sub(1, 3))
    assert.is_false(ov.pending)
    assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 }, pack(u.rx:WSARecv(b, 0)))
    u.rx:close(); u.tx:close()
  end)
end)
