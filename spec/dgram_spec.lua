-- Message-oriented sockets: UDP over 127.0.0.1 and ::1, unix dgram and
-- unix seqpacket.  One message per operation, posting order, WSAEMSGSIZE,
-- MSG_PARTIAL, ICMP port unreachable, connected-UDP filtering, flag rules,
-- graceful close on seqpacket (WSAEDISCON), zero-length datagrams, dual
-- stack.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

-- sockets to close and unix socket paths to remove after each test
local T = H.tracker()
local track, sock = T.track, T.socket

local function tmppath() return T.path(H.unix_path(".wsarecv-dgram")) end

local wait_for, pack, closed_udp_port = H.wait_for, H.pack, H.closed_udp_port

-- Nonoverlapped receives in these specs expect data that is already there;
-- should it not be, SO_RCVTIMEO turns a hang into WSAETIMEDOUT.
local function bound_wait(s)
  assert(s:setsockopt("SO_RCVTIMEO", 3000) == 0)
  return s
end

--[[ A datagram "channel": rx receives, send(str) delivers one message to rx.
  kind: "inet" | "inet6" | "unix" ]]
local function channel(kind)
  if kind == "unix" then
    local p = tmppath()
    local rx = sock("unix", "dgram")
    assert(rx:bind(p) == 0)
    bound_wait(rx)
    local tx = sock("unix", "dgram")
    return {
      rx = rx, tx = tx, name = "unix dgram",
      send = function(str) return assert(tx:sendto(str, p)) end,
    }
  end
  local ch = H.udp(kind, kind == "inet" and "127.0.0.1" or "::1",
    { socket = sock, rcvtimeo = 3000 })
  ch.name = kind .. " udp"
  return ch
end

-- A connected unix seqpacket pair: a (accepted), c (connecting side).
local function seqpacket_pair()
  local p = tmppath()
  local l = sock("unix", "seqpacket")
  assert(l:bind(p) == 0)
  assert(l:listen(4) == 0)
  local c = sock("unix", "seqpacket")
  assert(c:connect(p) == 0)
  local a = track((l:accept()))
  bound_wait(a)
  return a, c, l
end

after_each(function()
  T.cleanup(function() H.drain(20) end)
end)

---------------------------------------------------------------------------
-- one message per operation, order, exact bytes
---------------------------------------------------------------------------

