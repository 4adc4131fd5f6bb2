-- The io_uring engine's own rules: receives in the kernel's hands fill
-- while Lua does anything else (here: LuaSocket's sendto and reading
-- ov.pending, never a wsarecv wait), in posting order; a cancel, a close,
-- a full ring, an error or urgent data take them back without losing or
-- doubling anything, and a buffer the kernel may still write into is never
-- let go.  On the poll engine the same tests check what it does instead
-- (nothing moves until a wait).
local wsarecv = require "wsarecv"
local socket = require "socket"
local H = require "spec.support.helpers"
local P = require "spec.support.processes"

local T = H.tracker()
after_each(function() T.cleanup(function() H.drain(50, true) end) end)

local uring = wsarecv.engine() == "io_uring"

-- A UDP receiver on 127.0.0.1 and a LuaSocket sender aimed at it: the
-- sender is not wsarecv, so sending moves nothing on the poll engine.
local function channel()
  local rx = T.socket("inet", "dgram")
  assert(rx:bind("127.0.0.1", 0) == 0)
  local _, port = rx:getsockname()
  local tx = assert(socket.udp())
  return rx, function(s) assert(tx:sendto(s, "127.0.0.1", port)) end, tx
end

-- Post n receives of `size` bytes each: their objects and buffers.
local function post(rx, n, size)
  local ovs, bufs = {}, {}
  for i = 1, n do
    ovs[i], bufs[i] = wsarecv.overlapped(), wsarecv.buffer(size or 64)
    H.assert_pending(rx:WSARecv(bufs[i], 0, ovs[i]))
  end
  return ovs, bufs
end

-- Spin (no wsarecv call but reading ov.pending) until want objects are
-- done or a second went by: how many are done.
local function spin_done(ovs, want)
  local t0 = os.clock()
  while true do
    local n = 0
    for i = 1, #ovs do if not ovs[i].pending then n = n + 1 end end
    if n >= want or os.clock() - t0 > 1 then return n end
  end
end

