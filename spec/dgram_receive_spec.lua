-- WSARecv on message-oriented sockets (the WSARecv page, "for
-- message-oriented sockets"): one message per operation, exact bytes,
-- posting order, MSG_PEEK, SO_RCVTIMEO, zero-length datagrams, refused
-- flags; over UDP on 127.0.0.1 and ::1 and over unix dgram.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local D = require "spec.support.dgram"(after_each)
local channel = D.channel

local wait_for, pack, assert_pending = H.wait_for, H.pack, H.assert_pending

for _, kind in ipairs { "inet", "inet6", "unix" } do
  describe("datagram receive over " .. kind
    .. (kind == "unix" and " #linux" or ""), function()

    it("nonoverlapped: one datagram per call, exact bytes", function()
      local ch = channel(kind)
      ch.send("first")
      ch.send("second!")
      local buf = wsarecv.buffer(32)
      local r = pack(ch.rx:WSARecv(buf, 0))
      assert.same({ 0, 5, 0, n = 3 }, r)
      assert.equal("first", buf:sub(1, 5))
      assert.equal(0, buf:byte(6))  -- nothing of the next message
      r = pack(ch.rx:WSARecv(buf, 0))
      assert.same({ 0, 7, 0, n = 3 }, r)
      assert.equal("second!", buf:sub(1, 7))
    end)

    it("nonoverlapped across several buffers: packed in order", function()
      local ch = channel(kind)
      ch.send("abcdefgh")
      local b1, b2, b3 = wsarecv.buffer(3), wsarecv.buffer(2),
                         wsarecv.buffer(10)
      local r = pack(ch.rx:WSARecv({ b1, b2, b3 }, 0))
      assert.same({ 0, 8, 0, n = 3 }, r)
      assert.equal("abc", b1:sub())
      assert.equal("de", b2:sub())
      assert.equal("fgh", b3:sub(1, 3))
      assert.equal(string.rep("\0", 7), b3:sub(4))
    end)

    it("several outstanding operations get datagrams in posting order",
      function()
        local ch = channel(kind)
        local bufs, ovs, calls = {}, {}, {}
        for i = 1, 4 do
          bufs[i] = wsarecv.buffer(16)
          ovs[i] = wsarecv.overlapped()
          ovs[i].context = i
          local r = pack(ch.rx:WSARecv(bufs[i], 0, ovs[i],
            function(err, bytes, ov, flags)
              calls[#calls + 1] = { ov.context, err, bytes, flags }
            end))
          assert.same(H.PENDING, r)
        end
        assert.equal(4, ch.rx:pending())
        local msgs = { "one", "two-2", "three-33", "4" }
        for _, m in ipairs(msgs) do ch.send(m) end
        assert.is_true(wait_for(function() return #calls == 4 end))
        assert.equal(0, ch.rx:pending())
        for i, m in ipairs(msgs) do
          assert.equal(m, bufs[i]:sub(1, #m))
          assert.equal(string.rep("\0", 16 - #m), bufs[i]:sub(#m + 1))
          assert.equal(#m, ovs[i].bytes)
          assert.equal(0, ovs[i].flags)
          assert.is_nil(ovs[i].error)
          assert.is_false(ovs[i].pending)
        end
        table.sort(calls, function(a, b) return a[1] < b[1] end)
        for i, m in ipairs(msgs) do
          assert.same({ i, nil, #m, 0 }, calls[i])
        end
      end)

    it("MSG_PEEK (nonoverlapped) leaves the datagram queued, even when it "
      .. "does not fit", function()
        local ch = channel(kind)
        ch.send("0123456789")
        local small = wsarecv.buffer(4)
        assert.same({ nil, "WSAEMSGSIZE", 10040, 4, n = 4 },
          pack(ch.rx:WSARecv(small, wsarecv.MSG_PEEK)))
        assert.equal("0123", small:sub())
        local big = wsarecv.buffer(16)
        assert.same({ 0, 10, 0, n = 3 },
          pack(ch.rx:WSARecv(big, wsarecv.MSG_PEEK)))
        assert.same({ 0, 10, 0, n = 3 }, pack(ch.rx:WSARecv(big, 0)))
        assert.equal("0123456789", big:sub(1, 10))
        assert(ch.rx:setsockopt("FIONBIO", true) == 0)
        assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
          pack(ch.rx:WSARecv(big, 0)))
        -- and never overlapped
        assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
          pack(ch.rx:WSARecv(big, wsarecv.MSG_PEEK, wsarecv.overlapped())))
      end)

    it("#linux a nonoverlapped receive waits its turn behind pending overlapped "
      .. "ones", function()
        local ch = channel(kind)
        local ob = wsarecv.buffer(16)
        local ov = wsarecv.overlapped()
        assert_pending(ch.rx:WSARecv(ob, 0, ov))
        ch.send("first")
        ch.send("second")
        local b = wsarecv.buffer(16)
        assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecv(b, 0)))
        assert.equal("second", b:sub(1, 6))
        assert.is_false(ov.pending)
        assert.equal(5, ov.bytes)
        assert.equal("first", ob:sub(1, 5))
      end)

    it("SO_RCVTIMEO: a nonoverlapped receive times out with WSAETIMEDOUT "
      .. "and takes nothing from later datagrams", function()
        local ch = channel(kind)
        assert.equal(0, ch.rx:setsockopt("SO_RCVTIMEO", 30))
        local b = wsarecv.buffer(8)
        assert.same({ nil, "WSAETIMEDOUT", 10060, n = 3 },
          pack(ch.rx:WSARecv(b, 0)))
        assert.equal(0, ch.rx:pending())
        local got
        assert_pending(ch.rx:WSARecv(b, 0, nil, function(err, bytes)
          got = { err = err, bytes = bytes }
        end))
        ch.send("later")
        assert.is_true(wait_for(function() return got ~= nil end))
        assert.same({ bytes = 5 }, got)
        assert.equal("later", b:sub(1, 5))
      end)

    it("a zero-length datagram is received as 0 bytes, success", function()
      local ch = channel(kind)
      ch.send("")
      ch.send("x")
      local b = wsarecv.buffer(8)
      b:fill("#")
      local r = pack(ch.rx:WSARecv(b, 0))
      assert.same({ 0, 0, 0, n = 3 }, r)
      assert.equal("########", b:sub())
      r = pack(ch.rx:WSARecv(b, 0))
      assert.same({ 0, 1, 0, n = 3 }, r)
      assert.equal("x", b:sub(1, 1))
    end)

    it("a zero-length datagram completes a pending operation with 0 bytes",
      function()
        local ch = channel(kind)
        local b = wsarecv.buffer(8)
        local got
        local r = pack(ch.rx:WSARecv(b, 0, nil, function(err, bytes, _, fl)
          got = { err = err, bytes = bytes, flags = fl }
        end))
        assert.same(H.PENDING, r)
        ch.send("")
        assert.is_true(wait_for(function() return got ~= nil end))
        assert.same({ bytes = 0, flags = 0 }, got)
        assert.equal(0, ch.rx:pending())
      end)

    it("MSG_OOB is refused with WSAEOPNOTSUPP", function()
      local ch = channel(kind)
      local b = wsarecv.buffer(8)
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_OOB)))
      local ran = false
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_OOB, wsarecv.overlapped(),
          function() ran = true end)))
      assert.equal(0, ch.rx:pending())
      -- nothing was consumed and nothing will complete
      ch.send("ok")
      assert.same({ 0, 2, 0, n = 3 }, pack(ch.rx:WSARecv(b, 0)))
      assert.equal("ok", b:sub(1, 2))
      wsarecv.SleepEx(10, true)
      assert.is_false(ran)
    end)

    it("MSG_WAITALL is refused with WSAEOPNOTSUPP", function()
      local ch = channel(kind)
      local b = wsarecv.buffer(8)
      ch.send("data")
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_WAITALL)))
      local ran = false
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_WAITALL, wsarecv.overlapped(),
          function() ran = true end)))
      assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecv(b, 0)))
      assert.equal("data", b:sub(1, 4))
      wsarecv.SleepEx(10, true)
      assert.is_false(ran)
    end)
  end)
end
