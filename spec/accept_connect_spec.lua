-- AcceptEx and ConnectEx (their pages; Windows' answers as Wine's ws2_32
-- tests record them): the accept socket's rules, completion on the
-- connection or on its first data, posting order, the listener's key,
-- cancel and close; ConnectEx's bound socket, pending even on loopback,
-- refused, already connecting or connected, its data, cancel and close;
-- the three ways both complete; no rearm; argument types.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pack, assert_pending, assert_fail = H.pack, H.assert_pending, H.assert_fail
local recorder, wait_for, settle = H.recorder, H.wait_for, H.settle

local T = H.tracker()
after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

-- A listener on family's loopback, tracked: it, its address and port.
local function listener(family, backlog)
  family = family or "inet"
  local addr = family == "inet" and "127.0.0.1" or "::1"
  local l = T.socket(family, "stream")
  assert.equal(0, l:bind(addr, 0))
  assert.equal(0, l:listen(backlog))
  local _, port = l:getsockname()
  return l, addr, port
end

-- A client connected (blocking connect) to addr, port, tracked.
local function client(addr, port, family)
  local c = T.socket(family or "inet", "stream")
  assert.equal(0, c:connect(addr, port))
  return c
end

-- A socket bound to any address, for ConnectEx, tracked.
local function bound(family)
  local s = T.socket(family or "inet", "stream")
  assert.equal(0, s:bind(family == "inet6" and "::" or "0.0.0.0", 0))
  return s
end

-- What an AcceptEx or ConnectEx post returns: pending, or (AcceptEx with
-- a connection already waiting) done at once with `bytes`.
local function assert_started(bytes, ...)
  local r = pack(...)
  if r[1] == 0 then
    assert.same({ 0, bytes, 0, n = 3 }, r)
  else
    assert.same(H.PENDING, r)
  end
end

-- A port nothing listens on (bound then closed).
local function dead_port()
  local s = wsarecv.socket("inet", "stream")
  assert.equal(0, s:bind("127.0.0.1", 0))
  local _, p = s:getsockname()
  s:close()
  return p
end

-- A listener whose accept queue is full (backlog 0 and a connection not
-- accepted): a connection to it stays pending (Linux drops its SYN).
-- Returns the listener's address and port.
local function full_listener()
  local l, addr, port = listener("inet", 0)
  for _ = 1, 2 do
    local f = bound()
    assert_pending(f:ConnectEx(addr, port, nil, wsarecv.overlapped()))
    settle(20)
  end
  return addr, port, l
end

---------------------------------------------------------------------------
-- AcceptEx
---------------------------------------------------------------------------

