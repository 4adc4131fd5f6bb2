-- Defects found by an independent review of the core and the binding, each
-- pinned by the smallest real-socket case that showed it.  Memory defects
-- show under the sanitizer pass (make asan-test) as an abort of the run.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pack, PENDING = H.pack, H.PENDING

local function cpu_during(wait)
  local c0 = os.clock()
  wait()
  return os.clock() - c0
end

local function tcp()
  local c, a = H.stream_pair("inet", "127.0.0.1")
  return c, a
end

describe("review fixes:", function()
  it("a WSARecvMsg post that fails keeps the object's previous msg alive "
     .. "(no use after free when the object is collected)", function()
    local u = H.udp("inet", "127.0.0.1")
    local ov = wsarecv.overlapped()
    do
      local m1 = wsarecv.msg { buffers = wsarecv.buffer(64), control = 64 }
      assert.same(PENDING, pack(u.rx:WSARecvMsg(m1, ov)))
      u.send("hi")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000, false))
    end
    local m2 = wsarecv.msg { buffers = wsarecv.buffer(64), control = 64,
                             flags = wsarecv.MSG_PEEK }
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 }, pack(u.rx:WSARecvMsg(m2, ov)))
    collectgarbage(); collectgarbage()
    ov = nil
    collectgarbage(); collectgarbage()      -- ASan: no write to a freed msg
    u.rx:close(); u.tx:close()
  end)

  it("collecting a finished object does not release a msg another "
     .. "operation is using", function()
    local u = H.udp("inet", "127.0.0.1")
    local m = wsarecv.msg { buffers = wsarecv.buffer(64), control = 64 }
    local ov1 = wsarecv.overlapped()
    assert.same(PENDING, pack(u.rx:WSARecvMsg(m, ov1)))
    u.send("one")
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov1 }, false, 2000, false))
    local ov2 = wsarecv.overlapped()
    assert.same(PENDING, pack(u.rx:WSARecvMsg(m, ov2)))
    ov1 = nil
    collectgarbage(); collectgarbage()
    assert.is_true(m.pending)
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
                pack(u.rx:WSARecvMsg(m, wsarecv.overlapped())))
    u.rx:close()
    H.drain()
    u.tx:close()
  end)

  it("calls made while the state closes, after the loop is gone, answer "
     .. "WSANOTINITIALISED instead of crashing", function()
    local out, how, rc = H.run_child([[
      local W
      -- created before require: finalized after wsarecv's context
      local g = setmetatable({}, { __gc = function()
        print("socket", select(2, W.socket("inet", "dgram")))
        print("SleepEx", select(2, W.SleepEx(0, true)))
        print("run", select(2, W.run()))
        print("wait", select(2, W.WSAWaitForMultipleEvents({ W.overlapped() }, false, 0, true)))
      end })
      W = require "wsarecv"
      local s = W.socket("inet", "dgram")
      assert(s:bind("127.0.0.1", 0) == 0)
    ]])
    H.assert_exit(out, how, rc, 0)
    assert.equal("socket\tWSANOTINITIALISED\t10093\n"
                 .. "SleepEx\tWSANOTINITIALISED\t10093\n"
                 .. "run\tWSANOTINITIALISED\t10093\n"
                 .. "wait\tWSANOTINITIALISED\t10093\n", out)
  end)

  it("an error-queue entry left behind (IP_RECVERR) fails the next receive "
     .. "instead of spinning the loop", function()
    local u = H.udp("inet", "127.0.0.1")
    local dead = H.closed_udp_port("inet", "127.0.0.1")
    assert.equal(0, u.rx:setsockopt("IP_RECVERR", true))
    local errs = {}
    for _ = 1, 2 do
      assert.same(PENDING, pack(u.rx:WSARecv(wsarecv.buffer(8), 0, nil,
        function(err) errs[#errs + 1] = err end)))
    end
    u.rx:sendto("x", "127.0.0.1", dead)
    H.settle(30)
    -- this send consumes the socket error; the queue entry stays behind
    u.rx:sendto("x", "127.0.0.1", dead)
    local cpu = cpu_during(function()
      for _ = 1, 10 do wsarecv.SleepEx(50, true) end
    end)
    assert.is_true(cpu < 0.25, "CPU while waiting: " .. cpu .. " s")
    assert.truthy(#errs >= 1)
    assert.equal("WSAECONNRESET", errs[1])
    u.rx:close(); H.drain(); u.tx:close()
  end)

  it("MSG_OOB under SO_OOBINLINE fails with WSAEINVAL (no spin on urgent "
     .. "data)", function()
    local c, a = tcp()
    assert.equal(0, a:setsockopt("SO_OOBINLINE", true))
    assert.equal(1, c:send("U", wsarecv.MSG_OOB))
    H.settle(20)
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
                pack(a:WSARecv(wsarecv.buffer(1), wsarecv.MSG_OOB, nil, function() end)))
    -- inline: the urgent byte is in the stream
    assert.equal(0, a:setsockopt("SO_RCVTIMEO", 2000))
    local b = wsarecv.buffer(4)
    local ok, n = a:WSARecv(b, 0)
    assert.equal(0, ok)
    assert.equal("U", b:sub(1, n))
    c:close(); a:close()
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
    assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
                pack(u.rx:WSARecvMsg(m, nil, function(err, n, ov, fl, mm)
                  calls[#calls + 1] = { err, n, fl, (mm:name()) }
                end)))
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
    assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
                pack(u.rx:WSARecvMsg(m, ov)))
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

  it("run() delivers routines that became ready before it blocks for other "
     .. "I/O", function()
    local out, how, rc = H.run_child([[
      local wsarecv = require "wsarecv"
      local l = wsarecv.socket("inet", "stream")
      assert(l:bind("127.0.0.1", 0) == 0); assert(l:listen() == 0)
      local _, p = l:getsockname()
      local c = wsarecv.socket("inet", "stream")
      assert(c:connect("127.0.0.1", p) == 0)
      local a = l:accept()
      assert(c:send("abc") == 3)
      local u = wsarecv.socket("inet", "dgram")
      assert(u:bind("127.0.0.1", 0) == 0)
      local _, up = u:getsockname()
      -- u completes only when the TCP routines have all run: if run()
      -- blocked with one of them ready, it would wait forever
      u:WSARecv(wsarecv.buffer(4), 0, nil, function() print("udp") end)
      local b, n = wsarecv.buffer(1), 0
      local function rt(err, bytes, ov)
        n = n + 1
        print("tcp", b:sub(1, bytes))
        if n < 3 then a:WSARecv(b, 0, ov, rt)
        else wsarecv.socket("inet", "dgram"):sendto("go", "127.0.0.1", up) end
      end
      a:WSARecv(b, 0, nil, rt)
      wsarecv.run()
      print("done")
    ]], 5)
    H.assert_exit(out, how, rc, 0)
    assert.equal("tcp\ta\ntcp\tb\ntcp\tc\nudp\ndone\n", out)
  end)

  it("a nonblocking nonoverlapped receive queued behind an overlapped one "
     .. "gets data the kernel already has", function()
    local u = H.udp("inet", "127.0.0.1")
    local ov = wsarecv.overlapped()
    local first = wsarecv.buffer(8)
    assert.same(PENDING, pack(u.rx:WSARecv(first, 0, ov)))
    assert.equal(0, u.rx:setsockopt("FIONBIO", true))
    u.send("one"); u.send("two")
    H.settle(20)
    local b = wsarecv.buffer(8)
    assert.same({ 0, 3, 0, n = 3 }, pack(u.rx:WSARecv(b, 0)))
    assert.equal("one", first:sub(1, 3))       -- posting order kept
    assert.equal("two", b:sub(1, 3))
    assert.is_false(ov.pending)
    assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 }, pack(u.rx:WSARecv(b, 0)))
    u.rx:close(); u.tx:close()
  end)

  it("a repost that fails early reports no bytes of the previous "
     .. "operation", function()
    local u = H.udp("inet", "127.0.0.1")
    local ov = wsarecv.overlapped()
    local b = wsarecv.buffer(8)
    assert.same(PENDING, pack(u.rx:WSARecv(b, 0, ov)))
    u.send("hello")
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000, false))
    assert.equal(5, ov.bytes)
    -- an unbound socket fails the post before anything is received
    local unbound = H.socket("inet", "dgram")
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(unbound:WSARecv(b, 0, ov)))
    unbound:close(); u.rx:close(); u.tx:close()
  end)

  it("more WSABUFs than one receive can take give WSAENOBUFS at once",
     function()
    local u = H.udp("inet", "127.0.0.1")
    local bufs = {}
    for i = 1, 1025 do bufs[i] = wsarecv.buffer(1) end
    assert.same({ nil, "WSAENOBUFS", 10055, n = 3 },
                pack(u.rx:WSARecv(bufs, 0, wsarecv.overlapped())))
    assert.equal(0, u.rx:pending())
    -- nonoverlapped too (the array is read in place, but the limit holds)
    assert.same({ nil, "WSAENOBUFS", 10055, n = 3 }, pack(u.rx:WSARecv(bufs, 0)))
    u.rx:close(); u.tx:close()
  end)
end)