for _, kind in ipairs { "inet", "inet6", "unix" } do
  describe("datagram receive over " .. kind, function()

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
          assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 }, r)
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

    it("a message larger than the buffers: first part placed, WSAEMSGSIZE "
      .. "with bytes placed, excess discarded (nonoverlapped)", function()
        local ch = channel(kind)
        ch.send("0123456789")
        ch.send("next")
        local b = wsarecv.buffer(4)
        local r = pack(ch.rx:WSARecv(b, 0))
        assert.same({ nil, "WSAEMSGSIZE", 10040, 4, n = 4 }, r)
        assert.equal("0123", b:sub())
        -- the rest of the big message is gone: the next receive gets "next"
        local big = wsarecv.buffer(16)
        r = pack(ch.rx:WSARecv(big, 0))
        assert.same({ 0, 4, 0, n = 3 }, r)
        assert.equal("next", big:sub(1, 4))
      end)

    it("WSAEMSGSIZE over several buffers fills all of them", function()
      local ch = channel(kind)
      ch.send("ABCDEFGHIJ")
      local b1, b2 = wsarecv.buffer(3), wsarecv.buffer(2)
      local r = pack(ch.rx:WSARecv({ b1, b2 }, 0))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 5, n = 4 }, r)
      assert.equal("ABC", b1:sub())
      assert.equal("DE", b2:sub())
    end)

    it("WSAEMSGSIZE on an overlapped call completing at once: "
      .. "WSA_IO_PENDING, then the routine runs once with the error and the "
      .. "bytes placed", function()
        local ch = channel(kind)
        ch.send("0123456789")
        ch.send("after")
        local b = wsarecv.buffer(4)
        local ov = wsarecv.overlapped()
        local calls = {}
        local r = pack(ch.rx:WSARecv(b, 0, ov, function(err, bytes, o, fl)
          calls[#calls + 1] = { err, bytes, o == ov, fl }
        end))
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 }, r)
        assert.equal("0123", b:sub())
        assert.equal(0, ch.rx:pending())
        assert.same({}, calls)        -- only in an alertable wait
        assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
        for _ = 1, 5 do wsarecv.SleepEx(5, true) end
        assert.same({ { "WSAEMSGSIZE", 4, true, 0 } }, calls)
        assert.equal("WSAEMSGSIZE", ov.error)
        assert.equal(4, ov.bytes)
        local big = wsarecv.buffer(16)
        r = pack(ch.rx:WSARecv(big, 0))
        assert.same({ 0, 5, 0, n = 3 }, r)
        assert.equal("after", big:sub(1, 5))
      end)

    it("WSAEMSGSIZE on an event-style call completing at once: "
      .. "WSA_IO_PENDING, the object signalled, WSAGetOverlappedResult gives "
      .. "the error and the bytes", function()
        local ch = channel(kind)
        ch.send("0123456789")
        local b = wsarecv.buffer(3)
        local ov = wsarecv.overlapped()
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv(b, 0, ov)))
        assert.is_false(ov.pending)
        assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 0,
          false))
        assert.same({ nil, "WSAEMSGSIZE", 10040, 3, n = 4 },
          pack(ch.rx:WSAGetOverlappedResult(ov)))
        assert.equal("012", b:sub())
        -- the object is free again
        ch.send("ok")
        assert.same({ 0, 2, 0, n = 3 }, pack(ch.rx:WSARecv(b, 0, ov)))
      end)

    it("a routine-driven receive chain goes on past a datagram too big "
      .. "for its buffers", function()
        local ch = channel(kind)
        local texts = { "0123456789", "ab", "cdefghijk", "lm" }
        for _, t in ipairs(texts) do ch.send(t) end
        local b = wsarecv.buffer(4)
        local got, fails = {}, {}
        local function rt(err, bytes, ov)
          got[#got + 1] = { err, b:sub(1, bytes) }
          if #got < #texts then
            local r = pack(ch.rx:WSARecv(b, 0, ov, rt))
            if r[1] ~= 0 and r[2] ~= "WSA_IO_PENDING" then
              fails[#fails + 1] = r[2]
            end
          end
        end
        local r = pack(ch.rx:WSARecv(b, 0, nil, rt))
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 }, r)
        assert.is_true(wait_for(function() return #got == #texts end))
        assert.same({ { "WSAEMSGSIZE", "0123" }, { nil, "ab" },
          { "WSAEMSGSIZE", "cdef" }, { nil, "lm" } }, got)
        assert.same({}, fails)
      end)

    it("WSAEMSGSIZE on a pending operation: the routine gets the error and "
      .. "the capacity, the excess is discarded", function()
        local ch = channel(kind)
        local b1, b2 = wsarecv.buffer(3), wsarecv.buffer(3)
        local ov = wsarecv.overlapped()
        local got
        local r = pack(ch.rx:WSARecv({ b1, b2 }, 0, ov,
          function(err, bytes, o, flags)
            got = { err = err, bytes = bytes, same = (o == ov), flags = flags }
          end))
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 }, r)
        ch.send("abcdefghijkl")
        ch.send("tail")
        assert.is_true(wait_for(function() return got ~= nil end))
        assert.same({ err = "WSAEMSGSIZE", bytes = 6, same = true, flags = 0 },
          got)
        assert.equal("abc", b1:sub())
        assert.equal("def", b2:sub())
        assert.equal("WSAEMSGSIZE", ov.error)
        assert.equal(6, ov.bytes)
        local g = pack(ch.rx:WSAGetOverlappedResult(ov))
        assert.same({ nil, "WSAEMSGSIZE", 10040, 6, n = 4 }, g)
        local big = wsarecv.buffer(32)
        r = pack(ch.rx:WSARecv(big, 0))
        assert.same({ 0, 4, 0, n = 3 }, r)
        assert.equal("tail", big:sub(1, 4))
      end)

    it("WSAEMSGSIZE on the first of several pending operations leaves the "
      .. "next datagram to the next operation", function()
        local ch = channel(kind)
        local small, big = wsarecv.buffer(2), wsarecv.buffer(16)
        local res = {}
        local function rt(err, bytes, ov)
          res[ov.context] = { err = err, bytes = bytes }
        end
        local o1, o2 = wsarecv.overlapped(), wsarecv.overlapped()
        o1.context, o2.context = 1, 2
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv(small, 0, o1, rt)))
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv(big, 0, o2, rt)))
        ch.send("LONGER")
        ch.send("short")
        assert.is_true(wait_for(function() return res[1] and res[2] end))
        assert.same({ err = "WSAEMSGSIZE", bytes = 2 }, res[1])
        assert.same({ bytes = 5 }, res[2])
        assert.equal("LO", small:sub())
        assert.equal("short", big:sub(1, 5))
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

    it("a nonoverlapped receive waits its turn behind pending overlapped "
      .. "ones", function()
        local ch = channel(kind)
        local ob = wsarecv.buffer(16)
        local ov = wsarecv.overlapped()
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv(ob, 0, ov)))
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
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv(b, 0, nil, function(err, bytes)
            got = { err = err, bytes = bytes }
          end)))
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
        local r = pack(ch.rx:WSARecv(b, 0, nil, function(err, bytes, ov, fl)
          got = { err = err, bytes = bytes, flags = fl }
        end))
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 }, r)
        ch.send("")
        assert.is_true(wait_for(function() return got ~= nil end))
        assert.same({ bytes = 0, flags = 0 }, got)
        assert.equal(0, ch.rx:pending())
      end)

    it("empty buffers (nonoverlapped): a datagram fails with WSAEMSGSIZE "
      .. "and is consumed, an empty one is received", function()
        local ch = channel(kind)
        ch.send("hello")
        ch.send("")
        ch.send("world")
        ch.send("x")
        local b = wsarecv.buffer(8)
        assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
          pack(ch.rx:WSARecv({}, 0)))
        assert.same({ 0, 0, 0, n = 3 }, pack(ch.rx:WSARecv({}, 0)))
        -- zero-length buffers and slices are no different
        assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
          pack(ch.rx:WSARecv({ wsarecv.buffer(0), { b, 2, 0 } }, 0)))
        assert.same({ 0, 1, 0, n = 3 }, pack(ch.rx:WSARecv(b, 0)))
        assert.equal("x", b:sub(1, 1))
      end)

    it("empty buffers (overlapped): the routine gets WSAEMSGSIZE, the "
      .. "event-style result too; each datagram is consumed", function()
        local ch = channel(kind)
        local got
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv({}, 0, nil, function(err, bytes, ov, flags)
            got = { err, bytes, flags }
          end)))
        ch.send("first")
        assert.is_true(wait_for(function() return got ~= nil end))
        assert.same({ "WSAEMSGSIZE", 0, 0 }, got)
        local ov = wsarecv.overlapped()
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv({}, 0, ov)))
        ch.send("second")
        assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
          false))
        assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
          pack(ch.rx:WSAGetOverlappedResult(ov)))
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(ch.rx:WSARecv({}, 0, ov)))
        ch.send("")
        assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
          false))
        assert.same({ 0, 0, n = 2 }, pack(ch.rx:WSAGetOverlappedResult(ov)))
        ch.send("third")
        local b = wsarecv.buffer(8)
        assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecv(b, 0)))
        assert.equal("third", b:sub(1, 5))
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
      assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
        pack(ch.rx:WSARecv(b, wsarecv.MSG_PARTIAL, ov,
          function(err, bytes, o, flags)
            got = { err = err, bytes = bytes, flags = flags }
          end)))
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