describe("AcceptEx", function()
  describe("the accept socket's rules", function()
    it("a bound, a connected, the listener itself, another family or "
      .. "type: WSAEINVAL, nothing started", function()
      local l, addr, port = listener()
      local rec = recorder()
      local b = T.socket("inet", "stream")
      assert.equal(0, b:bind("127.0.0.1", 0))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(b, nil, wsarecv.overlapped(),
        rec.fn))
      local conn = client(addr, port)
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(conn, nil,
        wsarecv.overlapped(), rec.fn))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(l, nil, wsarecv.overlapped(),
        rec.fn))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(T.socket("inet6", "stream"),
        nil, wsarecv.overlapped(), rec.fn))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(T.socket("inet", "dgram"),
        nil, wsarecv.overlapped(), rec.fn))
      settle(30)
      assert.equal(0, rec.calls)
      assert.equal(0, l:pending())
    end)

    it("the same accept socket twice: WSAEINVAL; the first goes on",
      function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      local ov = wsarecv.overlapped()
      assert_pending(l:AcceptEx(as, nil, ov, rec.fn))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(as, nil,
        wsarecv.overlapped(), rec.fn))
      assert.equal(1, l:pending())
      local c = client(addr, port)
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      settle(20)
      assert.equal(1, rec.calls)
      assert.same({ err = nil, bytes = 0, ov = ov, flags = 0 }, rec[1])
      assert.same({ c:getsockname() }, { as:getpeername() })
    end)

    it("a listener not listening: WSAEINVAL", function()
      local s = T.socket("inet", "stream")
      assert.equal(0, s:bind("127.0.0.1", 0))
      assert_fail("WSAEINVAL", 10022, s:AcceptEx(T.socket("inet", "stream"),
        nil, wsarecv.overlapped()))
      assert_fail("WSAEINVAL", 10022, T.socket("inet", "stream"):AcceptEx(
        T.socket("inet", "stream"), nil, wsarecv.overlapped()))
    end)

    it("neither ov nor routine: WSA_INVALID_PARAMETER", function()
      local l = listener()
      assert_fail("WSA_INVALID_PARAMETER", 87,
        l:AcceptEx(T.socket("inet", "stream")))
      assert_fail("WSA_INVALID_PARAMETER", 87,
        l:AcceptEx(T.socket("inet", "stream"), wsarecv.buffer(8)))
      assert.equal(0, l:pending())
    end)

    it("a busy ov: WSAEINVAL", function()
      local l = listener()
      local ov = wsarecv.overlapped()
      assert_pending(l:AcceptEx(T.socket("inet", "stream"), nil, ov))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(T.socket("inet", "stream"),
        nil, ov))
      assert.equal(1, l:pending())
    end)
  end)

  describe("completes", function()
    it("without buffers, on the connection: the accept socket is connected "
      .. "(names, sends and receives work)", function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      local ov = wsarecv.overlapped()
      assert_pending(l:AcceptEx(as, nil, ov, rec.fn))
      assert_fail("WSAENOTCONN", 10057, as:WSASend("early"))
      local c = client(addr, port)
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      assert.same({ err = nil, bytes = 0, ov = ov, flags = 0 }, rec[1])
      assert.same({ c:getsockname() }, { as:getpeername() })
      assert.same({ addr, port }, { as:getsockname() })
      assert.same({ 0, 5, 0, n = 3 }, pack(as:WSASend("hello")))
      local buf = wsarecv.buffer(16)
      assert.same({ 0, 5, 0, n = 3 }, pack(c:WSARecv(buf)))
      assert.equal("hello", buf:sub(1, 5))
      assert.same({ 0, 3, 0, n = 3 }, pack(c:WSASend("bye")))
      assert.same({ 0, 3, 0, n = 3 }, pack(as:WSARecv(buf)))
      assert.equal("bye", buf:sub(1, 3))
    end)

    it("with a buffer, once the first data came: bytes and the data",
      function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      local buf = wsarecv.buffer(16)
      assert_pending(l:AcceptEx(as, buf, wsarecv.overlapped(), rec.fn))
      local c = client(addr, port)
      settle(50)
      assert.equal(0, rec.calls)
      assert.same({ 0, 5, 0, n = 3 }, pack(c:WSASend("first")))
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      assert.same({ nil, 5 }, { rec[1].err, rec[1].bytes })
      assert.equal("first", buf:sub(1, 5))
      assert.same({ c:getsockname() }, { as:getpeername() })
    end)

    it("with a buffer, when the peer closes without data: 0 bytes",
      function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      assert_pending(l:AcceptEx(as, wsarecv.buffer(16), wsarecv.overlapped(),
        rec.fn))
      local c = client(addr, port)
      settle(20)
      c:close()
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      assert.same({ nil, 0 }, { rec[1].err, rec[1].bytes })
    end)

    it("with a connection already waiting: done at once or pending, the "
      .. "completion follows once", function()
      local l, addr, port = listener()
      local c = client(addr, port)
      local as, rec = T.socket("inet", "stream"), recorder()
      assert_started(0, l:AcceptEx(as, nil, wsarecv.overlapped(), rec.fn))
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      settle(20)
      assert.equal(1, rec.calls)
      assert.same({ c:getsockname() }, { as:getpeername() })
    end)

    it("several pending on one listener complete in posting order",
      function()
      local l, addr, port = listener()
      local socks, rec = {}, recorder()
      for i = 1, 4 do
        socks[i] = T.socket("inet", "stream")
        local ov = wsarecv.overlapped()
        ov.context = i
        assert_pending(l:AcceptEx(socks[i], nil, ov, rec.fn))
      end
      local clients = {}
      for i = 1, 4 do
        clients[i] = client(addr, port)
        assert.is_true(wait_for(function() return rec.calls == i end))
      end
      for i = 1, 4 do
        assert.equal(i, rec[i].ov.context)
        assert.same({ clients[i]:getsockname() }, { socks[i]:getpeername() })
      end
    end)

    it("with buffers, a client that sends nothing holds up no other: "
      .. "connections go in posting order, each completes on its own data",
      function()
      local l, addr, port = listener()
      local socks, bufs, rec = {}, {}, recorder()
      for i = 1, 3 do
        socks[i], bufs[i] = T.socket("inet", "stream"), wsarecv.buffer(8)
        local ov = wsarecv.overlapped()
        ov.context = i
        assert_pending(l:AcceptEx(socks[i], i < 3 and bufs[i] or nil, ov,
          rec.fn))
      end
      local c1 = client(addr, port)
      settle(20)
      local c2 = client(addr, port)
      settle(20)
      local c3 = client(addr, port)
      -- the third (no buffer) completes on its connection
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      assert.same({ 3, nil, 0 }, { rec[1].ov.context, rec[1].err, rec[1].bytes })
      assert.same({ 0, 3, 0, n = 3 }, pack(c2:WSASend("two")))
      assert.is_true(wait_for(function() return rec.calls == 2 end))
      assert.same({ 2, nil, 3 }, { rec[2].ov.context, rec[2].err, rec[2].bytes })
      assert.equal("two", bufs[2]:sub(1, 3))
      assert.same({ 0, 3, 0, n = 3 }, pack(c1:WSASend("one")))
      assert.is_true(wait_for(function() return rec.calls == 3 end))
      assert.same({ 1, nil, 3 }, { rec[3].ov.context, rec[3].err, rec[3].bytes })
      assert.equal("one", bufs[1]:sub(1, 3))
      for i, c in ipairs { c1, c2, c3 } do
        assert.same({ c:getsockname() }, { socks[i]:getpeername() })
      end
    end)

    it("an event object: WSAWaitForMultipleEvents and "
      .. "WSAGetOverlappedResult on the listener", function()
      local l, addr, port = listener()
      local as, ov = T.socket("inet", "stream"), wsarecv.overlapped()
      local buf = wsarecv.buffer(8)
      assert_pending(l:AcceptEx(as, buf, ov))
      assert_fail("WSA_IO_INCOMPLETE", 996, l:WSAGetOverlappedResult(ov))
      local c = client(addr, port)
      assert.same({ 0, 2, 0, n = 3 }, pack(c:WSASend("hi")))
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
        false))
      assert.same({ 2, 0, n = 2 }, pack(l:WSAGetOverlappedResult(ov)))
      assert.equal("hi", buf:sub(1, 2))
    end)

    it("a completion port: the entry carries the listener's key", function()
      local l, addr, port = listener()
      local cp = wsarecv.CreateIoCompletionPort()
      assert.equal(cp, wsarecv.CreateIoCompletionPort(l, cp, "listener"))
      local as, ov = T.socket("inet", "stream"), wsarecv.overlapped()
      assert.equal(cp, wsarecv.CreateIoCompletionPort(as, cp, "acceptor"))
      assert_pending(l:AcceptEx(as, nil, ov))
      local c = client(addr, port)
      assert.same({ 0, "listener", ov, n = 3 },
        pack(cp:GetQueuedCompletionStatus(3000)))
      assert.same({ c:getsockname() }, { as:getpeername() })
      cp:close()
    end)

    it("a routine on a listener of a completion port: WSAEINVAL", function()
      local l = listener()
      local cp = wsarecv.CreateIoCompletionPort()
      assert.equal(cp, wsarecv.CreateIoCompletionPort(l, cp, 1))
      assert_fail("WSAEINVAL", 10022, l:AcceptEx(T.socket("inet", "stream"),
        nil, wsarecv.overlapped(), function() end))
      assert.equal(0, l:pending())
      cp:close()
    end)

    it("ov.rearm is not applied: one entry, nothing posted again",
      function()
      local l, addr, port = listener()
      local cp = wsarecv.CreateIoCompletionPort()
      assert.equal(cp, wsarecv.CreateIoCompletionPort(l, cp, 9))
      local as, ov = T.socket("inet", "stream"), wsarecv.overlapped()
      ov.rearm = true
      assert_pending(l:AcceptEx(as, nil, ov))
      client(addr, port)
      assert.same({ 0, 9, ov, n = 3 }, pack(cp:GetQueuedCompletionStatus(3000)))
      assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
        pack(cp:GetQueuedCompletionStatus(50)))
      assert.equal(0, l:pending())
      assert.is_false(ov.pending)
      -- the next connection waits for an AcceptEx of its own
      local c2 = client(addr, port)
      local as2 = T.socket("inet", "stream")
      local ov2 = wsarecv.overlapped()
      assert_started(0, l:AcceptEx(as2, nil, ov2))
      assert.same({ 0, 9, ov2, n = 3 }, pack(cp:GetQueuedCompletionStatus(3000)))
      assert.same({ c2:getsockname() }, { as2:getpeername() })
      cp:close()
    end)
  end)

  describe("ended early", function()
    it("CancelIoEx on the listener ends it once; on the accept socket "
      .. "ERROR_NOT_FOUND", function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      local ov = wsarecv.overlapped()
      assert_pending(l:AcceptEx(as, nil, ov, rec.fn))
      assert_fail("ERROR_NOT_FOUND", 1168, as:CancelIoEx(ov))
      assert_fail("ERROR_NOT_FOUND", 1168, as:CancelIoEx())
      assert.is_true(ov.pending)
      assert.same({ 0, n = 1 }, pack(l:CancelIoEx(ov)))
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      settle(20)
      assert.equal(1, rec.calls)
      assert.same({ "WSA_OPERATION_ABORTED", 0 }, { rec[1].err, rec[1].bytes })
      -- the accept socket is fresh again: it can take the next one
      local rec2 = recorder()
      assert_pending(l:AcceptEx(as, nil, wsarecv.overlapped(), rec2.fn))
      local c = client(addr, port)
      assert.is_true(wait_for(function() return rec2.calls == 1 end))
      assert.same({ c:getsockname() }, { as:getpeername() })
    end)

    it("closing the listener aborts every pending one once", function()
      local l = listener()
      local rec = recorder()
      for i = 1, 3 do
        local ov = wsarecv.overlapped()
        ov.context = i
        assert_pending(l:AcceptEx(T.socket("inet", "stream"),
          i == 2 and wsarecv.buffer(8) or nil, ov, rec.fn))
      end
      l:close()
      assert.is_true(wait_for(function() return rec.calls == 3 end))
      settle(30)
      assert.equal(3, rec.calls)
      for i = 1, 3 do
        assert.same({ i, "WSA_OPERATION_ABORTED", 0 },
          { rec[i].ov.context, rec[i].err, rec[i].bytes })
      end
    end)

    it("closing the accept socket aborts it once; the listener goes on",
      function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      assert_pending(l:AcceptEx(as, nil, wsarecv.overlapped(), rec.fn))
      as:close()
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      settle(20)
      assert.equal(1, rec.calls)
      assert.same({ "WSA_OPERATION_ABORTED", 0 }, { rec[1].err, rec[1].bytes })
      assert.equal(0, l:pending())
      local as2, rec2 = T.socket("inet", "stream"), recorder()
      assert_pending(l:AcceptEx(as2, nil, wsarecv.overlapped(), rec2.fn))
      local c = client(addr, port)
      assert.is_true(wait_for(function() return rec2.calls == 1 end))
      assert.same({ c:getsockname() }, { as2:getpeername() })
    end)

    it("closing the accept socket while it waits for the first data",
      function()
      local l, addr, port = listener()
      local as, rec = T.socket("inet", "stream"), recorder()
      assert_pending(l:AcceptEx(as, wsarecv.buffer(8), wsarecv.overlapped(),
        rec.fn))
      client(addr, port)
      settle(30)
      as:close()
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      settle(20)
      assert.equal(1, rec.calls)
      assert.equal("WSA_OPERATION_ABORTED", rec[1].err)
      assert.equal(0, l:pending())
    end)

    for _, how in ipairs { "close", "cancel" } do
      it(("ended (%s) while it waits for the first data: the next one on "
        .. "the listener takes the next connection"):format(how), function()
        local l, addr, port = listener()
        local as1, as2 = T.socket("inet", "stream"), T.socket("inet", "stream")
        local rec1, rec2, ov1 = recorder(), recorder(), wsarecv.overlapped()
        assert_pending(l:AcceptEx(as1, wsarecv.buffer(8), ov1, rec1.fn))
        assert_pending(l:AcceptEx(as2, nil, wsarecv.overlapped(), rec2.fn))
        client(addr, port)
        settle(30)
        if how == "close" then as1:close()
        else assert.same({ 0, n = 1 }, pack(l:CancelIoEx(ov1))) end
        assert.is_true(wait_for(function() return rec1.calls == 1 end))
        assert.equal("WSA_OPERATION_ABORTED", rec1[1].err)
        local c2 = client(addr, port)
        assert.is_true(wait_for(function() return rec2.calls == 1 end))
        assert.is_nil(rec2[1].err)
        assert.same({ c2:getsockname() }, { as2:getpeername() })
      end)
    end

    it("the accept socket collected while pending: the operation holds it",
      function()
      local l, addr, port = listener()
      local rec = recorder()
      assert_pending(l:AcceptEx(wsarecv.socket("inet", "stream"), nil,
        wsarecv.overlapped(), rec.fn))
      collectgarbage()
      collectgarbage()
      local c = client(addr, port)
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      assert.is_nil(rec[1].err)
      assert.same({ 0, 2, 0, n = 3 }, pack(c:WSASend("ok")))
    end)
  end)
