-- WSARecvMsg and ICMP errors (the WSARecvMsg page's WSAECONNRESET on a
-- datagram socket; Linux's IP_RECVERR / IPV6_RECVERR error queue).
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_TRUNC = wsarecv.MSG_TRUNC

local R = require "spec.support.recvmsg"(after_each)
local sock = R.sock

local pack, wait_for = H.pack, H.wait_for
local assert_pending, find = H.assert_pending, H.control_of

-- A socket bound to addr and connected to a port nothing listens on; with
-- `opt`, that option (IP_RECVERR / IPV6_RECVERR) is set to `on` first.
local function unreachable(family, addr, opt, on)
  local s = H.bound(sock(family, "dgram"), addr)
  if opt then assert(s:setsockopt(opt, on) == 0) end
  assert(s:connect(addr, H.closed_udp_port(family, addr)) == 0)
  return s
end

---------------------------------------------------------------------------
-- the error queue
---------------------------------------------------------------------------

describe("#linux WSARecvMsg and ICMP errors", function()

  it("IP_RECVERR: port unreachable fails the next receive with "
    .. "WSAECONNRESET and its IP_RECVERR table", function()
      local s = unreachable("inet", "127.0.0.1", "IP_RECVERR", true)
      assert.equal(4, s:send("ping"))
      local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 256 }
      local r = pack(s:WSARecvMsg(m))
      assert.equal(nil, r[1])
      assert.equal("WSAECONNRESET", r[2])
      assert.equal(10054, r[3])
      local e = find(m, "IP_RECVERR")
      assert.equal(1, #e)
      assert.same({ level = "IPPROTO_IP", type = "IP_RECVERR",
        error = "WSAECONNRESET", code = 10054, origin = "icmp",
        icmp_type = 3, icmp_code = 3, info = 0, offender = "127.0.0.1" },
        e[1])
      -- reported once: the next receive waits (and times out)
      assert(s:setsockopt("SO_RCVTIMEO", 100) == 0)
      assert.same({ nil, "WSAETIMEDOUT", 10060, n = 3 },
        pack(s:WSARecvMsg(m)))
    end)

  it("IP_RECVERR: the failed receive places no data (buffers untouched, "
    .. "no MSG_TRUNC), as without IP_RECVERR", function()
      for _, recverr in ipairs { false, true } do
        local s = unreachable("inet", "127.0.0.1", "IP_RECVERR", recverr)
        assert.equal(15, s:send("offending-bytes"))
        local buf = wsarecv.buffer(4)
        local m = wsarecv.msg { buffers = buf, control = 256 }
        local r = pack(s:WSARecvMsg(m))
        local what = "IP_RECVERR " .. tostring(recverr)
        -- nil, name, code: no 4th value, so nothing was placed
        assert.same({ nil, "WSAECONNRESET", 10054, n = 3 }, r, what)
        local hex = buf:sub():gsub(".", function(c)
          return ("%02x"):format(c:byte())
        end)
        assert.same({ buffer = "00000000", trunc = 0 },
          { buffer = hex, trunc = m.flags & MSG_TRUNC }, what)
      end
    end)

  it("IP_RECVERR: each unreachable send gives its own report", function()
    local s = unreachable("inet", "127.0.0.1", "IP_RECVERR", true)
    local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 256 }
    for i = 1, 3 do
      assert.equal(4, s:send("try" .. i))
      local r = pack(s:WSARecvMsg(m))
      assert.same({ nil, "WSAECONNRESET", 10054 }, { r[1], r[2], r[3] })
      assert.equal(1, #find(m, "IP_RECVERR"))
      assert.equal("icmp", find(m, "IP_RECVERR")[1].origin)
    end
    assert(s:setsockopt("SO_RCVTIMEO", 100) == 0)
    assert.equal("WSAETIMEDOUT", select(2, s:WSARecvMsg(m)))
  end)

  it("IP_RECVERR: a pending receive completes with the error in its "
    .. "routine", function()
      local s = unreachable("inet", "127.0.0.1", "IP_RECVERR", true)
      local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 256 }
      local got
      assert_pending(s:WSARecvMsg(m, wsarecv.overlapped(),
        function(err, bytes, _, _, mm)
          got = { err = err, bytes = bytes, msg = mm,
            ctl = find(mm, "IP_RECVERR") }
        end))
      assert.equal(4, s:send("ping"))
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.equal("WSAECONNRESET", got.err)
      assert.equal(m, got.msg)
      assert.equal(1, #got.ctl)
      assert.equal("WSAECONNRESET", got.ctl[1].error)
      assert.equal(3, got.ctl[1].icmp_type)
      assert.equal(3, got.ctl[1].icmp_code)
      assert.equal("127.0.0.1", got.ctl[1].offender)
    end)

  it("without IP_RECVERR: WSAECONNRESET and no table", function()
    local s = unreachable("inet", "127.0.0.1")
    assert.equal(4, s:send("ping"))
    local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 256 }
    assert.same({ nil, "WSAECONNRESET", 10054, n = 3 },
      pack(s:WSARecvMsg(m)))
    assert.same({}, m:control())
  end)

  it("IPV6_RECVERR: port unreachable over ::1", function()
    local s = unreachable("inet6", "::1", "IPV6_RECVERR", true)
    assert.equal(4, s:send("ping"))
    local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 256 }
    local r = pack(s:WSARecvMsg(m))
    assert.same({ nil, "WSAECONNRESET", 10054 }, { r[1], r[2], r[3] })
    local e = find(m, "IPV6_RECVERR")
    assert.equal(1, #e)
    assert.same({ level = "IPPROTO_IPV6", type = "IPV6_RECVERR",
      error = "WSAECONNRESET", code = 10054, origin = "icmp6",
      icmp_type = 1, icmp_code = 4, info = 0, offender = "::1" }, e[1])
  end)
end)
