-- msg.length: the full length of the datagram a WSARecvMsg received, as
-- Linux reports it (receives on message sockets ask with MSG_TRUNC), next
-- to the bytes placed.  Every path a datagram takes: one recvmsg, the
-- recvmmsg batch, MSG_PEEK, the rest of a MSG_PARTIAL datagram, the error
-- queue.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_TRUNC, MSG_PEEK, MSG_PARTIAL =
  wsarecv.MSG_TRUNC, wsarecv.MSG_PEEK, wsarecv.MSG_PARTIAL

local R = require "spec.support.recvmsg"(after_each)
local T, sock, udp = R.T, R.sock, R.udp

local pack, wait_for, assert_pending = H.pack, H.wait_for, H.assert_pending
local buffer = wsarecv.buffer

-- `n` bytes that tell their positions apart
local function payload(n)
  local t = {}
  for i = 1, n do t[i] = string.char(65 + (i - 1) % 26) end
  return table.concat(t)
end

-- #linux: Windows does not report a truncated datagram's full length
describe("#linux msg.length", function()

  it("is nil before the first receive, then the datagram's length", function()
    local u = udp()
    local m = wsarecv.msg { buffers = buffer(64) }
    assert.is_nil(m.length)
    u.send("twelve bytes")
    assert.same({ 0, 12, 0, n = 3 }, pack(u.rx:WSARecvMsg(m)))
    assert.equal(12, m.length)
  end)

  it("a datagram too big for the buffers: its full length, the bytes "
    .. "placed, MSG_TRUNC and WSAEMSGSIZE (inet and inet6)", function()
      for _, f in ipairs { { "inet", "127.0.0.1" }, { "inet6", "::1" } } do
        local u = udp(f[1], f[2])
        local b = buffer(64)
        local m = wsarecv.msg { buffers = b }
        u.send(payload(512))
        assert.same({ nil, "WSAEMSGSIZE", 10040, 64, n = 4 },
          pack(u.rx:WSARecvMsg(m)))
        assert.equal(512, m.length, f[1])
        assert.equal(MSG_TRUNC, m.flags)
        assert.equal(payload(64), b:sub(1, 64))
        -- the next, smaller one: nothing of the last one's length stays
        u.send("short")
        assert.same({ 0, 5, 0, n = 3 }, pack(u.rx:WSARecvMsg(m)))
        assert.equal(5, m.length)
      end
    end)

  it("the bytes placed are what fits a WSABUF array of several buffers",
    function()
      local u = udp()
      local b1, b2 = buffer(8), buffer(8)
      local m = wsarecv.msg { buffers = { b1, { b2, 2, 4 } } }   -- 12 bytes
      u.send(payload(100))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 12, n = 4 },
        pack(u.rx:WSARecvMsg(m)))
      assert.equal(100, m.length)
      assert.equal(payload(8), b1:sub(1, 8))
      assert.equal(payload(12):sub(9, 12), b2:sub(3, 6))
      assert.equal("\0\0", b2:sub(1, 2))
      assert.equal("\0\0", b2:sub(7, 8))
    end)

  it("an empty datagram is 0; empty buffers place nothing of a longer one",
    function()
      local u = udp()
      local m = wsarecv.msg { buffers = {} }
      u.send("")
      assert.same({ 0, 0, 0, n = 3 }, pack(u.rx:WSARecvMsg(m)))
      assert.equal(0, m.length)
      u.send("lost")
      assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
        pack(u.rx:WSARecvMsg(m)))
      assert.equal(4, m.length)
    end)

  it("reaches the routine of each operation served by one recvmmsg, "
    .. "bytes placed never above the capacity", function()
      local u = udp()
      local sizes = { 10, 40, 33, 32, 0, 1000 }
      local seen, ms = {}, {}
      for i = 1, #sizes do
        ms[i] = wsarecv.msg { buffers = buffer(32) }
        assert_pending(u.rx:WSARecvMsg(ms[i], wsarecv.overlapped(),
          function(err, bytes, _, flags, m)
            seen[#seen + 1] = { err or 0, bytes, flags, m.length }
          end))
      end
      -- all queued before the wait: the drain serves them in one batch
      for _, n in ipairs(sizes) do u.send(payload(n)) end
      assert.is_true(wait_for(function() return #seen == #sizes end))
      assert.same({
        { 0, 10, 0, 10 },
        { "WSAEMSGSIZE", 32, MSG_TRUNC, 40 },
        { "WSAEMSGSIZE", 32, MSG_TRUNC, 33 },
        { 0, 32, 0, 32 },
        { 0, 0, 0, 0 },
        { "WSAEMSGSIZE", 32, MSG_TRUNC, 1000 },
      }, seen)
      for i = 1, #sizes do
        local want = payload(math.min(sizes[i], 32))
        assert.equal(want, ms[i].buffers:sub(1, #want))
      end
    end)

  it("reaches routines that repost their msg (the reposts are served "
    .. "together when the delivery pass ends)", function()
      local u = udp()
      local lengths, bytes = {}, {}
      local function routine(err, n, ov, _, m)
        if err == "WSA_OPERATION_ABORTED" then return end
        lengths[#lengths + 1], bytes[#bytes + 1] = m.length, n
        if #lengths < 12 then u.rx:WSARecvMsg(m, ov, routine) end
      end
      for _ = 1, 3 do
        assert_pending(u.rx:WSARecvMsg(wsarecv.msg { buffers = buffer(16) },
          wsarecv.overlapped(), routine))
      end
      for i = 1, 12 do u.send(payload(i * 3)) end
      assert.is_true(wait_for(function() return #lengths == 12 end))
      for i = 1, 12 do
        assert.equal(i * 3, lengths[i])
        assert.equal(math.min(i * 3, 16), bytes[i])
      end
    end)

  it("WSARecv next to it is unchanged: the bytes placed, not the length",
    function()
      local u = udp()
      local b = buffer(16)
      u.send(payload(300))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 16, n = 4 },
        pack(u.rx:WSARecv(b, 0)))
      local got = {}
      for _ = 1, 3 do
        assert_pending(u.rx:WSARecv(buffer(16), 0, wsarecv.overlapped(),
          function(err, n, _, flags) got[#got + 1] = { err or 0, n, flags } end))
      end
      u.send(payload(20)); u.send(payload(16)); u.send(payload(2))
      assert.is_true(wait_for(function() return #got == 3 end))
      assert.same({ { "WSAEMSGSIZE", 16, 0 }, { 0, 16, 0 }, { 0, 2, 0 } }, got)
    end)

  it("MSG_PEEK: the full length, and the datagram stays", function()
    local u = udp()
    local m = wsarecv.msg { buffers = buffer(8), flags = MSG_PEEK }
    u.send(payload(50))
    assert.same({ nil, "WSAEMSGSIZE", 10040, 8, n = 4 },
      pack(u.rx:WSARecvMsg(m)))
    assert.equal(50, m.length)
    m.flags = 0
    m.buffers = buffer(64)
    assert.same({ 0, 50, 0, n = 3 }, pack(u.rx:WSARecvMsg(m)))
    assert.equal(50, m.length)
  end)

  it("the rest of a MSG_PARTIAL datagram: what remained of it", function()
    local u = udp()
    u.send(payload(100))
    assert.same({ 0, 30, MSG_PARTIAL, n = 3 },
      pack(u.rx:WSARecv(buffer(30), MSG_PARTIAL)))
    local m = wsarecv.msg { buffers = buffer(20) }
    assert.same({ nil, "WSAEMSGSIZE", 10040, 20, n = 4 },
      pack(u.rx:WSARecvMsg(m)))
    assert.equal(70, m.length)
    assert.equal(MSG_TRUNC, m.flags)
    -- a rest that fits
    u.send(payload(40))
    assert.same({ 0, 30, MSG_PARTIAL, n = 3 },
      pack(u.rx:WSARecv(buffer(30), MSG_PARTIAL)))
    assert.same({ 0, 10, 0, n = 3 }, pack(u.rx:WSARecvMsg(m)))
    assert.equal(10, m.length)
    assert.equal(payload(40):sub(31), m.buffers:sub(1, 10))
  end)

  it("a unix datagram socket reports it too", function()
    local path = T.path(H.unix_path())
    local rx = sock("unix", "dgram")
    assert(rx:bind(path) == 0)
    local tx = sock("unix", "dgram")
    local m = wsarecv.msg { buffers = buffer(4) }
    assert.equal(10, tx:sendto("unix dgram", path))
    assert.same({ nil, "WSAEMSGSIZE", 10040, 4, n = 4 }, pack(rx:WSARecvMsg(m)))
    assert.equal(10, m.length)
  end)

  it("a raw socket reports the whole packet's length", function()
    local raw, name, code = wsarecv.socket("inet", "raw", "udp")
    if not raw then
      pending(("needs root / CAP_NET_RAW: %s %s"):format(name, code))
      return
    end
    T.track(raw)
    assert(raw:bind("127.0.0.1", 0) == 0)
    assert(raw:setsockopt("SO_RCVTIMEO", 2000) == 0)
    local u = udp()
    local m = wsarecv.msg { buffers = buffer(32) }
    u.send(payload(200))
    -- other UDP traffic on loopback may come first: find ours by its port
    for _ = 1, 50 do
      local r = pack(raw:WSARecvMsg(m))
      assert.equal("WSAEMSGSIZE", r[2])
      assert.equal(32, r[4])
      if m.buffers:unpack(">I2", 23) == u.port then break end
    end
    assert.equal(u.port, m.buffers:unpack(">I2", 23))
    assert.equal(20 + 8 + 200, m.length)      -- IP header, UDP header, data
  end)

  it("a receive failed by an ICMP report (IP_RECVERR) received no "
    .. "datagram: 0", function()
      local s = H.bound(sock("inet", "dgram"), "127.0.0.1")
      assert(s:setsockopt("IP_RECVERR", true) == 0)
      assert(s:connect("127.0.0.1", H.closed_udp_port("inet", "127.0.0.1")) == 0)
      local m = wsarecv.msg { buffers = buffer(64), control = 256 }
      assert.equal(7, s:send("nothing"))
      H.assert_fail("WSAECONNRESET", 10054, s:WSARecvMsg(m))
      assert.equal(0, m.length)
    end)
end)