end)

---------------------------------------------------------------------------
-- ConnectEx
---------------------------------------------------------------------------

describe("ConnectEx", function()
  it("an unbound socket: WSAEINVAL", function()
    local _, addr, port = listener()
    local s = T.socket("inet", "stream")
    assert_fail("WSAEINVAL", 10022, s:ConnectEx(addr, port, nil,
      wsarecv.overlapped()))
  end)

  it("neither ov nor routine: WSA_INVALID_PARAMETER", function()
    local _, addr, port = listener()
    assert_fail("WSA_INVALID_PARAMETER", 87, bound():ConnectEx(addr, port))
  end)

  it("pending even on loopback; then connected (names, sends, receives)",
    function()
    local l, addr, port = listener()
    local s, rec, ov = bound(), recorder(), wsarecv.overlapped()
    assert_pending(s:ConnectEx(addr, port, nil, ov, rec.fn))
    assert_fail("WSAENOTCONN", 10057, s:WSASend("early"))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    settle(20)
    assert.equal(1, rec.calls)
    assert.same({ err = nil, bytes = 0, ov = ov, flags = 0 }, rec[1])
    assert.same({ addr, port }, { s:getpeername() })
    local a = T.track(assert(l:accept()))
    assert.same({ s:getsockname() }, { a:getpeername() })
    assert.same({ 0, 4, 0, n = 3 }, pack(s:WSASend("data")))
    local buf = wsarecv.buffer(8)
    assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(buf)))
    assert.equal("data", buf:sub(1, 4))
  end)

  it("sends its data once connected: bytes is how much", function()
    local l, addr, port = listener()
    local s, rec = bound(), recorder()
    local data = ("0123456789"):rep(100)
    assert_pending(s:ConnectEx(addr, port, data, wsarecv.overlapped(), rec.fn))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.same({ nil, 1000 }, { rec[1].err, rec[1].bytes })
    local a = T.track(assert(l:accept()))
    assert(a:setsockopt("SO_RCVTIMEO", 3000) == 0)
    local buf, got = wsarecv.buffer(2000), {}
    local total = 0
    while total < 1000 do
      local r, n = a:WSARecv(buf)
      if r ~= 0 or n == 0 then break end
      got[#got + 1] = buf:sub(1, n)
      total = total + n
    end
    assert.equal(data, table.concat(got))
    -- a buffer and an array take the same way
    local s2, rec2 = bound(), recorder()
    assert_pending(s2:ConnectEx(addr, port, { wsarecv.buffer("ab"),
      wsarecv.buffer("cd") }, wsarecv.overlapped(), rec2.fn))
    assert.is_true(wait_for(function() return rec2.calls == 1 end))
    assert.same({ nil, 4 }, { rec2[1].err, rec2[1].bytes })
  end)

  it("refused: WSAECONNREFUSED through the completion", function()
    local s, rec = bound(), recorder()
    local ov = wsarecv.overlapped()
    assert_pending(s:ConnectEx("127.0.0.1", dead_port(), nil, ov, rec.fn))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    settle(20)
    assert.equal(1, rec.calls)
    assert.same({ "WSAECONNREFUSED", 0 }, { rec[1].err, rec[1].bytes })
    assert.same({ nil, "WSAECONNREFUSED", 10061, n = 3 },
      pack(s:WSAGetOverlappedResult(ov)))
  end)

  it("a second one while the first is pending: WSAEALREADY; connected: "
    .. "WSAEISCONN", function()
    local _, addr, port = listener()
    local s, rec = bound(), recorder()
    assert_pending(s:ConnectEx(addr, port, nil, wsarecv.overlapped(), rec.fn))
    assert_fail("WSAEALREADY", 10037, s:ConnectEx(addr, port, nil,
      wsarecv.overlapped(), rec.fn))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    settle(20)
    assert.equal(1, rec.calls)
    assert.is_nil(rec[1].err)
    assert_fail("WSAEISCONN", 10056, s:ConnectEx(addr, port, nil,
      wsarecv.overlapped(), rec.fn))
    local c = client(addr, port)
    c:bind("0.0.0.0", 0)
    assert_fail("WSAEISCONN", 10056, c:ConnectEx(addr, port, nil,
      wsarecv.overlapped()))
  end)

  it("an event object and a completion port with the socket's key",
    function()
    local _, addr, port = listener()
    local s, ov = bound(), wsarecv.overlapped()
    assert_pending(s:ConnectEx(addr, port, "ev", ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
      false))
    assert.same({ 2, 0, n = 2 }, pack(s:WSAGetOverlappedResult(ov)))
    local cp = wsarecv.CreateIoCompletionPort()
    local s2, ov2 = bound(), wsarecv.overlapped()
    assert.equal(cp, wsarecv.CreateIoCompletionPort(s2, cp, "s2"))
    assert_pending(s2:ConnectEx(addr, port, "port", ov2))
    assert.same({ 4, "s2", ov2, n = 3 }, pack(cp:GetQueuedCompletionStatus(3000)))
    cp:close()
  end)

  it("ov.rearm is not applied", function()
    local _, addr, port = listener()
    local cp = wsarecv.CreateIoCompletionPort()
    local s, ov = bound(), wsarecv.overlapped()
    assert.equal(cp, wsarecv.CreateIoCompletionPort(s, cp, 1))
    ov.rearm = true
    assert_pending(s:ConnectEx(addr, port, "x", ov))
    assert.same({ 1, 1, ov, n = 3 }, pack(cp:GetQueuedCompletionStatus(3000)))
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
      pack(cp:GetQueuedCompletionStatus(50)))
    assert.is_false(ov.pending)
    assert.equal(0, s:pending())
    cp:close()
  end)

  -- a connection that stays pending needs a listener that drops SYNs
  -- (Linux, a full accept queue); Windows refuses it instead
  it("#linux CancelIoEx and close end a pending one once", function()
    local addr, port = full_listener()
    local s, rec = bound(), recorder()
    local ov = wsarecv.overlapped()
    assert_pending(s:ConnectEx(addr, port, nil, ov, rec.fn))
    settle(30)
    assert.equal(0, rec.calls)
    assert.same({ 0, n = 1 }, pack(s:CancelIoEx(ov)))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    settle(20)
    assert.equal(1, rec.calls)
    assert.equal("WSA_OPERATION_ABORTED", rec[1].err)
    local s2, rec2 = bound(), recorder()
    assert_pending(s2:ConnectEx(addr, port, nil, wsarecv.overlapped(), rec2.fn))
    settle(30)
    s2:close()
    assert.is_true(wait_for(function() return rec2.calls == 1 end))
    settle(20)
    assert.equal(1, rec2.calls)
    assert.equal("WSA_OPERATION_ABORTED", rec2[1].err)
  end)

  it("CancelIoEx and close right after the post: it ends once", function()
    local _, addr, port = listener()
    for _, how in ipairs { "cancel", "close" } do
      local s, rec = bound(), recorder()
      local ov = wsarecv.overlapped()
      assert_pending(s:ConnectEx(addr, port, nil, ov, rec.fn))
      if how == "cancel" then s:CancelIoEx(ov) else s:close() end
      assert.is_true(wait_for(function() return rec.calls == 1 end))
      settle(20)
      assert.equal(1, rec.calls)
      assert.is_true(rec[1].err == nil or rec[1].err == "WSA_OPERATION_ABORTED",
        tostring(rec[1].err))
    end
  end)
