-- The msg object of WSARecvMsg (the WSAMSG of the WSARecvMsg page): its
-- fields, a caller's buffer as Control, buffers and control replaced
-- between receives, and one msg reused for thousands of receives.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_PEEK, MSG_TRUNC, MSG_CTRUNC = wsarecv.MSG_PEEK, wsarecv.MSG_TRUNC,
  wsarecv.MSG_CTRUNC

local R = require "spec.support.recvmsg"(after_each)
local udp = R.udp

local pack, types, lo_ifindex = H.pack, H.control_types, H.lo_ifindex
local assert_pending = H.assert_pending
local W, HDR = H.CMSG_W, H.CMSG_HDR
local SZ_PKTINFO = R.SZ_PKTINFO

---------------------------------------------------------------------------
-- the msg object
---------------------------------------------------------------------------

describe("wsarecv.msg", function()

  it("starts idle and empty, with the fields it was given", function()
    local buf = wsarecv.buffer(16)
    local bufs = { buf }
    local m = wsarecv.msg { buffers = bufs, control = 256 }
    assert.equal(bufs, m.buffers)
    assert.equal(256, #m.controlbuf)
    assert.equal(0, m.controllen)
    assert.equal(0, m.flags)
    assert.equal(0, m.inflags)
    assert.is_false(m.pending)
    assert.is_nil(m:name())
    assert.same({}, m:control())
    local p = wsarecv.msg { buffers = buf, control = 0, flags = MSG_PEEK }
    assert.equal(MSG_PEEK, p.inflags)
    assert.equal(0, #p.controlbuf)
  end)

  it("#linux a caller's buffer as control receives the raw cmsghdr", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
    local cb = wsarecv.buffer(100)
    local data = wsarecv.buffer(16)
    local m = wsarecv.msg { buffers = { data }, control = cb }
    assert.equal(cb, m.controlbuf)
    ch.send("cb")
    assert.same({ 0, 2, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal(SZ_PKTINFO, m.controllen)
    local fmt = W == 8 and "I8i4i4" or "I4i4i4"
    local len, level, typ = cb:unpack(fmt)
    assert.equal(HDR + 12, len)      -- CMSG_LEN(sizeof(struct in_pktinfo))
    assert.equal(0, level)           -- IPPROTO_IP
    assert.equal(8, typ)             -- IP_PKTINFO
    -- in_pktinfo: ifindex, spec_dst, addr (network order)
    local ifindex = cb:unpack("i4", HDR + 1)
    assert.equal(lo_ifindex() or 1, ifindex)
    assert.equal("\127\0\0\1", cb:sub(HDR + 9, HDR + 12))
  end)

  it("buffers and control can be replaced between receives", function()
    local ch = udp("inet", "127.0.0.1")
    local a, b = wsarecv.buffer(8), wsarecv.buffer(8)
    local m = wsarecv.msg { buffers = a, control = 0 }
    ch.send("first")
    ch.send("second")
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    m.buffers = { b }
    m.control = 64
    assert.equal(64, #m.controlbuf)
    assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal("first\0\0\0", a:sub())
    assert.equal("second\0\0", b:sub())
  end)

  it("without a control buffer: data arrives, enabled messages give "
    .. "MSG_CTRUNC and WSAEMSGSIZE", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(8)
      local m = wsarecv.msg { buffers = buf }
      assert.is_nil(m.controlbuf)
      ch.send("nocontrol")   -- 9 bytes: also truncated
      ch.send("plain")
      assert.same({ nil, "WSAEMSGSIZE", 10040, 8, n = 4 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.equal(MSG_TRUNC, m.flags)
      assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal(0, m.flags)
      assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
      ch.send("ttl")
      assert.same({ nil, "WSAEMSGSIZE", 10040, 3, n = 4 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.equal("ttl", buf:sub(1, 3))
      assert.equal(MSG_CTRUNC, m.flags)
      assert.equal(0, m.controllen)
      assert.same({}, m:control())
    end)

  it("a WSARecvMsg post that fails keeps the object's previous msg alive "
     .. "(no use after free when the object is collected)", function()
    local u = H.udp("inet", "127.0.0.1")
    local ov = wsarecv.overlapped()
    do
      local m1 = wsarecv.msg { buffers = wsarecv.buffer(64), control = 64 }
      assert_pending(u.rx:WSARecvMsg(m1, ov))
      u.send("hi")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000, false))
    end
    local m2 = wsarecv.msg { buffers = wsarecv.buffer(64), control = 64,
                             flags = wsarecv.MSG_PEEK }
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 }, pack(u.rx:WSARecvMsg(m2, ov)))
    collectgarbage(); collectgarbage()
    ov = nil  -- luacheck: ignore 311 (dropped for the collector)
    collectgarbage(); collectgarbage()      -- ASan: no write to a freed msg
    u.rx:close(); u.tx:close()
  end)

  it("collecting a finished object does not release a msg another "
     .. "operation is using", function()
    local u = H.udp("inet", "127.0.0.1")
    local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 64 }
    local ov1 = wsarecv.overlapped()
    assert_pending(u.rx:WSARecvMsg(m, ov1))
    u.send("one")
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov1 }, false, 2000, false))
    local ov2 = wsarecv.overlapped()
    assert_pending(u.rx:WSARecvMsg(m, ov2))
    ov1 = nil  -- luacheck: ignore 311 (dropped for the collector)
    collectgarbage(); collectgarbage()
    assert.is_true(m.pending)
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
                pack(u.rx:WSARecvMsg(m, wsarecv.overlapped())))
    u.rx:close()
    H.drain()
    u.tx:close()
  end)
end)