describe("#linux the io_uring engine", function()
  it("fills posted receives in posting order with no wsarecv call", function()
    local rx, send = channel()
    local ovs, bufs = post(rx, 8)
    for i = 1, 5 do send("d" .. i) end
    if not uring then
      assert.are.equal(0, spin_done(ovs, 5))
      return
    end
    assert.are.equal(5, spin_done(ovs, 5))
    for i = 1, 5 do
      assert.are.same({ 2, "d" .. i }, { ovs[i].bytes, bufs[i]:sub(1, 2) })
    end
    for i = 6, 8 do assert.is_true(ovs[i].pending) end
  end)

  it("a cancel keeps what the kernel filled first, takes back the rest, "
    .. "and the receives after it go on", function()
    local rx, send = channel()
    local ovs, bufs = post(rx, 4)
    send("a")
    H.progress_until(function() return not ovs[1].pending end)
    -- the filled one: nothing to cancel, its data kept (CancelIoEx's rule)
    local r, name = rx:CancelIoEx(ovs[1])
    assert.are.same({ nil, "ERROR_NOT_FOUND" }, { r, name })
    assert.are.same({ 1, "a" }, { ovs[1].bytes, bufs[1]:sub(1, 1) })
    -- a pending one: aborted, no bytes
    assert.are.equal(0, rx:CancelIoEx(ovs[2]))
    assert.are.equal("WSA_OPERATION_ABORTED", ovs[2].error)
    -- the next datagrams go to 3 and 4, in order, nothing into 2
    send("b")
    send("c")
    H.progress_until(function() return not ovs[4].pending end)
    assert.are.same({ "b", "c" }, { bufs[3]:sub(1, 1), bufs[4]:sub(1, 1) })
    assert.are.equal(0, bufs[2]:byte(1))
  end)

  it("grows a socket's ring past its first size (300 posted, 300 filled "
    .. "in order)", function()
    local rx, send = channel()
    assert(rx:setsockopt("SO_RCVBUF", 1 << 20) == 0)
    local ovs, bufs = post(rx, 300, 16)
    for i = 1, 300 do send(("%05d"):format(i)) end
    if uring then
      assert.are.equal(300, spin_done(ovs, 300))
    else
      H.progress_until(function() return not ovs[300].pending end)
    end
    for i = 1, 300 do
      assert.are.equal(("%05d"):format(i), bufs[i]:sub(1, 5), "receive " .. i)
    end
  end)

  it("a datagram bigger than the buffer fails WSAEMSGSIZE with what fit, "
    .. "and the next receive gets the next datagram", function()
    local rx, send = channel()
    local ovs, bufs = post(rx, 2, 4)
    send("123456")
    send("ab")
    H.progress_until(function() return not ovs[2].pending end)
    assert.are.same({ "WSAEMSGSIZE", 4, "1234" },
      { ovs[1].error, ovs[1].bytes, bufs[1]:sub(1, 4) })
    assert.are.same({ 2, "ab" }, { ovs[2].bytes, bufs[2]:sub(1, 2) })
  end)

  -- (the poll engine misses this one: Linux raises EPOLLERR, then its
  -- recvmsg says EAGAIN, and the receive stays pending; "Linux and
  -- Windows" in the README says so)
  it("an ICMP error fails the receive pending when it comes; the others "
    .. "stay posted and take the next datagrams", function()
    if not uring then
      pending("the poll engine leaves this receive pending (see above)")
      return
    end
    local rx = T.socket("inet", "dgram")
    assert(rx:bind("127.0.0.1", 0) == 0)
    local _, rport = rx:getsockname()
    local dead = H.closed_udp_port("inet", "127.0.0.1")
    assert(rx:connect("127.0.0.1", dead) == 0)
    local ovs, bufs = post(rx, 3)
    assert(rx:send("x"))                      -- port unreachable comes back
    H.progress_until(function() return not ovs[1].pending end)
    assert.are.equal("WSAECONNRESET", ovs[1].error)
    assert.is_true(ovs[2].pending)
    -- reconnect to a live sender: the rest still receive, in order
    local tx = T.socket("inet", "dgram")
    assert(tx:bind("127.0.0.1", 0) == 0)
    local _, tport = tx:getsockname()
    assert(rx:connect("127.0.0.1", tport) == 0)
    assert(tx:sendto("y", "127.0.0.1", rport))
    assert(tx:sendto("z", "127.0.0.1", rport))
    H.progress_until(function() return not ovs[3].pending end)
    assert.are.same({ "y", "z" }, { bufs[2]:sub(1, 1), bufs[3]:sub(1, 1) })
  end)

  it("a stream fills its receives in order as the bytes come, then each "
    .. "gets 0 at the end", function()
    local c, s = H.stream_pair("inet")
    T.track(c)
    T.track(s)
    local ovs, bufs = post(s, 4, 8)
    assert(c:send("one"))
    if uring then assert.are.equal(1, spin_done(ovs, 1)) end
    H.progress_until(function() return not ovs[1].pending end)
    assert(c:send("two"))
    if uring then assert.are.equal(2, spin_done(ovs, 2)) end
    H.progress_until(function() return not ovs[2].pending end)
    assert.are.same({ "one", "two" }, { bufs[1]:sub(1, 3), bufs[2]:sub(1, 3) })
    c:close()
    H.progress_until(function() return not ovs[4].pending end)
    assert.are.same({ 0, 0 }, { ovs[3].bytes, ovs[4].bytes })
  end)

  it("an urgent-data receive takes the stream's receives back: the urgent "
    .. "byte goes to it, the stream to the others in order", function()
    local c, s = H.stream_pair("inet")
    T.track(c)
    T.track(s)
    local ovs, bufs = post(s, 2, 8)
    local oov, obuf = wsarecv.overlapped(), wsarecv.buffer(1)
    H.assert_pending(s:WSARecv(obuf, wsarecv.MSG_OOB, oov))
    assert(c:send("ab"))
    assert(c:send("!", wsarecv.MSG_OOB))
    assert(c:send("cd"))
    H.progress_until(function()
      return not oov.pending and not ovs[2].pending
    end)
    assert.are.same({ 1, "!" }, { oov.bytes, obuf:sub(1, 1) })
    local got = bufs[1]:sub(1, ovs[1].bytes) .. bufs[2]:sub(1, ovs[2].bytes)
    assert.are.equal("abcd", got)
  end)

  -- (found by the API fuzzer: the poll path was never told its turn came)
  it("a receive the ring cannot serve, posted behind the ring's, gets its "
    .. "datagram once they complete", function()
    local rx, send = channel()
    local ovs, bufs = post(rx, 1, 8)
    local pov, pbuf = wsarecv.overlapped(), wsarecv.buffer(4)
    H.assert_pending(rx:WSARecv(pbuf, wsarecv.MSG_PARTIAL, pov))
    send("first")
    send("second")
    H.progress_until(function() return not pov.pending end)
    assert.are.same({ 5, "first" }, { ovs[1].bytes, bufs[1]:sub(1, 5) })
    assert.are.same({ 4, "seco", wsarecv.MSG_PARTIAL },
      { pov.bytes, pbuf:sub(1, 4), pov.flags })
  end)

  -- a TCP peer in another process: reads after `delay` seconds (or never:
  -- delay nil, and it is gone after 3 s), prints how many bytes it got
  local function slow_reader(port, delay)
    local py = ("import socket,time\n" ..
      "s=socket.create_connection(('127.0.0.1',%d))\n" ..
      "time.sleep(%s)\nn=0\n" ..
      "while True:\n d=s.recv(1<<20)\n if not d: break\n n+=len(d)\n" ..
      "print('got',n)\n"):format(port, delay or 30)
    return io.popen(("%stimeout %d python3 -c \"%s\""):format(P.NO_PRELOAD,
      delay and 20 or 3, py), "r")
  end

  -- l's next connection, waited for at most 10 s (a reader that never
  -- started fails the test instead of blocking it)
  local function accept_within(l)
    local t0 = os.time()
    repeat
      local r = socket.select({ { getfd = function() return l:fileno() end } },
        nil, 0.2)
      if #r > 0 then return T.track(assert(l:accept())) end
    until os.time() - t0 > 10
    error("no connection came")
  end

  local function listener()
    local l = T.socket("inet", "stream")
    assert(l:bind("127.0.0.1", 0) == 0)
    assert(l:listen() == 0)
    local _, port = l:getsockname()
    return l, port
  end

  it("a stream send too big for the socket goes on in the kernel while "
    .. "Lua computes", function()
    local l, port = listener()
    local reader = slow_reader(port, 0.2)
    local s = accept_within(l)
    local N = 16 << 20
    local buf = wsarecv.buffer(N)
    buf:fill(0x41)
    local ov = wsarecv.overlapped()
    H.assert_pending(s:WSASend(buf, 0, ov))
    local t0 = os.clock()
    while ov.pending and os.clock() - t0 < 5 do end      -- no wait called
    if uring then
      assert.are.same({ false, N }, { ov.pending, ov.bytes })
    else
      assert.is_true(ov.pending)
      H.progress_until(function() return not ov.pending end, 10)
    end
    assert.are.same({ N, nil }, { ov.bytes, ov.error })
    s:close()
    assert.are.equal("got " .. N, reader:read("l"))
    reader:close()
  end)

  it("a stream send the kernel holds, cancelled: aborted with the bytes "
    .. "that left, once", function()
    local l, port = listener()
    local reader = slow_reader(port, nil)         -- never reads in time
    local s = accept_within(l)
    local N = 16 << 20
    local ov = wsarecv.overlapped()
    H.assert_pending(s:WSASend(wsarecv.buffer(N), 0, ov))
    H.progress_until(function() return false end, 0.2)
    assert.are.equal(0, s:CancelIoEx(ov))
    assert.are.equal("WSA_OPERATION_ABORTED", ov.error)
    assert.is_true(ov.bytes > 0 and ov.bytes < N, tostring(ov.bytes))
    local r, name = s:CancelIoEx(ov)
    assert.are.same({ nil, "ERROR_NOT_FOUND" }, { r, name })
    s:close()
    reader:close()
  end)

  -- (found by the API fuzzer: after the cancel nobody watched the socket)
  it("a cancel that leaves at the head a receive the ring cannot serve: "
    .. "that one gets the next datagram", function()
    local rx, send = channel()
    local ovs = post(rx, 1, 8)
    local pov, pbuf = wsarecv.overlapped(), wsarecv.buffer(4)
    H.assert_pending(rx:WSARecv(pbuf, wsarecv.MSG_PARTIAL, pov))
    H.progress_until(function() return false end, 0.05)
    assert.are.equal(0, rx:CancelIoEx(ovs[1]))
    H.progress_until(function() return false end, 0.05)
    send("abcdef")
    H.progress_until(function() return not pov.pending end)
    assert.are.same({ 4, "abcd" }, { pov.bytes, pbuf:sub(1, 4) })
  end)

  it("close takes every receive back, aborted, once", function()
    local rx, send = channel()
    local ovs = post(rx, 3)
    send("x")
    H.progress_until(function() return not ovs[1].pending end)
    rx:close()
    assert.are.same({ 1, "WSA_OPERATION_ABORTED", "WSA_OPERATION_ABORTED" },
      { ovs[1].bytes, ovs[2].error, ovs[3].error })
  end)

  it("the state closing with large buffers in the kernel's hands while "
    .. "datagrams arrive: nothing written after they are freed", function()
    local out = H.run_child([[
      local w = require "wsarecv"
      local socket = require "socket"
      local rx = w.socket("inet", "dgram")
      assert(rx:bind("127.0.0.1", 0) == 0)
      local _, port = rx:getsockname()
      local tx = socket.udp()
      for i = 1, 8 do
        assert(rx:WSARecv(w.buffer(100000 + i), 0, w.overlapped()) == nil)
      end
      for i = 1, 4 do tx:sendto("early" .. i, "127.0.0.1", port) end
      -- a sender that goes on while the state closes
      local pid = io.popen("env -u LD_PRELOAD python3 -c \"import socket\n" ..
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" ..
        "for i in range(20000): s.sendto(b'x'*1000,('127.0.0.1'," ..
        port .. "))\" 2>/dev/null & echo $!"):read("l")
      print("engine " .. w.engine())
      os.exit(0, true)                 -- close the state: every __gc runs
    ]], 20)
    H.assert_no_crash(out)
    assert.matches("engine " .. wsarecv.engine(), out)
  end)
end)