end)

---------------------------------------------------------------------------
-- the end of the state
---------------------------------------------------------------------------

describe("a Lua state closed with operations pending", function()
  it("frees every one (accepts holding their socket or its connection, "
    .. "connects, sends waiting and held): no crash, no leak", function()
    local out, how, rc = H.run_child([[
local wsarecv = require "wsarecv"
local l = wsarecv.socket("inet", "stream")
assert(l:bind("127.0.0.1", 0) == 0 and l:listen() == 0)
local _, port = l:getsockname()
-- one accept holds its connection (waits for data), one waits for one
assert(l:AcceptEx(wsarecv.socket("inet", "stream"), wsarecv.buffer(8),
  wsarecv.overlapped()) == nil)
assert(l:AcceptEx(wsarecv.socket("inet", "stream"), nil,
  wsarecv.overlapped(), function() end) == nil)
local c = wsarecv.socket("inet", "stream")
assert(c:connect("127.0.0.1", port) == 0)
wsarecv.SleepEx(20, true)
local k = wsarecv.socket("inet", "stream")
assert(k:bind("0.0.0.0", 0) == 0)
assert(k:ConnectEx("127.0.0.1", port, "x", wsarecv.overlapped()) == nil)
-- sends waiting for room
local c2 = wsarecv.socket("inet", "stream")
assert(c2:setsockopt("SO_SNDBUF", 65536) == 0)
assert(c2:connect("127.0.0.1", port) == 0)
for _ = 1, 3 do c2:WSASend(("s"):rep(1 << 20), 0, wsarecv.overlapped()) end
-- datagram sends held for the port's next wait
local u = wsarecv.socket("inet", "dgram")
local cp = wsarecv.CreateIoCompletionPort()
wsarecv.CreateIoCompletionPort(u, cp, 1)
for _ = 1, 3 do u:WSASendTo("d", 0, "127.0.0.1", 9, wsarecv.overlapped()) end
print("posted")
]], 30)
    H.assert_exit(out, how, rc, 0)
    assert.is_truthy(out:find("posted", 1, true), out)
  end)
end)

