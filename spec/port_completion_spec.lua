-- I/O completion ports, the way of a completion: posting order within a
-- socket, completion order across sockets, failures, cancel and close
-- (WSA_OPERATION_ABORTED to the port), routines kept, ov.noport,
-- WSARecvMsg, GetQueuedCompletionStatusEx (tables and columns, alertable),
-- ov.rearm, and the port's descriptor.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local P = require "spec.support.port"(after_each)
local T, udp_on, entries = P.T, P.udp_on, P.entries
local pack = H.pack

-- n operations posted on rx: their objects and buffers
local function post_n(rx, n, size)
  local ovs, bufs = {}, {}
  for i = 1, n do
    ovs[i], bufs[i] = wsarecv.overlapped(), wsarecv.buffer(size or 16)
    H.assert_pending(rx:WSARecv(bufs[i], 0, ovs[i]))
  end
  return ovs, bufs
end

-- take `want` entries with Ex waits of batch size `batch` (bounded)
local function take(port, want, batch)
  local got, e = {}, entries(batch or want)
  for _ = 1, 200 do
    if #got >= want then break end
    local n = port:GetQueuedCompletionStatusEx(e, 20)
    for i = 1, n or 0 do
      got[#got + 1] = { bytes = e[i].bytes, key = e[i].key, ov = e[i].ov,
                        error = e[i].error, flags = e[i].flags }
    end
  end
  return got
end

