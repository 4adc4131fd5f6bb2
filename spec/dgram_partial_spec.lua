-- MSG_PARTIAL on UDP (the WSARecv page, lpFlags MSG_PARTIAL): a datagram
-- bigger than the buffers comes in pieces, the rest kept for the next
-- receives.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local D = require "spec.support.dgram"(after_each)
local channel = D.channel

local wait_for, pack, assert_pending = H.wait_for, H.pack, H.assert_pending

---------------------------------------------------------------------------
-- MSG_PARTIAL on UDP
---------------------------------------------------------------------------

describe("#linux MSG_PARTIAL on UDP", function()
  for _, kind in ipairs { "inet", "inet6" } do
    it("a datagram bigger than the buffers comes in pieces (" .. kind .. ")",
      function()
        local ch = channel(kind)
        ch.send("0123456789")
        ch.send("second")
        local b = wsarecv.buffer(4)
        local P = wsarecv.MSG_PARTIAL
        assert.equal(0x8000, P)
        assert.same({ 0, 4, P, n = 3 }, pack(ch.rx:WSARecv(b, P)))
        assert.equal("0123", b:sub())
        assert.same({ 0, 4, P, n = 3 }, pack(ch.rx:WSARecv(b, P)))
        assert.equal("4567", b:sub())
        b:fill(0)
        -- the last piece: MSG_PARTIAL clear
        assert.same({ 0, 2, 0, n = 3 }, pack(ch.rx:WSARecv(b, P)))
        assert.equal("89\0\0", b:sub())
        -- then the next datagram, whole
        local big = wsarecv.buffer(16)
        assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecv(big, P)))
        assert.equal("second", big:sub(1, 6))
      end)
  end

  it("subsequent receives without the flag still return the rest",
    function()
      local ch = channel("inet")
      ch.send("ABCDEFGHIJK")
      ch.send("zz")
      local b = wsarecv.buffer(5)
      assert.same({ 0, 5, wsarecv.MSG_PARTIAL, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_PARTIAL)))
      assert.equal("ABCDE", b:sub())
      local b2 = wsarecv.buffer(32)
      assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecv(b2, 0)))
      assert.equal("FGHIJK", b2:sub(1, 6))
      assert.same({ 0, 2, 0, n = 3 }, pack(ch.rx:WSARecv(b2, 0)))
      assert.equal("zz", b2:sub(1, 2))
    end)

  it("a datagram that fits completes whole with MSG_PARTIAL clear",
    function()
      local ch = channel("inet")
      ch.send("fits")
      local b = wsarecv.buffer(4)
      assert.same({ 0, 4, 0, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_PARTIAL)))
      assert.equal("fits", b:sub())
    end)

  it("on a pending operation the routine gets the first part and "
    .. "MSG_PARTIAL; the rest follows", function()
      local ch = channel("inet")
      local b = wsarecv.buffer(3)
      local ov = wsarecv.overlapped()
      local got
      assert_pending(ch.rx:WSARecv(b, wsarecv.MSG_PARTIAL, ov,
        function(err, bytes, _, flags)
          got = { err = err, bytes = bytes, flags = flags }
        end))
      ch.send("xyz123!")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ bytes = 3, flags = wsarecv.MSG_PARTIAL }, got)
      assert.equal("xyz", b:sub())
      assert.equal(wsarecv.MSG_PARTIAL, ov.flags)
      assert.same({ 3, wsarecv.MSG_PARTIAL, n = 2 },
        pack(ch.rx:WSAGetOverlappedResult(ov)))
      local rest = wsarecv.buffer(3)
      assert.same({ 0, 3, wsarecv.MSG_PARTIAL, n = 3 },
        pack(ch.rx:WSARecv(rest, wsarecv.MSG_PARTIAL)))
      assert.equal("123", rest:sub())
      assert.same({ 0, 1, 0, n = 3 },
        pack(ch.rx:WSARecv(rest, wsarecv.MSG_PARTIAL)))
      assert.equal("!", rest:sub(1, 1))
    end)

  it("a receive a routine posts while the rest waits is served without new "
     .. "data, even after the socket was found empty", function()
    local ch = channel("inet")
    -- a cancelled receive leaves the socket marked as found empty
    local ov0 = wsarecv.overlapped()
    assert_pending(ch.rx:WSARecv(wsarecv.buffer(8), 0, ov0))
    assert.equal(0, ch.rx:CancelIoEx(ov0))
    ch.send(("x"):rep(100))
    local got
    local second = wsarecv.buffer(10)
    local first = wsarecv.buffer(10)
    -- (completed at once or pending: the routine runs in a wait either way)
    ch.rx:WSARecv(first, wsarecv.MSG_PARTIAL, nil, function()
      ch.rx:WSARecv(second, 0, nil, function(err, n, _, fl)
        got = { err, n, fl }
      end)
    end)
    assert.is_true(wait_for(function() return got ~= nil end))
    assert.same({ nil, 10, wsarecv.MSG_PARTIAL }, got)
    assert.equal(("x"):rep(10), second:sub())
  end)

  it("the receive queued behind a cancelled one gets the rest", function()
    local ch = channel("inet")
    ch.send(("y"):rep(30))
    local b = wsarecv.buffer(10)
    assert.same({ 0, 10, wsarecv.MSG_PARTIAL, n = 3 },
                pack(ch.rx:WSARecv(b, wsarecv.MSG_PARTIAL)))
    -- two receives queued while a routine runs: the first is cancelled
    local ovA, ovB = wsarecv.overlapped(), wsarecv.overlapped()
    local bytes
    ch.rx:WSARecv(wsarecv.buffer(1), 0, nil, function()
      ch.rx:WSARecv(wsarecv.buffer(10), 0, ovA)
      ch.rx:WSARecv(wsarecv.buffer(10), 0, ovB)
      ch.rx:CancelIoEx(ovA)
    end)
    assert.is_true(wait_for(function() return ovB.bytes ~= nil end))
    bytes = ovB.bytes
    assert.equal(10, bytes)
    assert.equal("WSA_OPERATION_ABORTED", ovA.error)
  end)

  it("MSG_PARTIAL with MSG_WAITALL is refused", function()
    local ch = channel("inet")
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(ch.rx:WSARecv(wsarecv.buffer(4),
        wsarecv.MSG_PARTIAL | wsarecv.MSG_WAITALL)))
  end)

  it("a zero-byte receive completes at once while the rest of a "
     .. "MSG_PARTIAL datagram waits in wsarecv: an empty piece, "
     .. "MSG_PARTIAL, the rest kept", function()
    local u = H.udp("inet", "127.0.0.1", { rcvtimeo = 2000 })
    u.send(("a"):rep(100))
    H.settle(20)
    local b = wsarecv.buffer(10)
    assert.same({ 0, 10, wsarecv.MSG_PARTIAL, n = 3 }, pack(u.rx:WSARecv(b, wsarecv.MSG_PARTIAL)))
    local zov, nov = wsarecv.overlapped(), wsarecv.overlapped()
    assert.same({ 0, 0, wsarecv.MSG_PARTIAL, n = 3 },
                pack(u.rx:WSARecv({}, 0, zov)))
    local rest = wsarecv.buffer(200)
    assert.same({ 0, 90, 0, n = 3 }, pack(u.rx:WSARecv(rest, 0, nov)))
    assert.equal(("a"):rep(90), rest:sub(1, 90))
    u.rx:close(); u.tx:close()
  end)

  it("a WSARecvMsg with a routine served from the rest of a MSG_PARTIAL "
     .. "datagram: WSA_IO_PENDING, the routine once with WSAEMSGSIZE",
     function()
    local u = H.udp("inet", "127.0.0.1", { rcvtimeo = 2000 })
    u.send(("y"):rep(30))
    H.settle(20)
    assert.same({ 0, 10, wsarecv.MSG_PARTIAL, n = 3 },
                pack(u.rx:WSARecv(wsarecv.buffer(10), wsarecv.MSG_PARTIAL)))
    local buf = wsarecv.buffer(6)
    local m = wsarecv.msg { buffers = buf, control = 64 }
    local calls = {}
    assert_pending(u.rx:WSARecvMsg(m, nil, function(err, n, _, fl, mm)
      calls[#calls + 1] = { err, n, fl, (mm:name()) }
    end))
    H.settle(30)
    assert.same({ { "WSAEMSGSIZE", 6, wsarecv.MSG_TRUNC, "127.0.0.1" } },
                calls)
    assert.equal(("y"):rep(6), buf:sub())
    u.rx:close(); u.tx:close()
  end)

  it("a WSARecvMsg served from the rest of a MSG_PARTIAL datagram names "
     .. "its source, and its flags agree everywhere", function()
    local u = H.udp("inet", "127.0.0.1", { rcvtimeo = 2000 })
    u.send(("x"):rep(40))
    H.settle(20)
    assert.same({ 0, 10, wsarecv.MSG_PARTIAL, n = 3 },
                pack(u.rx:WSARecv(wsarecv.buffer(10), wsarecv.MSG_PARTIAL)))
    local m = wsarecv.msg { buffers = wsarecv.buffer(8), control = 64 }
    local ov = wsarecv.overlapped()
    -- 30 bytes remain, 8 fit: the excess is discarded, as for any datagram;
    -- overlapped, that is reported through the completion
    assert_pending(u.rx:WSARecvMsg(m, ov))
    assert.is_false(ov.pending)
    assert.same({ nil, "WSAEMSGSIZE", 10040, 8, n = 4 },
                pack(u.rx:WSAGetOverlappedResult(ov)))
    assert.equal(wsarecv.MSG_TRUNC, m.flags)
    assert.equal(wsarecv.MSG_TRUNC, ov.flags)
    assert.same({ "127.0.0.1", u.txport }, { m:name() })
    assert.same({}, m:control())
    -- the datagram is gone: the next one is received whole
    u.send("next")
    local ok, n = u.rx:WSARecvMsg(m)
    assert.equal(0, ok)
    assert.equal(4, n)
    assert.equal(0, m.flags)
    u.rx:close(); u.tx:close()
  end)
end)