---------------------------------------------------------------------------
-- argument types
---------------------------------------------------------------------------

describe("AcceptEx and ConnectEx argument types", function()
  it("raise for every argument", function()
    local l = listener()
    local s, ov = T.socket("inet", "stream"), wsarecv.overlapped()
    -- (a method call's numbers leave out self, as Lua says them)
    local cases = {
      { "AcceptEx", function() l.AcceptEx("x", s, nil, ov) end, "#1" },
      { "AcceptEx", function() l:AcceptEx("s", nil, ov) end, "#1" },
      { "AcceptEx", function() l:AcceptEx(nil, nil, ov) end, "#1" },
      { "AcceptEx", function() l:AcceptEx(s, 5, ov) end, "#2" },
      { "AcceptEx", function() l:AcceptEx(s, "data", ov) end, "#2" },
      { "AcceptEx", function() l:AcceptEx(s, nil, "ov") end, "#3" },
      { "AcceptEx", function() l:AcceptEx(s, nil, ov, 5) end, "#4" },
      { "ConnectEx", function() s.ConnectEx(5, "127.0.0.1", 1, nil, ov) end, "#1" },
      { "ConnectEx", function() s:ConnectEx({}, 1, nil, ov) end, "#1" },
      { "ConnectEx", function() s:ConnectEx("127.0.0.1", "p", nil, ov) end, "#2" },
      { "ConnectEx", function() s:ConnectEx("127.0.0.1", 70000, nil, ov) end, "#2" },
      { "ConnectEx", function() s:ConnectEx("127.0.0.1", 1, 5, ov) end, "#3" },
      { "ConnectEx", function() s:ConnectEx("127.0.0.1", 1, nil, {}) end, "#4" },
      { "ConnectEx", function() s:ConnectEx("127.0.0.1", 1, nil, ov, "f") end, "#5" },
    }
    for _, c in ipairs(cases) do
      local err = H.raised(c[2])
      assert.is_truthy(err, c[1] .. " " .. c[3] .. " did not raise")
      assert.is_truthy(err:find("bad argument " .. c[3] .. " to '" .. c[1]
        .. "'", 1, true), c[1] .. " " .. c[3] .. ": " .. err)
    end
    assert.equal(0, l:pending())
    assert.equal(0, s:pending())
  end)
end)
