-- MSG_PARTIAL on UDP (the WSARecv page, lpFlags MSG_PARTIAL): a datagram
-- bigger than the buffers comes in pieces, the rest kept for the next
-- receives.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

-- sockets to close and unix socket paths to remove after each test
local T = H.tracker()

local wait_for, pack, assert_pending = H.wait_for, H.pack, H.assert_pending

-- rx receives, send(str) delivers one message to rx (bounded waits too)
local function channel(kind) return H.dgram_channel(T, kind) end

after_each(function()
  T.cleanup(function() H.drain(20) end)
end)

---------------------------------------------------------------------------
-- MSG_PARTIAL on UDP
---------------------------------------------------------------------------

describe("MSG_PARTIAL on UDP", function()
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

  it("MSG_PARTIAL with MSG_WAITALL is refused", function()
    local ch = channel("inet")
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(ch.rx:WSARecv(wsarecv.buffer(4),
        wsarecv.MSG_PARTIAL | wsarecv.MSG_WAITALL)))
  end)
end)