---------------------------------------------------------------------------
-- binding, connecting, ICMP
---------------------------------------------------------------------------

describe("UDP sockets", function()
  for _, kind in ipairs { "inet", "inet6" } do
    it("an unbound socket: WSARecv fails with WSAEINVAL (" .. kind .. ")",
      function()
        local s = bound_wait(sock(kind, "dgram"))
        local b = wsarecv.buffer(8)
        assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(s:WSARecv(b, 0)))
        local ran = false
        local ov = wsarecv.overlapped()
        assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
          pack(s:WSARecv(b, 0, ov, function() ran = true end)))
        assert.equal(0, s:pending())
        assert.is_false(ov.pending)
        wsarecv.SleepEx(10, true)
        assert.is_false(ran)
      end)
  end

  it("an unbound, unconnected unix dgram socket: WSARecv fails with "
    .. "WSAEINVAL", function()
      local s = bound_wait(sock("unix", "dgram"))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(s:WSARecv(wsarecv.buffer(8), 0)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(s:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())))
      assert.equal(0, s:pending())
    end)

  it("an inet socket given an IPv6 address: WSAEAFNOSUPPORT from bind, "
    .. "connect and sendto; text that is no address: WSAHOST_NOT_FOUND",
    function()
      local s = sock("inet", "dgram")
      local AF = { nil, "WSAEAFNOSUPPORT", 10047, n = 3 }
      local NF = { nil, "WSAHOST_NOT_FOUND", 11001, n = 3 }
      for _, a in ipairs { "::1", "::", "fe80::1%lo", "::ffff:127.0.0.1" } do
        assert.same(AF, pack(s:bind(a, 0)), a)
        assert.same(AF, pack(s:connect(a, 9)), a)
        assert.same(AF, pack(s:sendto("x", a, 9)), a)
      end
      for _, a in ipairs { "nonsense", "127.0.0.1.5", "::1::2" } do
        assert.same(NF, pack(s:bind(a, 0)), a)
        assert.same(NF, pack(s:sendto("x", a, 9)), a)
      end
      -- still usable: nothing was bound
      assert.equal(0, s:bind("127.0.0.1", 0))
    end)

  it("an IPv6 scope naming no interface: an unknown name is no address "
    .. "(WSAHOST_NOT_FOUND), an unknown index WSAEADDRNOTAVAIL", function()
      local s = sock("inet6", "dgram")
      local NF = { nil, "WSAHOST_NOT_FOUND", 11001, n = 3 }
      for _, a in ipairs { "fe80::1%nosuchif", "fe80::1%", "fe80::1%12abc",
        "fe80::1%99999999999" } do
        assert.same(NF, pack(s:bind(a, 0)), a)
        assert.same(NF, pack(s:connect(a, 9)), a)
        assert.same(NF, pack(s:sendto("x", a, 9)), a)
      end
      assert.same({ nil, "WSAEADDRNOTAVAIL", 10049, n = 3 },
        pack(s:bind("fe80::1%99999", 0)))
      -- still usable: nothing was bound, nor tied to an interface
      assert.equal(0, s:bind("::1", 0))
      -- the kernel's word for it (ENODEV) is the same error
      assert.same({ nil, "WSAEADDRNOTAVAIL", 10049, n = 3 },
        pack(s:setsockopt("IPV6_ADD_MEMBERSHIP", { "ff02::1:3", "99999" })))
    end)

  it("becomes receivable once sendto bound it implicitly", function()
    local rx = bound_wait(sock("inet", "dgram"))
    local peer = sock("inet", "dgram")
    assert(peer:bind("127.0.0.1", 0) == 0)
    local _, pport = peer:getsockname()
    local b = wsarecv.buffer(8)
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(rx:WSARecv(b, 0)))
    assert.equal(1, rx:sendto("?", "127.0.0.1", pport))
    local _, myport = rx:getsockname()
    assert.is_true(myport > 0)
    peer:sendto("back", "127.0.0.1", myport)
    assert.same({ 0, 4, 0, n = 3 }, pack(rx:WSARecv(b, 0)))
    assert.equal("back", b:sub(1, 4))
  end)

  for _, kind in ipairs { "inet", "inet6" } do
    local addr = kind == "inet" and "127.0.0.1" or "::1"

    it("connected socket that sent to a closed port: the next receive fails "
      .. "WSAECONNRESET (nonoverlapped, " .. kind .. ")", function()
        local port = closed_udp_port(kind, addr)
        local s = bound_wait(sock(kind, "dgram"))
        assert(s:bind(addr, 0) == 0)
        assert.equal(0, s:connect(addr, port))
        assert.equal(5, s:send("probe"))
        wsarecv.SleepEx(20, false)
        local b = wsarecv.buffer(8)
        assert.same({ nil, "WSAECONNRESET", 10054, n = 3 },
          pack(s:WSARecv(b, 0)))
        -- the error is reported once; the socket is still usable
        assert(s:setsockopt("FIONBIO", true) == 0)
        assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
          pack(s:WSARecv(b, 0)))
      end)

    it("connected socket that sent to a closed port: a pending overlapped "
      .. "receive completes with WSAECONNRESET (" .. kind .. ")", function()
        local port = closed_udp_port(kind, addr)
        local s = sock(kind, "dgram")
        assert(s:bind(addr, 0) == 0)
        assert.equal(0, s:connect(addr, port))
        local b = wsarecv.buffer(8)
        local ov = wsarecv.overlapped()
        local calls = {}
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(s:WSARecv(b, 0, ov, function(err, bytes, o, flags)
            calls[#calls + 1] = { err = err, bytes = bytes, flags = flags }
          end)))
        assert.equal(5, s:send("probe"))
        assert.is_true(wait_for(function() return #calls > 0 end))
        assert.same({ { err = "WSAECONNRESET", bytes = 0, flags = 0 } }, calls)
        assert.equal("WSAECONNRESET", ov.error)
        assert.same({ nil, "WSAECONNRESET", 10054, n = 3 },
          pack(s:WSAGetOverlappedResult(ov)))
      end)

    it("connected socket, ICMP port unreachable on a pending receive: the "
      .. "error is reported once, later receives work (" .. kind .. ")",
      function()
        local port = closed_udp_port(kind, addr)
        local s = sock(kind, "dgram")
        assert(s:bind(addr, 0) == 0)
        assert.equal(0, s:connect(addr, port))
        local calls = {}
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(s:WSARecv(wsarecv.buffer(8), 0, nil, function(err, bytes)
            calls[#calls + 1] = { err = err, bytes = bytes }
          end)))
        assert.equal(5, s:send("probe"))
        assert.is_true(wait_for(function() return #calls > 0 end))
        assert.equal(1, #calls)
        assert.is_string(calls[1].err)

        -- afterwards the socket still receives: a peer now takes the port
        local peer = sock(kind, "dgram")
        assert.equal(0, peer:bind(addr, port))
        local _, myport = s:getsockname()
        local b2 = wsarecv.buffer(8)
        local got
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(s:WSARecv(b2, 0, nil, function(err, bytes)
            got = { err = err, bytes = bytes }
          end)))
        assert.equal(5, peer:sendto("alive", addr, myport))
        assert.is_true(wait_for(function() return got ~= nil end, 100))
        assert.same({ bytes = 5 }, got)
        assert.equal("alive", b2:sub(1, 5))
      end)

    it("a connected socket ignores datagrams from other addresses ("
      .. kind .. ")", function()
        local rx = sock(kind, "dgram")
        assert(rx:bind(addr, 0) == 0)
        local _, rport = rx:getsockname()
        local good = sock(kind, "dgram")
        assert(good:bind(addr, 0) == 0)
        local _, gport = good:getsockname()
        local bad = sock(kind, "dgram")
        assert(bad:bind(addr, 0) == 0)
        assert.equal(0, rx:connect(addr, gport))

        local b = wsarecv.buffer(16)
        local got = {}
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(rx:WSARecv(b, 0, nil, function(err, bytes)
            got[#got + 1] = { err = err, bytes = bytes, data = b:sub(1, bytes) }
          end)))
        bad:sendto("from-bad", addr, rport)
        wsarecv.SleepEx(30, true)
        assert.same({}, got)
        good:sendto("from-good", addr, rport)
        assert.is_true(wait_for(function() return #got > 0 end))
        assert.same({ { bytes = 9, data = "from-good" } }, got)
        -- the stranger's datagram was dropped, not queued behind
        assert(rx:setsockopt("FIONBIO", true) == 0)
        assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
          pack(rx:WSARecv(b, 0)))
      end)
  end

  it("dual stack: an inet6 socket with IPV6_V6ONLY off, bound to ::, "
    .. "receives from an inet socket sending to 127.0.0.1", function()
      local s6 = bound_wait(sock("inet6", "dgram"))
      assert.equal(0, s6:setsockopt("IPV6_V6ONLY", false))
      assert.is_false(s6:getsockopt("IPV6_V6ONLY"))
      assert.equal(0, s6:bind("::", 0))
      local _, port = s6:getsockname()
      assert.is_true(port > 0)
      local s4 = sock("inet", "dgram")
      assert(s4:bind("127.0.0.1", 0) == 0)

      -- nonoverlapped
      assert.equal(3, s4:sendto("v4!", "127.0.0.1", port))
      local b = wsarecv.buffer(16)
      assert.same({ 0, 3, 0, n = 3 }, pack(s6:WSARecv(b, 0)))
      assert.equal("v4!", b:sub(1, 3))

      -- overlapped, pending first
      local got
      local b2 = wsarecv.buffer(16)
      assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
        pack(s6:WSARecv(b2, 0, nil, function(err, bytes)
          got = { err = err, bytes = bytes }
        end)))
      assert.equal(6, s4:sendto("mapped", "127.0.0.1", port))
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ bytes = 6 }, got)
      assert.equal("mapped", b2:sub(1, 6))
    end)
end)

---------------------------------------------------------------------------
-- unix seqpacket
---------------------------------------------------------------------------

describe("unix seqpacket", function()
  it("keeps message boundaries", function()
    local a, c = seqpacket_pair()
    c:send("abc")
    c:send("defgh")
    c:send("ij")
    local b = wsarecv.buffer(16)
    assert.same({ 0, 3, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("abc", b:sub(1, 3))
    assert.same({ 0, 5, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("defgh", b:sub(1, 5))
    assert.same({ 0, 2, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("ij", b:sub(1, 2))
  end)

  it("several pending operations get one message each, in posting order",
    function()
      local a, c = seqpacket_pair()
      local bufs, n = {}, 0
      for i = 1, 3 do
        bufs[i] = wsarecv.buffer(8)
        assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
          pack(a:WSARecv(bufs[i], 0, nil, function(err, bytes)
            assert(err == nil)
            n = n + 1
          end)))
      end
      c:send("m1")
      c:send("msg2")
      c:send("m-3")
      assert.is_true(wait_for(function() return n == 3 end))
      assert.equal("m1", bufs[1]:sub(1, 2))
      assert.equal(0, bufs[1]:byte(3))
      assert.equal("msg2", bufs[2]:sub(1, 4))
      assert.equal("m-3", bufs[3]:sub(1, 3))
    end)

  it("peer close: messages first, then WSAEDISCON (nonoverlapped)",
    function()
      local a, c = seqpacket_pair()
      c:send("last")
      c:close()
      local b = wsarecv.buffer(16)
      assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))
      assert.equal("last", b:sub(1, 4))
      assert.same({ nil, "WSAEDISCON", 10101, n = 3 }, pack(a:WSARecv(b, 0)))
      assert.equal(10101, wsarecv.errors.WSAEDISCON)
    end)

  it("peer close completes a pending operation with WSAEDISCON", function()
    local a, c = seqpacket_pair()
    local b = wsarecv.buffer(16)
    local ov = wsarecv.overlapped()
    local calls = {}
    assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
      pack(a:WSARecv(b, 0, ov, function(err, bytes, o, flags)
        calls[#calls + 1] = { err = err, bytes = bytes, flags = flags }
      end)))
    c:close()
    assert.is_true(wait_for(function() return #calls > 0 end))
    wsarecv.SleepEx(10, true)
    assert.same({ { err = "WSAEDISCON", bytes = 0, flags = 0 } }, calls)
    assert.same({ nil, "WSAEDISCON", 10101, n = 3 },
      pack(a:WSAGetOverlappedResult(ov)))
  end)

  it("an empty message is not mistaken for the peer's close", function()
    local a, c = seqpacket_pair()
    c:send("")
    c:send("after-empty")
    local b = wsarecv.buffer(16)
    assert.same({ 0, 0, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.same({ 0, 11, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("after-empty", b:sub(1, 11))
  end)

  it("empty buffers: a message fails with WSAEMSGSIZE and is consumed, an "
    .. "empty one is received; the peer's close is still WSAEDISCON",
    function()
      local a, c = seqpacket_pair()
      c:send("msg-1")
      c:send("")
      local b = wsarecv.buffer(8)
      assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
        pack(a:WSARecv({}, 0)))
      assert.same({ 0, 0, 0, n = 3 }, pack(a:WSARecv({}, 0)))
      local got
      assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
        pack(a:WSARecv({}, 0, nil, function(err, bytes)
          got = { err, bytes }
        end)))
      c:send("msg-2")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ "WSAEMSGSIZE", 0 }, got)
      local ov = wsarecv.overlapped()
      assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
        pack(a:WSARecv({}, 0, ov)))
      c:send("msg-3")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
        false))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
        pack(a:WSAGetOverlappedResult(ov)))
      c:send("last")
      c:close()
      assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))
      assert.equal("last", b:sub(1, 4))
      assert.same({ nil, "WSAEDISCON", 10101, n = 3 }, pack(a:WSARecv({}, 0)))
    end)

  it("a routine-driven receive chain goes on past a message too big for "
    .. "its buffers", function()
      local a, c = seqpacket_pair()
      local texts = { "ab", "toolong", "cd", "0123456", "ef" }
      for _, t in ipairs(texts) do c:send(t) end
      local b = wsarecv.buffer(4)
      local got, fails = {}, {}
      local function rt(err, bytes, ov)
        got[#got + 1] = { err, b:sub(1, bytes) }
        if #got < #texts then
          local r = pack(a:WSARecv(b, 0, ov, rt))
          if r[1] ~= 0 and r[2] ~= "WSA_IO_PENDING" then
            fails[#fails + 1] = r[2]
          end
        end
      end
      assert.same({ 0, 2, 0, n = 3 }, pack(a:WSARecv(b, 0, nil, rt)))
      assert.is_true(wait_for(function() return #got == #texts end))
      assert.same({ { nil, "ab" }, { "WSAEMSGSIZE", "tool" }, { nil, "cd" },
        { "WSAEMSGSIZE", "0123" }, { nil, "ef" } }, got)
      assert.same({}, fails)
    end)

  it("MSG_WAITALL and MSG_OOB are refused with WSAEOPNOTSUPP", function()
    local a, c = seqpacket_pair()
    c:send("keep")
    local b = wsarecv.buffer(8)
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecv(b, wsarecv.MSG_WAITALL)))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecv(b, wsarecv.MSG_WAITALL, wsarecv.overlapped())))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecv(b, wsarecv.MSG_OOB)))
    assert.equal(0, a:pending())
    assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("keep", b:sub(1, 4))
  end)
end)
