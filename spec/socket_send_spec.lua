-- The blocking send and sendto against Windows's error table (the send
-- and sendto pages; Wine's dlls/ws2_32/tests/sock.c): a never-connected
-- stream socket, one shut for sending, one the peer reset, a peer that
-- has gone (no SIGPIPE), and a datagram too big.  Real loopback sockets.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pack, assert_fail = H.pack, H.assert_fail

-- c reset by its peer: a's close with unread data sends an RST; c's
-- blocking receive waits for it and reports it (WSAECONNRESET, as on
-- Windows), so the RST has come before the sends under test
local function reset_conn()
  local c, a, done = H.stream_conn("inet")
  assert.are.equal(5, c:send("hello"))
  local buf = wsarecv.buffer(1)
  assert.are.same({ n = 3, 0, 1, 0 }, pack(a:WSARecv(buf, 0)))
  a:close()
  local r = pack(c:WSARecv(wsarecv.buffer(16), 0))
  assert_fail("WSAECONNRESET", 10054, table.unpack(r, 1, r.n))
  return c, done
end

describe("socket:send error table", function()
  -- #wine: Wine answers WSAECONNRESET for a socket that never connected,
  -- where Windows (the send page) gives WSAENOTCONN
  it("#wine a never-connected TCP socket: WSAENOTCONN", function()
    local s = wsarecv.socket("inet", "stream")
    assert_fail("WSAENOTCONN", 10057, s:send("x"))
    assert.are.equal(0, s:bind("127.0.0.1", 0))
    assert_fail("WSAENOTCONN", 10057, s:send("x"))
    s:close()
  end)

  it("#wine a listening TCP socket: WSAENOTCONN", function()
    local l = wsarecv.socket("inet", "stream")
    assert.are.equal(0, l:bind("127.0.0.1", 0))
    assert.are.equal(0, l:listen())
    assert_fail("WSAENOTCONN", 10057, l:send("x"))
    l:close()
  end)

  it("after shutdown('send'): WSAESHUTDOWN, the peer gets nothing more",
     function()
    local c, a, done = H.stream_conn("inet")
    assert.are.equal(0, c:shutdown("send"))
    assert_fail("WSAESHUTDOWN", 10058, c:send("late"))
    assert_fail("WSAESHUTDOWN", 10058, c:send("late"))
    local buf = wsarecv.buffer(16)
    assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
    done()
  end)

  it("after shutdown('both'): WSAESHUTDOWN", function()
    local c, _, done = H.stream_conn("inet")
    assert.are.equal(0, c:shutdown("both"))
    assert_fail("WSAESHUTDOWN", 10058, c:send("late"))
    done()
  end)

  -- #wine: Wine's close with unread data sometimes lets the receive see
  -- end-of-stream (0 bytes) first, where Windows resets the connection
  it("#wine a connection the peer reset: WSAECONNRESET, on every later send",
     function()
    local c, done = reset_conn()
    assert_fail("WSAECONNRESET", 10054, c:send("after"))
    assert_fail("WSAECONNRESET", 10054, c:send("after"))
    done()
  end)

  -- a socket wrapped while connected knows it was: a reset is a reset
  it("#wine a wrapped connected socket the peer reset: WSAECONNRESET",
     function()
    local c, a, done = H.stream_conn("inet")
    local w = assert(wsarecv.wrap(c:fileno(), { dup = true }))
    assert.are.equal(5, c:send("hello"))
    assert.are.same({ n = 3, 0, 1, 0 }, pack(a:WSARecv(wsarecv.buffer(1), 0)))
    a:close()
    local r = pack(c:WSARecv(wsarecv.buffer(16), 0))
    assert_fail("WSAECONNRESET", 10054, table.unpack(r, 1, r.n))
    assert_fail("WSAECONNRESET", 10054, w:send("after"))
    w:close()
    done()
  end)

  it("a peer that has gone never kills the process (no SIGPIPE)", function()
    local c, a, done = H.stream_conn("inet")
    a:close()
    local chunk = ("p"):rep(65536)
    local r
    for _ = 1, 64 do       -- the first sends may be taken; then a failure
      r = pack(c:send(chunk))
      if r[1] == nil then break end
    end
    assert.is_nil(r[1])
    assert.is_true(r[2] == "WSAECONNRESET" or r[2] == "WSAECONNABORTED",
                   tostring(r[2]))
    done()
  end)

  it("a datagram too big: WSAEMSGSIZE, nothing sent", function()
    local rx = wsarecv.socket("inet", "dgram")
    assert.are.equal(0, rx:bind("127.0.0.1", 0))
    local addr, port = rx:getsockname()
    local tx = wsarecv.socket("inet", "dgram")
    assert_fail("WSAEMSGSIZE", 10040, tx:sendto(("b"):rep(70000), addr, port))
    assert.are.equal(0, tx:connect(addr, port))
    assert_fail("WSAEMSGSIZE", 10040, tx:send(("b"):rep(70000)))
    assert.are.equal(4, tx:send("next"))
    local buf = wsarecv.buffer(80000)
    assert.are.same({ n = 3, 0, 4, 0 }, pack(rx:WSARecv(buf, 0)))
    assert.are.equal("next", buf:sub(1, 4))
    rx:close(); tx:close()
  end)
end)
