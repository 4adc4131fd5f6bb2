-- IP_MULTICAST_IF and IPV6_MULTICAST_IF: the interface multicast is sent
-- from.  IPv4 multicast goes over loopback here (a receiver joined on lo,
-- a sender that picks lo only through the option; TTL 0, so nothing
-- leaves the machine); IPv6 multicast does not loop on lo, so its option
-- is checked by what the kernel reads back.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_MCAST = wsarecv.MSG_MCAST

local T = H.tracker()
local sock = H.timed_sockets(T, 2000)
local pack = H.pack

after_each(function()
  T.cleanup(function() H.drain(50) end)
end)

local NOTAVAIL = { nil, "WSAEADDRNOTAVAIL", 10049, n = 3 }
local GROUP = "239.7.41.95"

-- a receiver on 0.0.0.0 that joined GROUP on lo and reports packet info
local function receiver()
  local rx, port = H.bound(sock("inet", "dgram"), "0.0.0.0")
  assert(rx:setsockopt("IP_ADD_MEMBERSHIP", { GROUP, "lo" }) == 0)
  assert(rx:setsockopt("IP_PKTINFO", true) == 0)
  return rx, port
end

-- a sender bound to any address: only IP_MULTICAST_IF can pick lo
local function sender(family)
  local tx = sock(family or "inet", "dgram")
  assert(tx:setsockopt("IP_MULTICAST_TTL", 0) == 0)    -- never leaves host
  assert(tx:setsockopt("IP_MULTICAST_LOOP", true) == 0)
  return tx
end

-- the next datagram: its data, flags and the interface it came in on
local function receive(rx)
  local m = wsarecv.msg { buffers = wsarecv.buffer(32), control = 256 }
  local r = pack(rx:WSARecvMsg(m))
  assert.equal(0, r[1], tostring(r[2]))
  local info = H.control_of(m, "IP_PKTINFO")[1]
  return m.buffers:sub(1, r[2]), r[3], info and info.ifname, info and info.addr
end

-- #linux: the loopback interface is "lo" here (Windows: loopback_1)
describe("#linux IP_MULTICAST_IF", function()

  it("reads 0.0.0.0 (the system's choice) until set", function()
    assert.equal("0.0.0.0", sock("inet", "dgram"):getsockopt("IP_MULTICAST_IF"))
  end)

  it("by interface name, index, Windows' 0.0.0.x index form, or address: "
    .. "multicast goes out of lo, and reads back as lo's address", function()
      local rx, port = receiver()
      local idx = H.lo_ifindex()
      for _, v in ipairs { "lo", idx, tostring(idx), "0.0.0." .. idx,
        "127.0.0.1" } do
        local tx = sender()
        assert.equal(0, tx:setsockopt("IP_MULTICAST_IF", v), tostring(v))
        assert.equal("127.0.0.1", tx:getsockopt("IP_MULTICAST_IF"))
        assert.equal(5, tx:sendto("group", GROUP, port))
        assert.same({ "group", MSG_MCAST, "lo", GROUP }, { receive(rx) },
          tostring(v))
      end
    end)

  it("\"*\", \"\" or 0 gives the choice back to the system", function()
    for _, v in ipairs { "*", "", 0, "0.0.0.0" } do
      local tx = sock("inet", "dgram")
      assert.equal(0, tx:setsockopt("IP_MULTICAST_IF", "lo"))
      assert.equal(0, tx:setsockopt("IP_MULTICAST_IF", v))
      assert.equal("0.0.0.0", tx:getsockopt("IP_MULTICAST_IF"), tostring(v))
    end
  end)

  it("a dual-stack inet6 socket takes it for its IPv4 multicast", function()
    local rx, port = receiver()
    local tx = sender("inet6")
    assert.equal(0, tx:setsockopt("IP_MULTICAST_IF", "lo"))
    assert.equal("127.0.0.1", tx:getsockopt("IP_MULTICAST_IF"))
    assert.equal(4, tx:sendto("dual", GROUP, port))    -- ::ffff:239.7.41.95
    assert.same({ "dual", MSG_MCAST, "lo", GROUP }, { receive(rx) })
  end)

  it("no such interface: WSAEADDRNOTAVAIL, and the setting stays",
    function()
      local tx = sock("inet", "dgram")
      assert.equal(0, tx:setsockopt("IP_MULTICAST_IF", "lo"))
      for _, v in ipairs { "nosuchif0", 99999, "99999", "0.0.1.134",
        "203.0.113.254" } do
        assert.same(NOTAVAIL, pack(tx:setsockopt("IP_MULTICAST_IF", v)),
          tostring(v))
      end
      assert.equal("127.0.0.1", tx:getsockopt("IP_MULTICAST_IF"))
    end)
end)

describe("#linux IPV6_MULTICAST_IF", function()

  it("by interface name, index or its decimal text: reads back the index",
    function()
      local tx = sock("inet6", "dgram")
      local idx = H.lo_ifindex()
      assert.equal(0, tx:getsockopt("IPV6_MULTICAST_IF"))
      for _, v in ipairs { "lo", idx, tostring(idx) } do
        assert.equal(0, tx:setsockopt("IPV6_MULTICAST_IF", 0))
        assert.equal(0, tx:setsockopt("IPV6_MULTICAST_IF", v), tostring(v))
        assert.equal(idx, tx:getsockopt("IPV6_MULTICAST_IF"), tostring(v))
      end
      for _, v in ipairs { 0, "*", "" } do
        assert.equal(0, tx:setsockopt("IPV6_MULTICAST_IF", "lo"))
        assert.equal(0, tx:setsockopt("IPV6_MULTICAST_IF", v))
        assert.equal(0, tx:getsockopt("IPV6_MULTICAST_IF"), tostring(v))
      end
    end)

  it("no such interface (an address is none): WSAEADDRNOTAVAIL", function()
    local tx = sock("inet6", "dgram")
    assert.equal(0, tx:setsockopt("IPV6_MULTICAST_IF", "lo"))
    for _, v in ipairs { "nosuchif0", 99999, "99999", "::1", "127.0.0.1" } do
      assert.same(NOTAVAIL, pack(tx:setsockopt("IPV6_MULTICAST_IF", v)),
        tostring(v))
    end
    assert.equal(H.lo_ifindex(), tx:getsockopt("IPV6_MULTICAST_IF"))
  end)
end)

describe("the multicast interface options' arguments", function()
  it("a wrong type, a fraction, a negative index or an embedded zero "
    .. "raises, on an open or a closed socket", function()
      for _, name in ipairs { "IP_MULTICAST_IF", "IPV6_MULTICAST_IF" } do
        local s = sock(name == "IP_MULTICAST_IF" and "inet" or "inet6", "dgram")
        for _, closed in ipairs { false, true } do
          if closed then s:close() end
          for v, msg in pairs {
            [true] = "interface name, address or index expected, got boolean",
            [1.5] = "number has no integer representation",
            [-1] = "interface index out of range",
            [2 ^ 31] = "interface index out of range",
            ["lo\0x"] = "interface contains an embedded zero",
          } do
            local err = H.raised(s.setsockopt, s, name, v)
            assert.truthy(err and err:find(msg, 1, true), tostring(err))
          end
          assert.truthy(H.raised(s.setsockopt, s, name):find(
            "interface name, address or index expected, got no value", 1, true))
        end
        assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
          pack(s:setsockopt(name, "lo")))
        assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
          pack(s:getsockopt(name)))
      end
    end)
end)
