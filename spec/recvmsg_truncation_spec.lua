-- WSARecvMsg truncation (the WSARecvMsg page: MSG_TRUNC, MSG_CTRUNC,
-- WSAEMSGSIZE): data and control, nonoverlapped, pending, event style,
-- completed at once.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_TRUNC, MSG_CTRUNC = wsarecv.MSG_TRUNC, wsarecv.MSG_CTRUNC

local R = require "spec.support.recvmsg"(after_each)
local udp = R.udp

local pack, wait_for, assert_pending = H.pack, H.wait_for, H.assert_pending
local types = H.control_types

local SZ_PKTINFO, SZ_INT, SZ_BYTE = R.SZ_PKTINFO, R.SZ_INT, R.SZ_BYTE

---------------------------------------------------------------------------
-- truncation of data and of control
---------------------------------------------------------------------------

describe("WSARecvMsg truncation", function()

  it("data: first part placed, MSG_TRUNC, WSAEMSGSIZE with bytes placed; "
    .. "the excess is discarded", function()
      local ch = udp("inet", "127.0.0.1")
      local a, b = wsarecv.buffer(3), wsarecv.buffer(8)
      local m = wsarecv.msg { buffers = { a, { b, 2, 4 } }, control = 64 }
      ch.send("abcdefghijkl")
      ch.send("next")
      assert.same({ nil, "WSAEMSGSIZE", 10040, 7, n = 4 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.equal(MSG_TRUNC, m.flags)
      assert.equal("abc", a:sub())
      assert.equal("\0\0defg\0\0", b:sub())
      assert.same({ "127.0.0.1", ch.txport }, { m:name() })
      assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal(0, m.flags)
      assert.equal("nex", a:sub())
      assert.equal("\0\0tefg\0\0", b:sub())
    end)

  it("data, pending: the routine gets WSAEMSGSIZE, bytes placed and "
    .. "MSG_TRUNC", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(4)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local ov = wsarecv.overlapped()
      local seen
      assert_pending(ch.rx:WSARecvMsg(m, ov, function(err, bytes, o, flags, mm)
        seen = { err, bytes, o == ov, flags, mm == m }
      end))
      assert.is_true(m.pending)
      ch.send("0123456789")
      assert.is_true(wait_for(function() return seen ~= nil end))
      assert.same({ "WSAEMSGSIZE", 4, true, MSG_TRUNC, true }, seen)
      assert.equal("0123", buf:sub())
      assert.equal(MSG_TRUNC, m.flags)
      assert.equal("WSAEMSGSIZE", ov.error)
      assert.equal(4, ov.bytes)
      assert.is_false(m.pending)
    end)

  it("data, event style: WSAGetOverlappedResult reports WSAEMSGSIZE and "
    .. "the bytes placed", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(5)
      local m = wsarecv.msg { buffers = buf, control = 0 }
      local ov = wsarecv.overlapped()
      assert_pending(ch.rx:WSARecvMsg(m, ov))
      ch.send("truncated!")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
        false))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 5, n = 4 },
        pack(ch.rx:WSAGetOverlappedResult(ov)))
      assert.equal("trunc", buf:sub())
      assert.equal(MSG_TRUNC, m.flags)
      assert.equal(MSG_TRUNC, ov.flags)
    end)

  it("data, completed at once: WSA_IO_PENDING, then the routine runs once "
    .. "with WSAEMSGSIZE, the bytes placed and MSG_TRUNC", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(3)
      local m = wsarecv.msg { buffers = buf, control = 0 }
      ch.send("already queued")
      wsarecv.SleepEx(10, false)
      local calls = {}
      assert_pending(ch.rx:WSARecvMsg(m, nil, function(err, bytes, _, fl, mm)
        calls[#calls + 1] = { err, bytes, fl, mm == m }
      end))
      assert.equal("alr", buf:sub())
      assert.equal(MSG_TRUNC, m.flags)
      assert.is_true(m.pending)          -- until the routine has run
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(20, true))
      assert.equal(0, wsarecv.SleepEx(10, true))
      assert.same({ { "WSAEMSGSIZE", 3, MSG_TRUNC, true } }, calls)
      assert.is_false(m.pending)
    end)

  it("control too big, completed at once (test_ip_pktinfo's APC case): "
    .. "WSA_IO_PENDING, then the routine once with WSAEMSGSIZE and "
    .. "MSG_CTRUNC; event style alike", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
      local buf = wsarecv.buffer(10)
      local m = wsarecv.msg { buffers = buf, control = 1 }
      ch.send("HELLO\0")
      wsarecv.SleepEx(10, false)
      local ov = wsarecv.overlapped()
      local calls = {}
      assert_pending(ch.rx:WSARecvMsg(m, ov, function(err, bytes, o, fl)
        calls[#calls + 1] = { err, bytes, o == ov, fl }
      end))
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.equal(0, wsarecv.SleepEx(10, true))
      assert.same({ { "WSAEMSGSIZE", 6, true, MSG_CTRUNC } }, calls)
      assert.equal("HELLO\0", buf:sub(1, 6))
      assert.equal(MSG_CTRUNC, m.flags)

      ch.send("HELLO\0")
      wsarecv.SleepEx(10, false)
      buf:fill(0)
      assert_pending(ch.rx:WSARecvMsg(m, ov))
      assert.is_false(ov.pending)
      assert.is_false(m.pending)
      assert.same({ nil, "WSAEMSGSIZE", 10040, 6, n = 4 },
        pack(ch.rx:WSAGetOverlappedResult(ov)))
      assert.equal("HELLO\0", buf:sub(1, 6))
      assert.equal(MSG_CTRUNC, m.flags)
    end)

  it("data and control both truncated: MSG_TRUNC | MSG_CTRUNC", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer(2), control = 8 }
    ch.send("xyz")
    local r = pack(ch.rx:WSARecvMsg(m))
    assert.same({ nil, "WSAEMSGSIZE", 10040, 2, n = 4 }, r)
    assert.equal(MSG_TRUNC | MSG_CTRUNC, m.flags)
    assert.same({}, m:control())
  end)

  it("#wine control: the messages that fit are delivered, in order; MSG_CTRUNC "
    .. "and WSAEMSGSIZE when one does not", function()
      local ch = udp("inet", "127.0.0.1")
      for _, o in ipairs { "IP_PKTINFO", "IP_RECVTTL", "IP_RECVTOS" } do
        assert(ch.rx:setsockopt(o, true) == 0)
      end
      assert(ch.tx:setsockopt("IP_TTL", 44) == 0)
      local all = SZ_PKTINFO + SZ_INT + SZ_BYTE
      local cases = {
        { 0, {}, 0 },
        { SZ_PKTINFO - 1, {}, 0 },
        { SZ_PKTINFO, { "IP_PKTINFO" }, SZ_PKTINFO },
        { SZ_PKTINFO + SZ_INT - 1, { "IP_PKTINFO" }, SZ_PKTINFO },
        { SZ_PKTINFO + SZ_INT, { "IP_PKTINFO", "IP_TTL" },
          SZ_PKTINFO + SZ_INT },
        { all, { "IP_PKTINFO", "IP_TTL", "IP_TOS" }, all },
        { 512, { "IP_PKTINFO", "IP_TTL", "IP_TOS" }, all },
      }
      for _, case in ipairs(cases) do
        local size, want, used = case[1], case[2], case[3]
        local m = wsarecv.msg { buffers = wsarecv.buffer(8), control = size }
        ch.send("c" .. size)
        local r = pack(ch.rx:WSARecvMsg(m))
        local fl = #want < 3 and MSG_CTRUNC or 0
        if fl == 0 then
          assert.same({ 0, #("c" .. size), 0, n = 3 }, r)
        else
          assert.same({ nil, "WSAEMSGSIZE", 10040, #("c" .. size), n = 4 }, r)
        end
        assert.equal(fl, m.flags)
        assert.same(want, types(m))
        assert.equal(used, m.controllen)
        if #want >= 2 then assert.equal(44, m:control()[2].ttl) end
        if #want >= 1 then
          assert.equal("127.0.0.1", m:control()[1].addr)
        end
      end
    end)

  it("a control buffer too small for IP_PKTINFO: WSAEMSGSIZE, the data "
    .. "placed, its bytes, MSG_CTRUNC (nonoverlapped, event style, routine)",
    function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
      local buf = wsarecv.buffer(10)
      local m = wsarecv.msg { buffers = buf, control = 1 }
      ch.send("HELLO\0")
      assert.same({ nil, "WSAEMSGSIZE", 10040, 6, n = 4 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.equal("HELLO\0", buf:sub(1, 6))
      assert.equal(MSG_CTRUNC, m.flags)
      assert.equal(0, m.controllen)
      assert.same({ "127.0.0.1", ch.txport }, { m:name() })

      buf:fill(0)
      local ov = wsarecv.overlapped()
      assert_pending(ch.rx:WSARecvMsg(m, ov))
      ch.send("HELLO\0")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
        false))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 6, n = 4 },
        pack(ch.rx:WSAGetOverlappedResult(ov)))
      assert.equal("WSAEMSGSIZE", ov.error)
      assert.equal(6, ov.bytes)
      assert.equal("HELLO\0", buf:sub(1, 6))
      assert.equal(MSG_CTRUNC, m.flags)

      buf:fill(0)
      local calls = {}
      assert_pending(ch.rx:WSARecvMsg(m, ov, function(err, bytes, o, flags, mm)
        calls[#calls + 1] = { err, bytes, o == ov, flags, mm.flags }
      end))
      ch.send("HELLO\0")
      assert.is_true(wait_for(function() return #calls > 0 end))
      wsarecv.SleepEx(10, true)
      assert.same({ { "WSAEMSGSIZE", 6, true, MSG_CTRUNC, MSG_CTRUNC } },
        calls)
      assert.equal("HELLO\0", buf:sub(1, 6))

      -- room enough: the packet info arrives and the receive succeeds
      m.control = 512
      ch.send("HELLO\0")
      assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.same({ "IP_PKTINFO" }, types(m))
      assert.equal("127.0.0.1", m:control()[1].addr)
    end)

  it("#wine control truncation reaches a pending routine: WSAEMSGSIZE, the "
    .. "bytes, MSG_CTRUNC", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
    assert(ch.rx:setsockopt("IP_RECVTOS", true) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer(8), control = SZ_INT }
    local seen
    assert_pending(ch.rx:WSARecvMsg(m, nil, function(err, bytes, _, flags)
      seen = { err, bytes, flags }
    end))
    ch.send("ct")
    assert.is_true(wait_for(function() return seen ~= nil end))
    assert.same({ "WSAEMSGSIZE", 2, MSG_CTRUNC }, seen)
    assert.same({ "IP_TTL" }, types(m))
  end)
end)