---------------------------------------------------------------------------
-- one msg, many receives
---------------------------------------------------------------------------

describe("one msg reused", function()

  local N, BATCH = 5000, 100
  -- 48-byte payloads: a 4-byte sequence number and padding, made in one
  -- piece.  Long strings (over 40 bytes) are not interned, so the string
  -- table does not grow with them and the heap measure sees only the
  -- receive path; checking the content reads integers (buf:byte), which
  -- allocates nothing.
  local PAD = string.rep("p", 44)
  local function payload(n) return string.pack(">I4c44", n, PAD) end
  local function seq_of(buf)
    local a, b, c, d = buf:byte(1, 4)
    return a << 24 | b << 16 | c << 8 | d
  end
  local function heap()
    collectgarbage("collect")
    collectgarbage("collect")
    return collectgarbage("count")
  end

  it("for 5000 nonoverlapped receives: every datagram, in order, and the "
    .. "Lua heap does not grow", function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
      local buf = wsarecv.buffer(64)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local got, bad = 0, 0
      local base
      for b = 0, N // BATCH - 1 do
        for i = 1, BATCH do ch.send(payload(b * BATCH + i)) end
        for _ = 1, BATCH do
          local r, bytes, flags = ch.rx:WSARecvMsg(m)
          got = got + 1
          if r ~= 0 or bytes ~= 48 or flags ~= 0 or seq_of(buf) ~= got
            or buf:byte(48) ~= 112 or buf:byte(49) ~= 0 then
            bad = bad + 1
          end
        end
        if b == 0 then base = heap() end
      end
      local grown = heap() - base
      assert.equal(N, got)
      assert.equal(0, bad)
      assert.is_true(grown < 4, ("Lua heap grew by %.1f KB"):format(grown))
      -- the control message of the last one is still there
      assert.same({ "IP_TTL" }, types(m))
      assert.equal(payload(N), buf:sub(1, 48))
    end)

  it("for 5000 overlapped receives reposted from the routine with one ov",
    function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(64)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local ov = wsarecv.overlapped()
      local got, bad, failed = 0, 0, nil
      local routine
      routine = function(err, bytes, o, flags, mm)
        got = got + 1
        if err or bytes ~= 48 or flags ~= 0 or mm ~= m or o ~= ov
          or seq_of(buf) ~= got or buf:byte(48) ~= 112 then
          bad = bad + 1
        end
        if got < N then
          local r, e = ch.rx:WSARecvMsg(m, ov, routine)
          if r ~= 0 and e ~= "WSA_IO_PENDING" then failed = e end
        end
      end
      assert_pending(ch.rx:WSARecvMsg(m, ov, routine))
      local base
      for b = 0, N // BATCH - 1 do
        for i = 1, BATCH do ch.send(payload(b * BATCH + i)) end
        local want = (b + 1) * BATCH
        for _ = 1, 500 do
          if got >= want or failed then break end
          wsarecv.SleepEx(10, true)
        end
        assert.equal(want, got)
        if b == 0 then base = heap() end
      end
      local grown = heap() - base
      assert.is_nil(failed)
      assert.equal(N, got)
      assert.equal(0, bad)
      assert.is_false(m.pending)
      assert.equal(0, ch.rx:pending())
      assert.is_true(grown < 4, ("Lua heap grew by %.1f KB"):format(grown))
    end)
end)
