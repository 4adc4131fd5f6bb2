-- The overlapped sends, AcceptEx and ConnectEx as Windows gives them
-- (their pages, and Wine's dlls/ws2_32/tests/sock.c: test_AcceptEx,
-- test_connect, test_WSASendMsg, test_completion_port), checked the same
-- on Linux and under Wine: every way a completion is delivered (routine,
-- event object with WSAGetOverlappedResult and WSAWaitForMultipleEvents,
-- completion port with the socket's key), AcceptEx's first data, port
-- entry, cancel and close, ConnectEx's answers, and the bytes a send
-- aborted part way reports.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local T = H.tracker()
after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

local pack, assert_fail, assert_pending = H.pack, H.assert_fail, H.assert_pending
local recorder, wait_until, settle = H.recorder, H.wait_until, H.settle

-- a listener on 127.0.0.1 and its port
local function listener()
  local l = T.socket("inet", "stream")
  assert.equal(0, l:bind("127.0.0.1", 0))
  assert.equal(0, l:listen())
  local _, port = l:getsockname()
  return l, port
end

-- a connected pair (client, server side), both tracked
local function pair()
  local l, port = listener()
  local c = T.socket("inet", "stream")
  assert.equal(0, c:connect("127.0.0.1", port))
  return c, T.track(assert(l:accept()))
end

-- a socket bound to any address, as ConnectEx wants it
local function bound_client()
  local c = T.socket("inet", "stream")
  assert.equal(0, c:bind("*", 0))
  return c
end

-- An overlapped post's results: done at once (0, bytes, 0) or pending;
-- either way the completion follows.
local function assert_started(bytes, ...)
  local r = pack(...)
  if r[1] == nil then
    assert.same(H.PENDING, r)
  else
    assert.same({ 0, bytes, 0, n = 3 }, r)
  end
end

-- the routine's single call, once it came (and no second one after)
local function one_call(rec)
  assert.is_true(wait_until(function() return rec.calls > 0 end))
  settle(30)
  assert.equal(1, rec.calls)
  return rec[1]
end

-- read exactly n bytes from s (nonoverlapped, SO_RCVTIMEO bounds each)
local function read_n(s, n)
  assert.equal(0, s:setsockopt("SO_RCVTIMEO", 3000))
  local buf, parts, got = wsarecv.buffer(65536), {}, 0
  while got < n do
    local r, k = s:WSARecv(buf)
    assert.equal(0, r, "receive failed: " .. tostring(k))
    assert.is_true(k > 0, "the peer closed after " .. got .. " bytes")
    parts[#parts + 1] = buf:sub(1, k)
    got = got + k
  end
  return table.concat(parts)
end

-- Nothing more is to be read on s: FIONBIO, then WSAEWOULDBLOCK.
local function assert_dry(s)
  assert.equal(0, s:setsockopt("FIONBIO", true))
  assert_fail("WSAEWOULDBLOCK", 10035, s:WSARecv(wsarecv.buffer(16)))
  assert.equal(0, s:setsockopt("FIONBIO", false))
end

-- take one entry from port within about 3 s: bytes, key, ov, error
local function entry(port)
  for _ = 1, 150 do
    local r = pack(port:GetQueuedCompletionStatus(20))
    if r[1] ~= nil or r[4] ~= nil then return r end
  end
  error("no entry on the port")
end

describe("WSASend", function()
  it("with a routine: it runs once with (nil, bytes, ov, 0)", function()
    local c, a = pair()
    local rec, ov = recorder(), wsarecv.overlapped()
    assert_started(5, c:WSASend("hello", 0, ov, rec.fn))
    local call = one_call(rec)
    assert.is_nil(call.err)
    assert.equal(5, call.bytes)
    assert.equal(ov, call.ov)
    assert.equal(0, call.flags)
    assert.equal("hello", read_n(a, 5))
  end)

  it("event style: WSAWaitForMultipleEvents, then WSAGetOverlappedResult",
     function()
    local c, a = pair()
    local ov = wsarecv.overlapped()
    assert_started(3, c:WSASend({ wsarecv.buffer("a"), wsarecv.buffer("bc") },
                                0, ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    assert.same({ 3, 0, n = 2 }, pack(c:WSAGetOverlappedResult(ov)))
    assert.equal("abc", read_n(a, 3))
  end)

  it("through a port: the entry carries the socket's key", function()
    local c, a = pair()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(c, port, "conn"))
    local ov = wsarecv.overlapped()
    assert_started(4, c:WSASend("data", 0, ov))
    assert.same({ 4, "conn", ov, n = 3 }, entry(port))
    assert.equal("data", read_n(a, 4))
    port:close()
  end)

  it("sends posted together complete whole, in posting order, the data "
     .. "in order", function()
    local c, a = pair()
    local rec, parts, ovs = recorder(), {}, {}
    for i = 1, 3 do
      parts[i] = string.rep(string.char(64 + i), 3 * 1024 * 1024)
      ovs[i] = wsarecv.overlapped()
      assert_started(#parts[i], c:WSASend(parts[i], 0, ovs[i], rec.fn))
    end
    assert.equal(table.concat(parts), read_n(a, 9 * 1024 * 1024))
    assert.is_true(wait_until(function() return rec.calls == 3 end))
    for i = 1, 3 do
      assert.equal(ovs[i], rec[i].ov)
      assert.is_nil(rec[i].err)
      assert.equal(#parts[i], rec[i].bytes)
    end
  end)

  it("cancelled part way: WSA_OPERATION_ABORTED with the bytes that left, "
     .. "exactly what the peer reads", function()
    local c, a = pair()
    local rec, ov = recorder(), wsarecv.overlapped()
    local big = string.rep("0123456789abcdef", 4 * 1024 * 1024)   -- 64 MiB
    assert_pending(c:WSASend(big, 0, ov, rec.fn))
    H.progress_until(function() return false end, 5)   -- the kernel takes some
    assert.equal(0, c:CancelIoEx(ov))
    local call = one_call(rec)
    assert.equal("WSA_OPERATION_ABORTED", call.err)
    assert.is_true(call.bytes > 0 and call.bytes < #big)
    assert.equal(big:sub(1, call.bytes), read_n(a, call.bytes))
    assert_dry(a)
  end)

  it("closed with sends pending: each aborted once, in posting order",
     function()
    local c = pair()
    local rec = recorder()
    local big = string.rep("x", 32 * 1024 * 1024)
    assert_pending(c:WSASend(big, 0, wsarecv.overlapped(), rec.fn))
    assert_pending(c:WSASend("tail", 0, wsarecv.overlapped(), rec.fn))
    c:close()
    assert.is_true(wait_until(function() return rec.calls == 2 end))
    settle(30)
    assert.equal(2, rec.calls)
    assert.equal("WSA_OPERATION_ABORTED", rec[1].err)
    assert.equal("WSA_OPERATION_ABORTED", rec[2].err)
    assert.equal(0, rec[2].bytes)
  end)

  -- (Wine itself says WSAECONNRESET, and leaves a send on a listener
  -- pending for ever: the Windows backend answers before the call.
  -- FIONBIO keeps a nonoverlapped send that would wait from hanging.)
  it("a stream socket never connected, or listening: WSAENOTCONN at the "
     .. "call, nonoverlapped or not, no completion", function()
    local l = listener()
    local fresh = T.socket("inet", "stream")
    local rec = recorder()
    for _, s in ipairs { fresh, l } do
      assert.equal(0, s:setsockopt("FIONBIO", true))
      assert_fail("WSAENOTCONN", 10057, s:WSASend("x"))
      assert_fail("WSAENOTCONN", 10057,
                  s:WSASend("x", 0, wsarecv.overlapped(), rec.fn))
    end
    settle(30)
    assert.equal(0, rec.calls)
  end)

  it("nonoverlapped under FIONBIO: the bytes that fitted, then "
     .. "WSAEWOULDBLOCK; the peer reads exactly those", function()
    local c, a = pair()
    assert.equal(0, c:setsockopt("FIONBIO", true))
    local big = string.rep("0123456789abcdef", 2 * 1024 * 1024)   -- 32 MiB
    local r = pack(c:WSASend(big))
    assert.equal(0, r[1])
    assert.is_true(r[2] > 0 and r[2] < #big)
    assert_fail("WSAEWOULDBLOCK", 10035, c:WSASend(big))
    assert.equal(big:sub(1, r[2]), read_n(a, r[2]))
    assert_dry(a)
  end)
end)

describe("WSASendTo and WSASendMsg", function()
  local function udp()
    return H.udp("inet", "127.0.0.1", { socket = T.socket, rcvtimeo = 3000 })
  end

  it("WSASendTo with a routine, with an event, through a port", function()
    local ch = udp()
    local buf = wsarecv.buffer(64)
    local rec = recorder()
    assert_started(3, ch.tx:WSASendTo("one", 0, "127.0.0.1", ch.port,
                                      wsarecv.overlapped(), rec.fn))
    assert.is_nil(one_call(rec).err)
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecv(buf)))
    assert.equal("one", buf:sub(1, 3))

    local ov = wsarecv.overlapped()
    assert_started(3, ch.tx:WSASendTo("two", 0, "127.0.0.1", ch.port, ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    assert.same({ 3, 0, n = 2 }, pack(ch.tx:WSAGetOverlappedResult(ov)))
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecv(buf)))
    assert.equal("two", buf:sub(1, 3))

    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, 7))
    ov = wsarecv.overlapped()
    assert_started(5, ch.tx:WSASendTo("three", 0, "127.0.0.1", ch.port, ov))
    assert.same({ 5, 7, ov, n = 3 }, entry(port))
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.rx:WSARecv(buf)))
    assert.equal("three", buf:sub(1, 5))
    port:close()
  end)

  it("WSASendTo binds an unbound socket (as Windows' first sendto)",
     function()
    local ch = udp()
    local tx = T.socket("inet", "dgram")
    local ov = wsarecv.overlapped()
    assert_started(2, tx:WSASendTo("hi", 0, "127.0.0.1", ch.port, ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    local _, port = tx:getsockname()
    assert.is_true(port > 0)
    local m = wsarecv.msg { buffers = { wsarecv.buffer(8) } }
    assert.equal(0, (ch.rx:WSARecvMsg(m)))
    assert.equal(port, select(2, m:name()))
  end)

  it("WSASendMsg to msg.to, with a routine and through a port", function()
    local ch = udp()
    local buf = wsarecv.buffer(64)
    local m = wsarecv.msg { buffers = { wsarecv.buffer("via"),
                                        wsarecv.buffer(" msg") },
                            to = { "127.0.0.1", ch.port } }
    local rec = recorder()
    assert_started(7, ch.tx:WSASendMsg(m, 0, wsarecv.overlapped(), rec.fn))
    assert.is_nil(one_call(rec).err)
    assert.same({ 0, 7, 0, n = 3 }, pack(ch.rx:WSARecv(buf)))
    assert.equal("via msg", buf:sub(1, 7))

    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, "tx"))
    local ov = wsarecv.overlapped()
    assert_started(7, ch.tx:WSASendMsg(m, 0, ov))
    assert.same({ 7, "tx", ov, n = 3 }, entry(port))
    assert.same({ 0, 7, 0, n = 3 }, pack(ch.rx:WSARecv(buf)))
    port:close()
  end)

  -- #wine: Wine's WSASendMsg sends as WSASendTo does, without the control
  -- messages, so the source address stays the system's choice.
  it("#wine WSASendMsg with IP_PKTINFO: the datagram leaves from its addr",
     function()
    local ch = udp()
    local m = wsarecv.msg { buffers = { wsarecv.buffer("src") },
      to = { "127.0.0.1", ch.port },
      control = { { level = "IPPROTO_IP", type = "IP_PKTINFO",
                    addr = "127.0.0.2" } } }
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    local rm = wsarecv.msg { buffers = { wsarecv.buffer(8) } }
    assert.equal(0, (ch.rx:WSARecvMsg(rm)))
    assert.equal("127.0.0.2", (rm:name()))
  end)

  it("WSASendMsg on a stream socket: WSAEINVAL (as Windows)", function()
    local c = pair()
    local m = wsarecv.msg { buffers = { wsarecv.buffer("x") } }
    assert_fail("WSAEINVAL", 10022, c:WSASendMsg(m))
    assert_fail("WSAEINVAL", 10022, c:WSASendMsg(m, 0, wsarecv.overlapped()))
  end)
end)

describe("AcceptEx", function()
  it("without buffers: completes on the connection; the accept socket is "
     .. "connected, getpeername and getsockname work", function()
    local l, port = listener()
    local as = T.socket("inet", "stream")
    local rec, ov = recorder(), wsarecv.overlapped()
    assert_pending(l:AcceptEx(as, nil, ov, rec.fn))
    local c = T.socket("inet", "stream")
    assert.equal(0, c:connect("127.0.0.1", port))
    local call = one_call(rec)
    assert.is_nil(call.err)
    assert.equal(0, call.bytes)
    assert.equal(ov, call.ov)
    local _, cport = c:getsockname()
    assert.same({ "127.0.0.1", cport, n = 2 }, pack(as:getpeername()))
    assert.same({ "127.0.0.1", port, n = 2 }, pack(as:getsockname()))
    assert.same({ 0, 4, 0, n = 3 }, pack(as:WSASend("back")))
    assert.equal("back", read_n(c, 4))
  end)

  it("with a buffer: completes with the first data; the peer closing "
     .. "first completes it with 0", function()
    local l, port = listener()
    local as, buf = T.socket("inet", "stream"), wsarecv.buffer(16)
    local rec = recorder()
    assert_pending(l:AcceptEx(as, buf, wsarecv.overlapped(), rec.fn))
    local c = T.socket("inet", "stream")
    assert.equal(0, c:connect("127.0.0.1", port))
    settle(50)
    assert.equal(0, rec.calls)          -- connected, no data yet
    assert.equal(3, c:send("abc"))
    local call = one_call(rec)
    assert.is_nil(call.err)
    assert.equal(3, call.bytes)
    assert.equal("abc", buf:sub(1, 3))
    local _, cport = c:getsockname()
    assert.same({ "127.0.0.1", cport, n = 2 }, pack(as:getpeername()))

    local as2, rec2 = T.socket("inet", "stream"), recorder()
    assert_pending(l:AcceptEx(as2, wsarecv.buffer(16), wsarecv.overlapped(),
                              rec2.fn))
    local c2 = T.socket("inet", "stream")
    assert.equal(0, c2:connect("127.0.0.1", port))
    c2:close()
    call = one_call(rec2)
    assert.is_nil(call.err)
    assert.equal(0, call.bytes)
  end)

  it("first data spread over several buffers", function()
    local l, port = listener()
    local as = T.socket("inet", "stream")
    local b1, b2 = wsarecv.buffer(2), wsarecv.buffer(8)
    local ov = wsarecv.overlapped()
    assert_pending(l:AcceptEx(as, { b1, b2 }, ov))
    local c = T.socket("inet", "stream")
    assert.equal(0, c:connect("127.0.0.1", port))
    assert.equal(5, c:send("hello"))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    assert.same({ 5, 0, n = 2 }, pack(l:WSAGetOverlappedResult(ov)))
    assert.equal("he", b1:sub(1, 2))
    assert.equal("llo", b2:sub(1, 3))
  end)

  it("through a port: the entry carries the listener's key", function()
    local l, port = listener()
    local cport = wsarecv.CreateIoCompletionPort()
    assert.equal(cport, wsarecv.CreateIoCompletionPort(l, cport, "listener"))
    local as = T.socket("inet", "stream")
    assert.equal(cport, wsarecv.CreateIoCompletionPort(as, cport, "accepted"))
    local ov = wsarecv.overlapped()
    assert_pending(l:AcceptEx(as, nil, ov))
    local c = T.socket("inet", "stream")
    assert.equal(0, c:connect("127.0.0.1", port))
    assert.same({ 0, "listener", ov, n = 3 }, entry(cport))
    local _, me = c:getsockname()
    assert.same({ "127.0.0.1", me, n = 2 }, pack(as:getpeername()))
    -- the connection's own operations come with the accept socket's key
    local ov2, buf = wsarecv.overlapped(), wsarecv.buffer(8)
    assert_pending(as:WSARecv(buf, 0, ov2))
    assert.equal(2, c:send("ok"))
    assert.same({ 2, "accepted", ov2, n = 3 }, entry(cport))
    assert.equal("ok", buf:sub(1, 2))
    cport:close()
  end)

  it("CancelIoEx on the listener ends it; on the accept socket: "
     .. "ERROR_NOT_FOUND", function()
    local l = listener()
    local as = T.socket("inet", "stream")
    local rec, ov = recorder(), wsarecv.overlapped()
    assert_pending(l:AcceptEx(as, nil, ov, rec.fn))
    assert_fail("ERROR_NOT_FOUND", 1168, as:CancelIoEx(ov))
    assert_fail("ERROR_NOT_FOUND", 1168, as:CancelIoEx())
    settle(30)
    assert.equal(0, rec.calls)
    assert.equal(0, l:CancelIoEx(ov))
    assert.equal("WSA_OPERATION_ABORTED", one_call(rec).err)
    assert_fail("ERROR_NOT_FOUND", 1168, l:CancelIoEx(ov))
    -- the accept socket is free for another AcceptEx
    assert_pending(l:AcceptEx(as, nil, wsarecv.overlapped(), rec.fn))
  end)

  it("closing the listener aborts it once", function()
    local l = listener()
    local as = T.socket("inet", "stream")
    local rec = recorder()
    assert_pending(l:AcceptEx(as, nil, wsarecv.overlapped(), rec.fn))
    l:close()
    assert.equal("WSA_OPERATION_ABORTED", one_call(rec).err)
  end)

  it("closing the accept socket aborts it once; the listener accepts on",
     function()
    local l, port = listener()
    local as = T.socket("inet", "stream")
    local rec = recorder()
    assert_pending(l:AcceptEx(as, wsarecv.buffer(8), wsarecv.overlapped(),
                              rec.fn))
    as:close()
    assert.equal("WSA_OPERATION_ABORTED", one_call(rec).err)
    local as2, ov = T.socket("inet", "stream"), wsarecv.overlapped()
    assert_pending(l:AcceptEx(as2, nil, ov))
    local c = T.socket("inet", "stream")
    assert.equal(0, c:connect("127.0.0.1", port))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    assert.same({ 0, 0, n = 2 }, pack(l:WSAGetOverlappedResult(ov)))
  end)

  it("accepts pending on one listener complete in posting order", function()
    local l, port = listener()
    local rec, socks = recorder(), {}
    for i = 1, 3 do
      socks[i] = T.socket("inet", "stream")
      assert_pending(l:AcceptEx(socks[i], nil, wsarecv.overlapped(), rec.fn))
    end
    local cs = {}
    for i = 1, 3 do
      cs[i] = T.socket("inet", "stream")
      assert.equal(0, cs[i]:connect("127.0.0.1", port))
      assert.equal(1, cs[i]:send(tostring(i)))
    end
    assert.is_true(wait_until(function() return rec.calls == 3 end))
    for i = 1, 3 do
      assert.is_nil(rec[i].err)
      assert.equal(tostring(i), read_n(socks[i], 1))
    end
  end)
end)

describe("ConnectEx", function()
  it("pending even on loopback; connected, with its data sent; "
     .. "getpeername after", function()
    local l, port = listener()
    local c = bound_client()
    local rec, ov = recorder(), wsarecv.overlapped()
    assert_pending(c:ConnectEx("127.0.0.1", port, "first", ov, rec.fn))
    local call = one_call(rec)
    assert.is_nil(call.err)
    assert.equal(5, call.bytes)
    assert.equal(ov, call.ov)
    assert.same({ "127.0.0.1", port, n = 2 }, pack(c:getpeername()))
    local a = T.track(assert(l:accept()))
    assert.equal("first", read_n(a, 5))
    local _, me = c:getsockname()
    assert.same({ "127.0.0.1", me, n = 2 }, pack(a:getpeername()))
    assert.same({ 0, 4, 0, n = 3 }, pack(c:WSASend("more")))
    assert.equal("more", read_n(a, 4))
  end)

  it("event style, its data from several buffers", function()
    local l, port = listener()
    local c = bound_client()
    local ov = wsarecv.overlapped()
    assert_pending(c:ConnectEx("127.0.0.1", port,
                               { wsarecv.buffer("con"), wsarecv.buffer(""),
                                 wsarecv.buffer("nect") }, ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    assert.same({ 7, 0, n = 2 }, pack(c:WSAGetOverlappedResult(ov)))
    local a = T.track(assert(l:accept()))
    assert.equal("connect", read_n(a, 7))
  end)

  it("through a port: the entry carries the socket's key", function()
    local _, port = listener()
    local c = bound_client()
    local cport = wsarecv.CreateIoCompletionPort()
    assert.equal(cport, wsarecv.CreateIoCompletionPort(c, cport, "c"))
    local ov = wsarecv.overlapped()
    assert_pending(c:ConnectEx("127.0.0.1", port, nil, ov))
    assert.same({ 0, "c", ov, n = 3 }, entry(cport))
    assert.same({ "127.0.0.1", port, n = 2 }, pack(c:getpeername()))
    cport:close()
  end)

  it("refused: WSAECONNREFUSED through the completion", function()
    local dead = listener()
    local _, port = dead:getsockname()
    dead:close()
    local c = bound_client()
    local rec = recorder()
    assert_pending(c:ConnectEx("127.0.0.1", port, "lost",
                               wsarecv.overlapped(), rec.fn))
    local call = one_call(rec)
    assert.equal("WSAECONNREFUSED", call.err)
    assert.equal(0, call.bytes)
  end)

  it("WSAEALREADY while one is pending, WSAEISCONN once connected",
     function()
    local _, port = listener()
    local c = bound_client()
    local ov = wsarecv.overlapped()
    assert_pending(c:ConnectEx("127.0.0.1", port, nil, ov))
    assert_fail("WSAEALREADY", 10037,
                c:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped()))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
                                                     false))
    assert.same({ 0, 0, n = 2 }, pack(c:WSAGetOverlappedResult(ov)))
    assert_fail("WSAEISCONN", 10056,
                c:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped()))
    local c2 = pair()
    assert_fail("WSAEISCONN", 10056,
                c2:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped()))
  end)

  it("an unbound socket, a listening one, one being accepted into: "
     .. "WSAEINVAL at the call", function()
    local l, port = listener()
    local c = T.socket("inet", "stream")
    assert_fail("WSAEINVAL", 10022,
                c:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped()))
    assert_fail("WSAEINVAL", 10022,
                l:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped()))
    local as = T.socket("inet", "stream")
    assert_pending(l:AcceptEx(as, nil, wsarecv.overlapped()))
    assert_fail("WSAEINVAL", 10022,
                as:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped()))
  end)

  it("closed right after it was posted: completes exactly once", function()
    local _, port = listener()
    local c = bound_client()
    local rec = recorder()
    assert_pending(c:ConnectEx("127.0.0.1", port, nil, wsarecv.overlapped(),
                               rec.fn))
    c:close()
    local call = one_call(rec)
    -- the kernel may have connected before the close took
    assert.is_true(call.err == nil or call.err == "WSA_OPERATION_ABORTED")
  end)
end)
