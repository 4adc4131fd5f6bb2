-- WSARecvMsg's name and control messages per family (the WSARecvMsg
-- page, WSAMSG name and Control; Linux's cmsg on loopback): IPv4 with
-- every control message wsarecv decodes (packet info, TOS/ECN, TTL,
-- original destination, timestamps, receive-queue drops, UDP GRO), IPv6
-- (packet info, traffic class, hop limit), dual stack, unix dgram.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_TRUNC = wsarecv.MSG_TRUNC

local R = require "spec.support.recvmsg"(after_each)
local sock, udp, tmppath = R.sock, R.udp, R.tmppath

local pack, wait_for, assert_pending = H.pack, H.wait_for, H.assert_pending
local find, types, lo_ifindex = H.control_of, H.control_types, H.lo_ifindex
local have_cmd = H.have_cmd

local CMSG_SPACE = H.CMSG_SPACE
local SZ_PKTINFO, SZ_INT, SZ_BYTE = R.SZ_PKTINFO, R.SZ_INT, R.SZ_BYTE

---------------------------------------------------------------------------
-- IPv4 and its control messages
---------------------------------------------------------------------------

describe("WSARecvMsg over IPv4", function()

  it("nonoverlapped: exact bytes, the sender's name, no control "
    .. "message the caller did not enable", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(32)
      local m = wsarecv.msg { buffers = buf, control = 256 }
      ch.send("hello, msg")
      assert.same({ 0, 10, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal("hello, msg", buf:sub(1, 10))
      assert.equal(string.rep("\0", 22), buf:sub(11))
      assert.same({ "127.0.0.1", ch.txport }, { m:name() })
      assert.equal(0, m.flags)
      assert.equal(0, m.controllen)
      assert.same({}, m:control())
      -- wsarecv's own packet info is not the caller's setting
      assert.is_false(ch.rx:getsockopt("IP_PKTINFO"))
    end)

  it("#linux IP_PKTINFO: destination address, spec_dst, interface lo", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
    assert.is_true(ch.rx:getsockopt("IP_PKTINFO"))
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 256 }
    ch.send("pkt")
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal(SZ_PKTINFO, m.controllen)
    local c = m:control()
    assert.equal(1, #c)
    assert.same({
      level = "IPPROTO_IP", type = "IP_PKTINFO", addr = "127.0.0.1",
      spec_dst = "127.0.0.1", ifindex = lo_ifindex() or c[1].ifindex,
      ifname = "lo",
    }, c[1])
  end)

  it("IP_RECVTOS: the sender's TOS byte with its ECN bits", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_RECVTOS", true) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
    for _, tos in ipairs { 0xb9, 0x02, 0x03, 0x00 } do
      assert(ch.tx:setsockopt("IP_TOS", tos) == 0)
      assert.equal(tos, ch.tx:getsockopt("IP_TOS"))
      ch.send("tos")
      assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.same({ { level = "IPPROTO_IP", type = "IP_TOS", tos = tos,
        ecn = tos & 3 } }, m:control())
    end
  end)

  it("IP_RECVTTL: the sender's TTL", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
    ch.send("default")
    assert.same({ 0, 7, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    local dflt = m:control()[1]
    assert.equal("IP_TTL", dflt.type)
    assert.is_true(dflt.ttl >= 1 and dflt.ttl <= 255)
    assert(ch.tx:setsockopt("IP_TTL", 33) == 0)
    ch.send("ttl33")
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.same({ { level = "IPPROTO_IP", type = "IP_TTL", ttl = 33 } },
      m:control())
  end)

  it("#linux IP_RECVORIGDSTADDR (and its alias IP_ORIGDSTADDR): address and "
    .. "port the datagram was sent to", function()
      for _, opt in ipairs { "IP_RECVORIGDSTADDR", "IP_ORIGDSTADDR" } do
        local ch = udp("inet", "127.0.0.1")
        assert(ch.rx:setsockopt(opt, true) == 0)
        local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
        ch.send("orig")
        assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
        assert.same({ { level = "IPPROTO_IP", type = "IP_ORIGDSTADDR",
          addr = "127.0.0.1", port = ch.port } }, m:control())
      end
    end)

  it("#linux SO_TIMESTAMP and SO_TIMESTAMPNS: the arrival time", function()
    for _, opt in ipairs { "SO_TIMESTAMP", "SO_TIMESTAMPNS" } do
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt(opt, true) == 0)
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
      local before = os.time()
      ch.send("when")
      assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      local after = os.time()
      local c = m:control()
      assert.equal(1, #c)
      assert.equal("SOL_SOCKET", c[1].level)
      assert.equal(opt, c[1].type)
      assert.is_true(c[1].sec >= before - 1 and c[1].sec <= after + 1,
        ("sec %d not in [%d, %d]"):format(c[1].sec, before, after))
      assert.is_true(c[1].nsec >= 0 and c[1].nsec < 1000000000)
      if opt == "SO_TIMESTAMP" then
        assert.equal(0, c[1].nsec % 1000)    -- microsecond resolution
      end
    end
  end)

  it("#linux several options: every message, in the kernel's order", function()
    local ch = udp("inet", "127.0.0.1")
    for _, o in ipairs { "SO_TIMESTAMP", "IP_PKTINFO", "IP_RECVTTL",
      "IP_RECVTOS", "IP_RECVORIGDSTADDR" } do
      assert(ch.rx:setsockopt(o, true) == 0)
    end
    assert(ch.tx:setsockopt("IP_TTL", 7) == 0)
    assert(ch.tx:setsockopt("IP_TOS", 0x21) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 512 }
    ch.send("all")
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.same({ "SO_TIMESTAMP", "IP_PKTINFO", "IP_TTL", "IP_TOS",
      "IP_ORIGDSTADDR" }, types(m))
    assert.equal(CMSG_SPACE(16) + SZ_PKTINFO + SZ_INT + SZ_BYTE
      + CMSG_SPACE(16), m.controllen)
    assert.equal(7, find(m, "IP_TTL")[1].ttl)
    assert.equal(0x21, find(m, "IP_TOS")[1].tos)
    assert.equal(1, find(m, "IP_TOS")[1].ecn)
    assert.equal("127.0.0.1", find(m, "IP_PKTINFO")[1].addr)
    assert.equal(ch.port, find(m, "IP_ORIGDSTADDR")[1].port)
  end)

  it("#linux SO_RXQ_OVFL: datagrams dropped on a full queue are counted, and the "
    .. "count only grows", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("SO_RCVBUF", 2048) == 0)
      assert(ch.rx:setsockopt("SO_RXQ_OVFL", true) == 0)
      assert(ch.rx:setsockopt("FIONBIO", true) == 0)
      local buf = wsarecv.buffer(32)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local last = 0
      for round = 1, 3 do
        for i = 1, 200 do ch.send(("burst-%d-%03d"):format(round, i)) end
        -- what was queued (the drops counter of those is older)
        local got = 0
        for _ = 1, 201 do
          local r, e = ch.rx:WSARecvMsg(m)
          if not r then
            assert.equal("WSAEWOULDBLOCK", e)
            break
          end
          got = got + 1
          assert.equal(("burst-%d-%03d"):format(round, got), buf:sub(1, 11))
        end
        assert.is_true(got >= 1 and got < 200,
          "expected some but not all of the burst queued, got " .. got)
        -- a datagram queued after the burst carries the total
        ch.send("after")
        assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
        local c = find(m, "SO_RXQ_OVFL")
        assert.equal(1, #c)
        assert.equal("SOL_SOCKET", c[1].level)
        -- every datagram of the burst was either received or dropped
        assert.equal(200 - got, c[1].drops - last)
        assert.is_true(c[1].drops > last)
        last = c[1].drops
      end
    end)

  it("#linux UDP_GRO: enabled; a plain datagram arrives whole without a UDP_GRO "
    .. "message", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("UDP_GRO", true) == 0)
      assert.is_true(ch.rx:getsockopt("UDP_GRO"))
      local buf = wsarecv.buffer(2048)
      local m = wsarecv.msg { buffers = buf, control = 128 }
      local payload = string.rep("g", 1000)
      ch.send(payload)
      assert.same({ 0, 1000, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal(payload, buf:sub(1, 1000))
      assert.same({}, find(m, "UDP_GRO"))
    end)

  it("#linux UDP_GRO: a UDP_SEGMENT send arrives coalesced with its "
    .. "segment_size", function()
      if not have_cmd("python3") then
        pending("python3 is needed to send with UDP_SEGMENT (wsarecv has "
          .. "no such send option)")
        return
      end
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("UDP_GRO", true) == 0)
      local buf = wsarecv.buffer(8192)
      local m = wsarecv.msg { buffers = buf, control = 128 }
      local py = ("import socket; s = socket.socket(socket.AF_INET, "
        .. "socket.SOCK_DGRAM); s.setsockopt(17, 103, 100); "
        .. "s.sendto(bytes(range(256)) * 2 + b'x' * 188, "
        .. "('127.0.0.1', %d))"):format(ch.port)
      -- (without a preloaded sanitizer runtime: python is not our code)
      local ok = os.execute("env -u LD_PRELOAD timeout 10 python3 -c \""
        .. py .. "\"")
      if not (ok == true or ok == 0) then
        pending("python3 could not send with UDP_SEGMENT here")
        return
      end
      local expect = {}
      for i = 0, 255 do expect[#expect + 1] = string.char(i) end
      expect = table.concat(expect)
      expect = expect .. expect .. string.rep("x", 188)
      assert.same({ 0, 700, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal(expect, buf:sub(1, 700))
      assert.same({ { level = "IPPROTO_UDP", type = "UDP_GRO",
        segment_size = 100 } }, m:control())
    end)
end)

---------------------------------------------------------------------------
-- IPv6 and dual stack
---------------------------------------------------------------------------

describe("WSARecvMsg over IPv6", function()

  it("#linux exact bytes and the sender's name; IPV6_PKTINFO on request",
    function()
      local ch = udp("inet6", "::1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 256 }
      ch.send("six")
      assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal("six", buf:sub(1, 3))
      assert.same({ "::1", ch.txport }, { m:name() })
      assert.same({}, m:control())
      assert.is_false(ch.rx:getsockopt("IPV6_PKTINFO"))
      assert(ch.rx:setsockopt("IPV6_PKTINFO", true) == 0)
      assert.is_true(ch.rx:getsockopt("IPV6_PKTINFO"))
      ch.send("six+")
      assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.same({ { level = "IPPROTO_IPV6", type = "IPV6_PKTINFO",
        addr = "::1", ifindex = lo_ifindex() or m:control()[1].ifindex,
        ifname = "lo" } }, m:control())
      -- off again: the caller's view and the tables follow
      assert(ch.rx:setsockopt("IPV6_PKTINFO", false) == 0)
      assert.is_false(ch.rx:getsockopt("IPV6_PKTINFO"))
      ch.send("six-")
      assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.same({}, m:control())
      assert.equal(0, m.controllen)
    end)

  it("#wine IPV6_RECVTCLASS: the sender's traffic class with its ECN bits",
    function()
      local ch = udp("inet6", "::1")
      assert(ch.rx:setsockopt("IPV6_RECVTCLASS", true) == 0)
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
      for _, tc in ipairs { 0xb9, 0x02, 0x00 } do
        assert(ch.tx:setsockopt("IPV6_TCLASS", tc) == 0)
        ch.send("tc")
        assert.same({ 0, 2, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
        assert.same({ { level = "IPPROTO_IPV6", type = "IPV6_TCLASS",
          tclass = tc, ecn = tc & 3 } }, m:control())
      end
    end)

  it("IPV6_HOPLIMIT: the sender's unicast hop limit", function()
    local ch = udp("inet6", "::1")
    assert(ch.rx:setsockopt("IPV6_HOPLIMIT", true) == 0)
    assert(ch.tx:setsockopt("IPV6_UNICAST_HOPS", 17) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
    ch.send("hops")
    assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.same({ { level = "IPPROTO_IPV6", type = "IPV6_HOPLIMIT",
      hoplimit = 17 } }, m:control())
  end)
end)

describe("WSARecvMsg on a dual-stack socket", function()
  -- rx: inet6 on :: with IPV6_V6ONLY off; one IPv4 and one IPv6 sender
  local function dual(p4, p6)
    local rx = sock("inet6", "dgram")
    assert(rx:setsockopt("IPV6_V6ONLY", false) == 0)
    assert.is_false(rx:getsockopt("IPV6_V6ONLY"))
    assert(rx:bind("::", 0) == 0)
    local _, port = rx:getsockname()
    if p4 then assert(rx:setsockopt("IP_PKTINFO", true) == 0) end
    if p6 then assert(rx:setsockopt("IPV6_PKTINFO", true) == 0) end
    local t4 = H.bound(sock("inet", "dgram"), "127.0.0.1")
    local t6 = H.bound(sock("inet6", "dgram"), "::1")
    return rx, port, t4, t6
  end

  local cases = {
    { false, false, {}, {} },
    { true, false, {}, {} },
    { false, true, {}, { "IPV6_PKTINFO" } },
    { true, true, { "IP_PKTINFO" }, { "IPV6_PKTINFO" } },
  }
  for _, case in ipairs(cases) do
    local p4, p6, want4, want6 = case[1], case[2], case[3], case[4]
    it(("#wine IP_PKTINFO %s, IPV6_PKTINFO %s: IPv4 datagram shows %s, IPv6 "
      .. "datagram shows %s"):format(p4 and "on" or "off",
        p6 and "on" or "off", #want4 > 0 and want4[1] or "nothing",
        #want6 > 0 and want6[1] or "nothing"), function()
      local rx, port, t4, t6 = dual(p4, p6)
      local _, port4 = t4:getsockname()
      local _, port6 = t6:getsockname()
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 256 }
      assert.equal(2, t4:sendto("v4", "127.0.0.1", port))
      assert.same({ 0, 2, 0, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.equal("v4", buf:sub(1, 2))
      assert.same({ "::ffff:127.0.0.1", port4 }, { m:name() })
      assert.same(want4, types(m))
      if #want4 > 0 then
        local c = m:control()[1]
        assert.equal("IPPROTO_IP", c.level)
        assert.equal("127.0.0.1", c.addr)
        assert.equal("lo", c.ifname)
      end
      assert.equal(2, t6:sendto("v6", "::1", port))
      assert.same({ 0, 2, 0, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.equal("v6", buf:sub(1, 2))
      assert.same({ "::1", port6 }, { m:name() })
      assert.same(want6, types(m))
      if #want6 > 0 then
        local c = m:control()[1]
        assert.equal("IPPROTO_IPV6", c.level)
        assert.equal("::1", c.addr)
        assert.equal("lo", c.ifname)
      end
      assert.equal(p4, rx:getsockopt("IP_PKTINFO"))
      assert.equal(p6, rx:getsockopt("IPV6_PKTINFO"))
    end)
  end
end)

---------------------------------------------------------------------------
-- unix datagrams
---------------------------------------------------------------------------

describe("#linux WSARecvMsg over unix dgram", function()

  it("msg:name() gives the sender's bound path", function()
    local rp, tp = tmppath("rx"), tmppath("tx")
    local rx = sock("unix", "dgram")
    assert(rx:bind(rp) == 0)
    local tx = sock("unix", "dgram")
    assert(tx:bind(tp) == 0)
    local buf = wsarecv.buffer(16)
    local m = wsarecv.msg { buffers = buf, control = 64 }
    assert.equal(4, tx:sendto("unix", rp))
    local r = pack(rx:WSARecvMsg(m))
    assert.same({ 0, 4, 0, n = 3 }, r)
    assert.equal("unix", buf:sub(1, 4))
    local name = pack(m:name())
    assert.equal(tp, name[1])
    assert.is_nil(name[2])
    assert.same({}, m:control())
    -- overlapped too, from a second sender
    local tp2 = tmppath("tx2")
    local tx2 = sock("unix", "dgram")
    assert(tx2:bind(tp2) == 0)
    local seen
    assert_pending(rx:WSARecvMsg(m, nil, function(err, bytes, _, _, mm)
      seen = { err, bytes, (mm:name()) }
    end))
    assert.equal(5, tx2:sendto("again", rp))
    assert.is_true(wait_for(function() return seen ~= nil end))
    assert.same({ nil, 5, tp2 }, seen)
  end)

  it("a datagram larger than the buffers: WSAEMSGSIZE and MSG_TRUNC",
    function()
      local rp = tmppath("rx-trunc")
      local rx = sock("unix", "dgram")
      assert(rx:bind(rp) == 0)
      local tx = sock("unix", "dgram")
      local buf = wsarecv.buffer(4)
      local m = wsarecv.msg { buffers = buf, control = 0 }
      assert.equal(9, tx:sendto("too large", rp))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 4, n = 4 },
        pack(rx:WSARecvMsg(m)))
      assert.equal("too ", buf:sub())
      assert.equal(MSG_TRUNC, m.flags)
    end)
end)
