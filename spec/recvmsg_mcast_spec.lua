-- MSG_MCAST on WSARecvMsg's output flags (the WSARecvMsg page, dwFlags
-- on output) over loopback; MSG_BCAST needs a real broadcast link
-- (netns_spec.lua).
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_MCAST = wsarecv.MSG_MCAST

local R = require "spec.support.recvmsg"(after_each)
local sock = R.sock

local pack, wait_for, assert_pending = H.pack, H.wait_for, H.assert_pending
local types = H.control_types

---------------------------------------------------------------------------
-- MSG_MCAST on loopback (MSG_BCAST needs a real broadcast link: netns)
---------------------------------------------------------------------------

describe("#linux MSG_MCAST over loopback", function()

  local GROUP = "239.7.41.93"
  local function mcast()
    local rx, port = H.bound(sock("inet", "dgram"), "0.0.0.0")
    assert(rx:setsockopt("IP_ADD_MEMBERSHIP", { GROUP, "lo" }) == 0)
    local tx = sock("inet", "dgram")
    assert(tx:bind("127.0.0.1", 0) == 0)     -- picks lo for the group
    assert(tx:setsockopt("IP_MULTICAST_TTL", 0) == 0)  -- never leaves host
    assert(tx:setsockopt("IP_MULTICAST_LOOP", true) == 0)
    return rx, tx, port
  end

  it("is set from the destination without the caller's IP_PKTINFO, and "
    .. "no IP_PKTINFO table appears", function()
      local rx, tx, port = mcast()
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 256 }
      assert.equal(5, tx:sendto("group", GROUP, port))
      assert.same({ 0, 5, MSG_MCAST, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.equal(MSG_MCAST, m.flags)
      assert.equal("group", buf:sub(1, 5))
      assert.equal("127.0.0.1", (m:name()))
      assert.same({}, m:control())
      assert.equal(0, m.controllen)
      assert.is_false(rx:getsockopt("IP_PKTINFO"))
      -- a unicast datagram to the same socket: no MSG_MCAST
      assert.equal(7, tx:sendto("unicast", "127.0.0.1", port))
      assert.same({ 0, 7, 0, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.equal(0, m.flags)
    end)

  it("IP_PKTINFO on shows the group; off again hides it, MSG_MCAST stays",
    function()
      local rx, tx, port = mcast()
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 256 }
      assert(rx:setsockopt("IP_PKTINFO", true) == 0)
      assert.equal(2, tx:sendto("on", GROUP, port))
      assert.same({ 0, 2, MSG_MCAST, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.same({ "IP_PKTINFO" }, types(m))
      assert.equal(GROUP, m:control()[1].addr)
      assert(rx:setsockopt("IP_PKTINFO", false) == 0)
      assert.is_false(rx:getsockopt("IP_PKTINFO"))
      assert.equal(3, tx:sendto("off", GROUP, port))
      assert.same({ 0, 3, MSG_MCAST, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.same({}, m:control())
    end)

  it("reaches a pending routine's flags and WSAGetOverlappedResult",
    function()
      local rx, tx, port = mcast()
      local m1 = wsarecv.msg { buffers = wsarecv.buffer(16), control = 0 }
      local m2 = wsarecv.msg { buffers = wsarecv.buffer(16), control = 0 }
      local seen
      assert_pending(rx:WSARecvMsg(m1, wsarecv.overlapped(),
        function(err, bytes, _, flags, mm)
          seen = { err, bytes, flags, mm == m1 }
        end))
      local ov2 = wsarecv.overlapped()
      assert_pending(rx:WSARecvMsg(m2, ov2))
      assert.equal(3, tx:sendto("one", GROUP, port))
      assert.equal(3, tx:sendto("two", GROUP, port))
      assert.is_true(wait_for(function() return seen ~= nil end))
      assert.same({ nil, 3, MSG_MCAST, true }, seen)
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov2 }, false, 2000,
        false))
      assert.same({ 3, MSG_MCAST, n = 2 },
        pack(rx:WSAGetOverlappedResult(ov2)))
      assert.equal(MSG_MCAST, m2.flags)
      -- control = 0 and nothing enabled: no MSG_CTRUNC
      assert.equal(MSG_MCAST, m1.flags)
    end)
end)

describe("#linux MSG_MCAST on a dual-stack socket", function()
  it("an IPv4 group datagram: MSG_MCAST, v4-mapped source, packet info "
    .. "only with both options", function()
      local GROUP = "239.7.41.94"
      local rx = sock("inet6", "dgram")
      assert(rx:setsockopt("IPV6_V6ONLY", false) == 0)
      assert(rx:bind("::", 0) == 0)
      local _, port = rx:getsockname()
      assert(rx:setsockopt("IP_ADD_MEMBERSHIP", { GROUP, "lo" }) == 0)
      local tx, txport = H.bound(sock("inet", "dgram"), "127.0.0.1")
      assert(tx:setsockopt("IP_MULTICAST_TTL", 0) == 0)
      local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 256 }
      assert.equal(4, tx:sendto("dual", GROUP, port))
      assert.same({ 0, 4, MSG_MCAST, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.same({ "::ffff:127.0.0.1", txport }, { m:name() })
      assert.same({}, m:control())
      assert(rx:setsockopt("IP_PKTINFO", true) == 0)
      assert.equal(4, tx:sendto("half", GROUP, port))
      assert.same({ 0, 4, MSG_MCAST, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.same({}, m:control())
      assert(rx:setsockopt("IPV6_PKTINFO", true) == 0)
      assert.equal(4, tx:sendto("both", GROUP, port))
      assert.same({ 0, 4, MSG_MCAST, n = 3 }, pack(rx:WSARecvMsg(m)))
      assert.same({ "IP_PKTINFO" }, types(m))
      assert.equal(GROUP, m:control()[1].addr)
    end)
end)