describe("completion order", function()
  it("within a socket: posting order, in one batch or several", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx, send = udp_on(port, "a")
    local ovs, bufs = post_n(rx, 10)
    for i = 1, 10 do send("d" .. i) end
    local got = take(port, 10, 3)
    assert.equal(10, #got)
    for i = 1, 10 do
      assert.equal(ovs[i], got[i].ov)
      assert.equal("d" .. i, bufs[i]:sub(1, got[i].bytes))
      assert.equal("a", got[i].key)
      assert.is_nil(got[i].error)
      assert.equal(0, got[i].flags)
    end
    port:close()
  end)

  it("across sockets: the order the datagrams completed in", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx1, send1 = udp_on(port, 1)
    local rx2, send2 = udp_on(port, 2)
    local ov1 = post_n(rx1, 1)[1]
    local ov2 = post_n(rx2, 1)[1]
    send2("x")
    H.progress_until(function() return ov2.pending == false end)
    send1("y")
    H.progress_until(function() return ov1.pending == false end)
    assert.same({ 1, 2, ov2, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
    assert.same({ 1, 1, ov1, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
    port:close()
  end)

  it("an object is busy until its entry is taken, free after", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx, send = udp_on(port, 1)
    local ov, buf = wsarecv.overlapped(), wsarecv.buffer(8)
    H.assert_pending(rx:WSARecv(buf, 0, ov))
    send("1")
    H.progress_until(function() return ov.pending == false end)
    H.assert_fail("WSAEINVAL", 10022, rx:WSARecv(buf, 0, ov))
    assert.equal(ov, select(3, port:GetQueuedCompletionStatus(0)))
    H.assert_pending(rx:WSARecv(buf, 0, ov))
    port:close()
  end)
end)

describe("failures", function()
  it("a datagram too big: nil, WSAEMSGSIZE, code, key, ov; ov.bytes says "
    .. "what was placed", function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, "big")
      local ov, buf = wsarecv.overlapped(), wsarecv.buffer(4)
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("0123456789")
      local r = pack(port:GetQueuedCompletionStatus(2000))
      assert.same({ nil, "WSAEMSGSIZE", 10040, "big", ov, n = 5 }, r)
      assert.equal(4, ov.bytes)
      assert.equal("0123", buf:sub())
      -- the same through an Ex entry
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("abcdefgh")
      local e = take(port, 1)
      assert.equal("WSAEMSGSIZE", e[1].error)
      assert.equal(4, e[1].bytes)
      assert.equal(wsarecv.MSG_PARTIAL & 0, e[1].flags & 0)
      port:close()
    end)

  it("closing a socket completes its operations, aborted, to the port, "
    .. "in posting order", function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx = udp_on(port, "s")
      local ovs = post_n(rx, 5)
      rx:close()
      local got = take(port, 5)
      for i = 1, 5 do
        assert.equal(ovs[i], got[i].ov)
        assert.equal("WSA_OPERATION_ABORTED", got[i].error)
        assert.equal(0, got[i].bytes)
        assert.equal("s", got[i].key)
      end
      assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
      port:close()
    end)

  it("CancelIoEx completes to the port", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx = udp_on(port, 3)
    local ovs = post_n(rx, 2)
    assert.equal(0, rx:CancelIoEx(ovs[2]))
    assert.same({ nil, "WSA_OPERATION_ABORTED", 995, 3, ovs[2], n = 5 },
      pack(port:GetQueuedCompletionStatus(0)))
    port:close()
  end)
end)

describe("what does not go to the port", function()
  it("an operation posted with a routine before the association keeps "
    .. "its routine; others in the same socket's stream still reach the port",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
      local rx, send = ch.rx, ch.send
      local seen = {}
      local ovr, br = wsarecv.overlapped(), wsarecv.buffer(8)
      H.assert_pending(rx:WSARecv(br, 0, ovr, function(err, n, o)
        seen[#seen + 1] = { err = err, n = n, ov = o }
      end))
      assert.equal(port, wsarecv.CreateIoCompletionPort(rx, port, "k"))
      local ovp = post_n(rx, 1)[1]
      send("r")
      send("pp")
      assert.same({ 2, "k", ovp, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
      assert.equal(0, #seen)              -- routines wait for an alertable wait
      H.drain()
      assert.equal(1, #seen)
      assert.same({ n = 1, ov = ovr }, seen[1])
      port:close()
    end)

  it("ov.noport keeps an operation off the port: polled with "
    .. "WSAGetOverlappedResult", function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      local ov, buf = wsarecv.overlapped(), wsarecv.buffer(8)
      assert.is_false(ov.noport)
      ov.noport = true
      assert.is_true(ov.noport)
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("np")
      assert.is_true(H.progress_until(function()
        return rx:WSAGetOverlappedResult(ov) ~= nil
      end))
      assert.same({ 2, 0, n = 2 }, pack(rx:WSAGetOverlappedResult(ov)))
      assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
      ov.noport = false
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("p")
      assert.same({ 1, 1, ov, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
      port:close()
    end)

  it("a nonoverlapped receive on an associated socket returns its data",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      send("now")
      local buf = wsarecv.buffer(8)
      assert.same({ 0, 3, 0, n = 3 }, pack(rx:WSARecv(buf, 0)))
      assert.equal(0, port:queued())
      port:close()
    end)
end)

describe("WSARecvMsg through a port", function()
  it("fills the msg; the entry's ov reaches it (ov.msg)", function()
    local port = wsarecv.CreateIoCompletionPort()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    wsarecv.CreateIoCompletionPort(ch.rx, port, "m")
    assert(ch.rx:setsockopt("IP_PKTINFO", true))
    local buf = wsarecv.buffer(32)
    local msg = wsarecv.msg{ buffers = buf, control = 128 }
    local ov = wsarecv.overlapped()
    assert.is_nil(ov.msg)
    H.assert_pending(ch.rx:WSARecvMsg(msg, ov))
    ch.send("hello")
    local e = take(port, 1)[1]
    assert.equal(5, e.bytes)
    assert.equal(ov, e.ov)
    assert.equal(msg, e.ov.msg)
    local addr, port_ = e.ov.msg:name()
    assert.equal("127.0.0.1", addr)
    assert.equal(ch.txport, port_)
    local c = e.ov.msg:control()
    assert.equal("IP_PKTINFO", c[1].type)
    -- the msg is free again once its entry was taken
    H.assert_pending(ch.rx:WSARecvMsg(msg, ov))
    port:close()
  end)
end)

describe("GetQueuedCompletionStatusEx", function()
  it("takes at most #entries, writing each table's five fields", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx, send = udp_on(port, "q")
    local ovs = post_n(rx, 6)
    for i = 1, 6 do send(("x"):rep(i)) end
    H.progress_until(function() return port:queued() == 6 end)
    local e = entries(4)
    e[1] = { bytes = -1, key = -1, ov = -1, error = "old", flags = -1 }
    assert.equal(4, port:GetQueuedCompletionStatusEx(e, 0))
    for i = 1, 4 do
      assert.same({ bytes = i, key = "q", ov = ovs[i], flags = 0 }, e[i])
    end
    assert.equal(2, port:GetQueuedCompletionStatusEx(e, 0))
    assert.equal(ovs[6], e[2].ov)
    assert.equal(ovs[3], e[3].ov)           -- past n: left as it was
    port:close()
  end)

  it("allocates nothing in the steady state", function()
    local port = wsarecv.CreateIoCompletionPort()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    local rx, tx, addr, rport = ch.rx, ch.tx, ch.addr, ch.port
    wsarecv.CreateIoCompletionPort(rx, port, 1)
    local ovs, bufs = post_n(rx, 8)
    local bufof = {}
    for i = 1, 8 do bufof[ovs[i]] = bufs[i] end
    local e = entries(8)
    for i = 1, 8 do e[i] = { bytes = 0, key = 0, ov = false, flags = 0 } end
    local msg = "datagram"
    local function round()
      for _ = 1, 8 do tx:sendto(msg, addr, rport) end
      local n, done = 0, 0
      while done < 8 and n < 100 do
        n = n + 1
        local got = port:GetQueuedCompletionStatusEx(e, 100)
        for i = 1, got or 0 do
          local ov = e[i].ov
          rx:WSARecv(bufof[ov], 0, ov)
          done = done + 1
        end
      end
    end
    for _ = 1, 20 do round() end
    collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    for _ = 1, 50 do round() end
    local after = collectgarbage("count")
    collectgarbage("restart")
    assert.equal(before, after)
    port:close()
  end)

  it("the columns form: entries.bytes[i], .key[i], .ov[i], .error[i], "
    .. ".flags[i]", function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, "c")
      local ovs = post_n(rx, 3, 2)
      send("a")
      send("bb")
      send("ccc")
      H.progress_until(function() return port:queued() == 3 end)
      local c = { bytes = {}, key = {}, ov = { false, false }, error = {}, flags = {} }
      assert.equal(2, port:GetQueuedCompletionStatusEx(c, 0))
      assert.same({ 1, 2 }, c.bytes)
      assert.same({ "c", "c" }, c.key)
      assert.same({ ovs[1], ovs[2] }, c.ov)
      assert.same({}, c.error)
      assert.same({ 0, 0 }, c.flags)
      assert.equal(1, port:GetQueuedCompletionStatusEx(c, 0))
      assert.equal("WSAEMSGSIZE", c.error[1])
      assert.equal(ovs[3], c.ov[1])
      assert.has_error(function()
        port:GetQueuedCompletionStatusEx({ ov = { false }, key = "x" }, 0)
      end)
      port:close()
    end)

  it("the columns form writes only the columns given; the second result "
    .. "counts the failed entries", function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, "k")
      local ovs = post_n(rx, 3, 2)
      send("a")
      send("bbb")
      send("cc")
      H.progress_until(function() return port:queued() == 3 end)
      local c = { ov = { false, false, false }, bytes = { 0, 0, 0 } }
      assert.same({ 3, 1, n = 2 }, pack(port:GetQueuedCompletionStatusEx(c, 0)))
      assert.same({ ovs[1], ovs[2], ovs[3] }, c.ov)
      assert.same({ 1, 2, 2 }, c.bytes)
      assert.is_nil(c.key)
      assert.is_nil(c.error)
      assert.is_nil(c.flags)
      -- the failed entry's status is its object's, as on Windows
      assert.is_nil(ovs[1].error)
      assert.equal("WSAEMSGSIZE", ovs[2].error)
      -- the ov column alone
      H.assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ovs[1]))
      send("d")
      H.progress_until(function() return port:queued() == 1 end)
      local o = { ov = { false } }
      assert.same({ 1, 0, n = 2 }, pack(port:GetQueuedCompletionStatusEx(o, 0)))
      assert.same({ ovs[1] }, o.ov)
      -- the tables form counts failures too
      H.assert_pending(rx:WSARecv(wsarecv.buffer(1), 0, ovs[1]))
      send("ee")
      H.progress_until(function() return port:queued() == 1 end)
      local e = entries(2)
      assert.same({ 1, 1, n = 2 }, pack(port:GetQueuedCompletionStatusEx(e, 0)))
      assert.equal("WSAEMSGSIZE", e[1].error)
      port:close()
    end)

  it("the columns form hands out the right object in every slot, whatever "
    .. "the slot held before (another object, a stale one, another value)",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, "k")
      local ovs = post_n(rx, 4, 8)
      for i = 1, 4 do ovs[i].rearm = true end
      local other = wsarecv.overlapped()
      local starts = {
        { false, false, false, false },        -- empty
        { ovs[4], ovs[3], ovs[2], ovs[1] },    -- the same objects, moved
        { ovs[1], other, "x", 7 },             -- right, another, non-objects
        { ovs[1], ovs[2], ovs[3], ovs[4] },    -- exactly as it will be
      }
      for round, start in ipairs(starts) do
        local c = { ov = { table.unpack(start) }, bytes = { 0, 0, 0, 0 } }
        -- (the rearmed objects are posted again when this wait begins, and
        -- the datagrams already there complete them all at once)
        for i = 1, 4 do send(("r%d-%d"):format(round, i)) end
        assert.same({ 4, 0, n = 2 }, pack(port:GetQueuedCompletionStatusEx(c, 2000)),
                    "round " .. round)
        for i = 1, 4 do
          assert.equal(ovs[i], c.ov[i], ("round %d slot %d"):format(round, i))
          assert.equal(4, c.bytes[i])
        end
      end
      for i = 1, 4 do ovs[i].rearm = false end
      port:close()
    end)

  it("alertable: routines run in the same wait (WAIT_IO_COMPLETION), "
    .. "entries come first", function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
      local ran = 0
      H.assert_pending(ch.rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(),
        function() ran = ran + 1 end))
      ch.send("r")
      H.progress_until(function() return wsarecv.ready() > 0 end)
      local e = entries(2)
      assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
        pack(port:GetQueuedCompletionStatusEx(e, 0)))
      assert.equal(0, ran)
      assert.same({ nil, "WAIT_IO_COMPLETION", 192, n = 3 },
        pack(port:GetQueuedCompletionStatusEx(e, 0, true)))
      assert.equal(1, ran)
      -- an entry and a routine both ready: the entry is taken first
      local ov = post_n(rx, 1)[1]
      H.assert_pending(ch.rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(),
        function() ran = ran + 1 end))
      send("p")
      ch.send("r")
      H.progress_until(function() return port:queued() == 1 and wsarecv.ready() == 1 end)
      assert.equal(1, port:GetQueuedCompletionStatusEx(e, 0, true))
      assert.equal(ov, e[1].ov)
      assert.equal(1, ran)
      H.drain()
      assert.equal(2, ran)
      port:close()
    end)

  it("an error a routine raises comes out of the alertable wait", function()
    local port = wsarecv.CreateIoCompletionPort()
    udp_on(port, 1)
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    H.assert_pending(ch.rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(),
      function() error("boom from routine") end))
    ch.send("r")
    H.progress_until(function() return wsarecv.ready() > 0 end)
    local ok, err = pcall(port.GetQueuedCompletionStatusEx, port, entries(1), 100, true)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom from routine", 1, true))
    port:close()
  end)
end)

describe("ov.rearm", function()
  it("the port's next wait posts the object again, with the same buffer",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      local ov, buf = wsarecv.overlapped(), wsarecv.buffer(16)
      ov.rearm = true
      assert.is_true(ov.rearm)
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("first")
      send("second")
      local e = entries(1)
      assert.equal(1, port:GetQueuedCompletionStatusEx(e, 2000))
      assert.equal("first", buf:sub(1, e[1].bytes))
      -- the buffer stays the caller's until the next wait: nothing is read
      H.progress_until(function() return false end, 3)
      assert.equal("first", buf:sub(1, 5))
      H.assert_fail("WSAEINVAL", 10022, rx:WSARecv(buf, 0, ov))   -- busy
      assert.equal(1, port:GetQueuedCompletionStatusEx(e, 2000))
      assert.equal("second", buf:sub(1, e[1].bytes))
      -- cleared: taken back at once, free to post by hand
      ov.rearm = false
      assert.is_false(ov.pending)
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("third")
      assert.equal(1, port:GetQueuedCompletionStatusEx(e, 2000))
      assert.equal("third", buf:sub(1, e[1].bytes))
      assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
        pack(port:GetQueuedCompletionStatusEx(e, 20)))
      port:close()
    end)

  it("closing the socket aborts what waits to be rearmed, to the port",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      local ovs = post_n(rx, 2)
      ovs[1].rearm, ovs[2].rearm = true, true
      send("a")
      local e = entries(2)
      assert.equal(1, port:GetQueuedCompletionStatusEx(e, 2000))
      assert.equal(ovs[1], e[1].ov)
      rx:close()
      local got = take(port, 2, 2)
      assert.equal(2, #got)
      assert.equal(ovs[2], got[1].ov)       -- the pending one first
      assert.equal(ovs[1], got[2].ov)
      for i = 1, 2 do assert.equal("WSA_OPERATION_ABORTED", got[i].error) end
      port:close()
    end)

  it("keeps many datagrams flowing through few objects", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx, send = udp_on(port, 1)
    local ovs, bufs = post_n(rx, 4)
    local bufof = {}
    for i = 1, 4 do ovs[i].rearm = true; bufof[ovs[i]] = bufs[i] end
    local e, seen = entries(4), {}
    for i = 1, 40 do
      send(("m%02d"):format(i))
      if i % 4 == 0 then
        while #seen < i do
          local n = port:GetQueuedCompletionStatusEx(e, 2000)
          assert.truthy(n)
          for k = 1, n do seen[#seen + 1] = bufof[e[k].ov]:sub(1, e[k].bytes) end
        end
      end
    end
    for i = 1, 40 do assert.equal(("m%02d"):format(i), seen[i]) end
    port:close()
  end)
end)

-- #linux: pollfd is the Linux platform's (epoll)
describe("#linux the port's descriptor", function()
  it("is readable while the port has entries, and after I/O arrives",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      local fd = port:pollfd()
      assert.equal("number", math.type(fd) and "number")
      assert.equal("r", port:events())
      local ovs = post_n(rx, 2)
      port:GetQueuedCompletionStatus(0)               -- applies the watch
      assert.is_nil(port:timeout())
      -- (a descriptor that is no socket cannot be wrapped: LuaSocket polls)
      local function readable()
        local r = require "socket".select(
          { { getfd = function() return fd end } }, nil, 0)
        return #r > 0
      end
      send("x")
      assert.is_true(H.wait_until(readable, 2))
      assert.same({ 1, 1, ovs[1], n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
      assert.equal(0, port:queued())
      port:PostQueuedCompletionStatus(0, 0)
      assert.equal(0, port:timeout())
      port:GetQueuedCompletionStatus(0)
      port:close()
    end)
end)
