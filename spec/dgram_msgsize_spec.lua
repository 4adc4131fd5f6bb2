-- A message too big for the buffers (the WSARecv page, WSAEMSGSIZE on
-- message-oriented sockets): the first part placed, the excess discarded,
-- in every completion form; empty buffers; over UDP and unix dgram.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local D = require "spec.support.dgram"(after_each)
local channel = D.channel

local wait_for, pack, assert_pending = H.wait_for, H.pack, H.assert_pending

for _, kind in ipairs { "inet", "inet6", "unix" } do
  describe("datagram receive over " .. kind
    .. (kind == "unix" and " #linux" or ""), function()

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
        assert.same(H.PENDING, r)
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
        assert_pending(ch.rx:WSARecv(b, 0, ov))
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
        assert.same(H.PENDING, r)
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
        assert.same(H.PENDING, r)
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
        assert_pending(ch.rx:WSARecv(small, 0, o1, rt))
        assert_pending(ch.rx:WSARecv(big, 0, o2, rt))
        ch.send("LONGER")
        ch.send("short")
        assert.is_true(wait_for(function() return res[1] and res[2] end))
        assert.same({ err = "WSAEMSGSIZE", bytes = 2 }, res[1])
        assert.same({ bytes = 5 }, res[2])
        assert.equal("LO", small:sub())
        assert.equal("short", big:sub(1, 5))
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
        assert_pending(ch.rx:WSARecv({}, 0, nil, function(err, bytes, _, flags)
          got = { err, bytes, flags }
        end))
        ch.send("first")
        assert.is_true(wait_for(function() return got ~= nil end))
        assert.same({ "WSAEMSGSIZE", 0, 0 }, got)
        local ov = wsarecv.overlapped()
        assert_pending(ch.rx:WSARecv({}, 0, ov))
        ch.send("second")
        assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
          false))
        assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
          pack(ch.rx:WSAGetOverlappedResult(ov)))
        assert_pending(ch.rx:WSARecv({}, 0, ov))
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
  end)
end
