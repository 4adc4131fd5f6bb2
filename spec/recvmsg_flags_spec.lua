-- WSARecvMsg's input flags and misuse (the WSARecvMsg page: dwFlags on
-- input, WSAEOPNOTSUPP, WSAEINVAL, WSAEFAULT, WSAENOTSOCK), and when a msg
-- belongs to its operation.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local MSG_PEEK, MSG_TRUNC, MSG_CTRUNC = wsarecv.MSG_PEEK, wsarecv.MSG_TRUNC,
  wsarecv.MSG_CTRUNC
local MSG_BCAST, MSG_MCAST = wsarecv.MSG_BCAST, wsarecv.MSG_MCAST

local R = require "spec.support.recvmsg"(after_each)
local track = R.T.track
local sock, udp, tmppath = R.sock, R.udp, R.tmppath

local pack, wait_for, types = H.pack, H.wait_for, H.control_types
local assert_pending = H.assert_pending

---------------------------------------------------------------------------
-- flag rules and misuse
---------------------------------------------------------------------------

describe("WSARecvMsg flag rules", function()

  it("MSG_PEEK (nonoverlapped) leaves the datagram queued", function()
    local ch = udp("inet", "127.0.0.1")
    assert(ch.rx:setsockopt("IP_RECVTTL", true) == 0)
    local buf = wsarecv.buffer(16)
    local m = wsarecv.msg { buffers = buf, control = 64, flags = MSG_PEEK }
    ch.send("peeked")
    ch.send("later")
    assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal("peeked", buf:sub(1, 6))
    assert.same({ "IP_TTL" }, types(m))
    buf:fill(0)
    assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal("peeked", buf:sub(1, 6))
    m.flags = 0
    assert.equal(0, m.inflags)
    assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal("peeked", buf:sub(1, 6))
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal("later", buf:sub(1, 5))
  end)

  it("MSG_PEEK with an overlapped call: WSAEOPNOTSUPP, no routine, "
    .. "nothing consumed", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 64, flags = MSG_PEEK }
      ch.send("keep")
      local ran = false
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecvMsg(m, wsarecv.overlapped())))
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecvMsg(m, nil, function() ran = true end)))
      assert.is_false(m.pending)
      assert.equal(0, wsarecv.SleepEx(20, true))
      assert.is_false(ran)
      m.flags = 0
      assert.same({ 0, 4, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal("keep", buf:sub(1, 4))
    end)

  it("MSG_PEEK of a datagram larger than the buffers: WSAEMSGSIZE, and "
    .. "the datagram stays whole", function()
      local ch = udp("inet", "127.0.0.1")
      local small = wsarecv.buffer(4)
      local m = wsarecv.msg { buffers = small, control = 0, flags = MSG_PEEK }
      ch.send("0123456789")
      assert.same({ nil, "WSAEMSGSIZE", 10040, 4, n = 4 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.equal(MSG_TRUNC, m.flags)
      assert.equal("0123", small:sub())
      local big = wsarecv.buffer(16)
      local m2 = wsarecv.msg { buffers = big, control = 0 }
      assert.same({ 0, 10, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m2)))
      assert.equal("0123456789", big:sub(1, 10))
    end)

  it("any other input flag: WSAEOPNOTSUPP in every form", function()
    local ch = udp("inet", "127.0.0.1")
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
    ch.send("still here")
    for _, f in ipairs { wsarecv.MSG_OOB, wsarecv.MSG_WAITALL,
      wsarecv.MSG_PARTIAL, MSG_TRUNC, MSG_CTRUNC, MSG_BCAST, MSG_MCAST,
      wsarecv.MSG_PUSH_IMMEDIATE, MSG_PEEK | wsarecv.MSG_WAITALL } do
      m.flags = f
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecvMsg(m)), "flags " .. f)
      assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
        pack(ch.rx:WSARecvMsg(m, wsarecv.overlapped())), "flags " .. f)
    end
    m.flags = 0
    assert.same({ 0, 10, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
  end)

  it("#linux stream and seqpacket sockets: WSAEOPNOTSUPP", function()
    local l = H.bound(sock("inet", "stream"), "127.0.0.1")
    assert(l:listen(4) == 0)
    local _, port = l:getsockname()
    local c = sock("inet", "stream")
    assert(c:connect("127.0.0.1", port) == 0)
    local a = track((l:accept()))
    assert.equal(4, c:send("data"))
    local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 64 }
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecvMsg(m)))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecvMsg(m, wsarecv.overlapped())))
    -- the stream data was not consumed
    local b = wsarecv.buffer(16)
    assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))

    local p = tmppath("seqpacket")
    local sl = sock("unix", "seqpacket")
    assert(sl:bind(p) == 0)
    assert(sl:listen(4) == 0)
    local sc = sock("unix", "seqpacket")
    assert(sc:connect(p) == 0)
    local sa = track((sl:accept()))
    assert.equal(3, sc:send("pkt"))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(sa:WSARecvMsg(m)))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(sa:WSARecvMsg(m, nil, function() end)))
  end)

  it("an unbound datagram socket: WSAEINVAL; a closed one: WSAENOTSOCK",
    function()
      local s = sock("inet", "dgram")
      local m = wsarecv.msg { buffers = wsarecv.buffer(8), control = 64 }
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(s:WSARecvMsg(m)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(s:WSARecvMsg(m, wsarecv.overlapped())))
      assert.is_false(m.pending)
      assert(s:bind("127.0.0.1", 0) == 0)
      s:close()
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(s:WSARecvMsg(m)))
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(s:WSARecvMsg(m, nil, function() end)))
    end)

  it("a slice outside its buffer: WSAEFAULT, nothing consumed", function()
    local ch = udp("inet", "127.0.0.1")
    local buf = wsarecv.buffer(8)
    local m = wsarecv.msg { buffers = { { buf, 6, 4 } }, control = 0 }
    ch.send("fault")
    assert.same({ nil, "WSAEFAULT", 10014, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.same({ nil, "WSAEFAULT", 10014, n = 3 },
      pack(ch.rx:WSARecvMsg(m, wsarecv.overlapped())))
    assert.is_false(m.pending)
    m.buffers = { { buf, 2, 6 } }
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    assert.equal("\0\0fault\0", buf:sub())
  end)

  it("programming mistakes raise", function()
    local ch = udp("inet", "127.0.0.1")
    local m = wsarecv.msg { buffers = wsarecv.buffer(8), control = 0 }
    assert.has_error(function() ch.rx:WSARecvMsg("not a msg") end)
    assert.has_error(function() ch.rx:WSARecvMsg(m, "not an ov") end)
    assert.has_error(function() ch.rx:WSARecvMsg(m, nil, 42) end)
    assert.has_error(function() wsarecv.msg("nope") end)
    assert.has_error(function() wsarecv.msg { buffers = 42 } end)
    assert.has_error(function() wsarecv.msg { control = -1 } end)
    assert.has_error(function() m.nosuchfield = 1 end)
  end)

  it("a closed buffer as control raises, like a closed data buffer",
    function()
      local ch = udp("inet", "127.0.0.1")
      assert(ch.rx:setsockopt("IP_PKTINFO", true) == 0)
      local data, cb = wsarecv.buffer(8), wsarecv.buffer(64)
      local m = wsarecv.msg { buffers = data, control = cb }
      ch.send("closed")
      data:close()
      assert.has_error(function() ch.rx:WSARecvMsg(m) end)
      local m2 = wsarecv.msg { buffers = wsarecv.buffer(8), control = cb }
      cb:close()
      local ok, err = pcall(function() return ch.rx:WSARecvMsg(m2) end)
      assert.is_false(ok, "WSARecvMsg wrote control data into a closed "
        .. "buffer instead of raising")
      assert.matches("closed", tostring(err))
      assert.has_error(function() ch.rx:WSARecvMsg(m2, wsarecv.overlapped())
      end)
    end)

  it("a msg in use by a pending operation: WSAEINVAL; its fields cannot "
    .. "be set; the first operation still completes", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 64 }
      local ov1, ov2 = wsarecv.overlapped(), wsarecv.overlapped()
      assert_pending(ch.rx:WSARecvMsg(m, ov1))
      assert.is_true(m.pending)
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(m, ov2)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(m, nil, function() end)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.is_false(ov2.pending)
      assert.equal(1, ch.rx:pending())
      for _, kv in ipairs { { "flags", 0 }, { "buffers", buf },
        { "control", 32 } } do
        local ok, err = pcall(function() m[kv[1]] = kv[2] end)
        assert.is_false(ok, kv[1])
        assert.matches("pending", tostring(err))
      end
      -- ov1 is pending: posting it with another msg is refused too
      local other = wsarecv.msg { buffers = wsarecv.buffer(4), control = 0 }
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(other, ov1)))
      assert.is_false(other.pending)
      ch.send("first")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov1 }, false, 2000,
        false))
      assert.same({ 5, 0, n = 2 }, pack(ch.rx:WSAGetOverlappedResult(ov1)))
      assert.equal("first", buf:sub(1, 5))
      assert.is_false(m.pending)
      m.control = 32                    -- idle again: settable
      assert.equal(32, #m.controlbuf)
    end)

  it("a msg completed at once stays in use until its routine has run: "
    .. "the routine sees its own datagram and source", function()
      local ch = udp("inet", "127.0.0.1")
      local other, oport = H.bound(sock("inet", "dgram"), "127.0.0.1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 0 }
      ch.send("first")
      assert.equal(6, other:sendto("second", "127.0.0.1", ch.port))
      local seen
      assert.same({ 0, 5, 0, n = 3 },
        pack(ch.rx:WSARecvMsg(m, nil, function(err, bytes, _, _, mm)
          seen = { err, bytes, buf:sub(1, bytes), mm:name() }
        end)))
      -- its routine has not run: the msg still belongs to the operation
      assert.is_true(m.pending)
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(m, wsarecv.overlapped())))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(m, nil, function() end)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(ch.rx:WSARecvMsg(m)))
      assert.has_error(function() m.control = 32 end)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ nil, 5, "first", "127.0.0.1", ch.txport }, seen)
      assert.is_false(m.pending)
      -- the second datagram was left for the next receive
      assert.same({ 0, 6, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
      assert.equal("second", buf:sub(1, 6))
      assert.same({ "127.0.0.1", oport }, { m:name() })
    end)

  it("the routine gets the msg back: it may repost it at once, and each "
    .. "call sees its own datagram", function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 0 }
      local texts = { "one", "two-2", "three" }
      for _, t in ipairs(texts) do ch.send(t) end
      local got, reposts = {}, {}
      local function rt(err, bytes, ov, _, mm)
        got[#got + 1] = { err, buf:sub(1, bytes), mm.pending }
        if #got < #texts then
          local r = pack(ch.rx:WSARecvMsg(mm, ov, rt))
          reposts[#reposts + 1] = r[1] or r[2]
        end
      end
      local r = pack(ch.rx:WSARecvMsg(m, wsarecv.overlapped(), rt))
      assert.is_true(r[1] == 0 or r[2] == "WSA_IO_PENDING")
      assert.is_true(wait_for(function() return #got == 3 end))
      assert.same({ { nil, "one", false }, { nil, "two-2", false },
        { nil, "three", false } }, got)
      for _, v in ipairs(reposts) do
        assert.is_true(v == 0 or v == "WSA_IO_PENDING", tostring(v))
      end
      assert.is_false(m.pending)
    end)

  it("event style: a msg completed at once is free again at once",
    function()
      local ch = udp("inet", "127.0.0.1")
      local buf = wsarecv.buffer(16)
      local m = wsarecv.msg { buffers = buf, control = 0 }
      ch.send("evt")
      local ov = wsarecv.overlapped()
      assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m, ov)))
      assert.is_false(m.pending)
      assert.is_false(ov.pending)
      ch.send("again")
      assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecvMsg(m)))
    end)
end)
