-- Overlapped sends (the WSASend, WSASendTo and WSASendMsg pages; Windows'
-- answers as Wine's ws2_32 tests record them): the three ways a send
-- completes, also when done at once, the nonoverlapped call, what data a
-- send takes, posting order on a stream and on a datagram socket, cancel
-- and close with sends pending, the failures the pages name, and
-- WSASendMsg's destination and control messages.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pack, assert_pending, assert_fail = H.pack, H.assert_pending, H.assert_fail
local recorder, wait_for = H.recorder, H.wait_for
local settle = H.settle

local T = H.tracker()
after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

local MiB = 1024 * 1024

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

-- A connected TCP pair, tracked: client, accepted side.  opts.sndbuf
-- (the client's SO_SNDBUF) and opts.rcvbuf (the accepted side's
-- SO_RCVBUF, set on the listener before listen) keep what the kernel
-- buffers small, so that big sends wait; the accepted side's receives time
-- out after 3 s instead of hanging.
local function tcp(opts, family)
  opts = opts or {}
  family = family or "inet"
  local addr = family == "inet" and "127.0.0.1" or "::1"
  local l = T.socket(family, "stream")
  if opts.rcvbuf then assert(l:setsockopt("SO_RCVBUF", opts.rcvbuf) == 0) end
  assert.equal(0, l:bind(addr, 0))
  assert.equal(0, l:listen())
  local _, port = l:getsockname()
  local c = T.socket(family, "stream")
  if opts.sndbuf then assert(c:setsockopt("SO_SNDBUF", opts.sndbuf) == 0) end
  assert.equal(0, c:connect(addr, port))
  local a = T.track(assert(l:accept()))
  assert(a:setsockopt("SO_RCVTIMEO", 3000) == 0)
  return c, a
end

-- A UDP receiver (SO_RCVTIMEO 3 s) and a bound sender on addr, tracked.
local function udp(family, addr)
  family = family or "inet"
  return H.udp(family, addr or (family == "inet" and "127.0.0.1" or "::1"),
    { socket = T.socket, rcvtimeo = 3000 })
end

-- One datagram received on rx (nonoverlapped): its text, or nil, err.
local function recv_dgram(rx, size)
  local buf = wsarecv.buffer(size or 2048)
  local r, n = rx:WSARecv(buf)
  if r ~= 0 then return nil, n end
  return buf:sub(1, n)
end

-- Read from a stream socket until `want` bytes came, the peer closed or
-- a receive failed (3 s without data); the text read.
local function read_stream(a, want)
  local buf, parts, got = wsarecv.buffer(256 * 1024), {}, 0
  while got < (want or math.huge) do
    local r, n = a:WSARecv(buf)
    if r ~= 0 or n == 0 then break end
    parts[#parts + 1] = buf:sub(1, n)
    got = got + n
    wsarecv.SleepEx(0, true)          -- routines of the sender may run
  end
  return table.concat(parts)
end

-- Bytes readable without waiting on a: read until the receive would block.
local function drain_count(a)
  local buf, got = wsarecv.buffer(256 * 1024), 0
  assert.equal(0, a:setsockopt("FIONBIO", true))
  for _ = 1, 100000 do
    local r, n = a:WSARecv(buf)
    if r ~= 0 or n == 0 then break end
    got = got + n
  end
  assert.equal(0, a:setsockopt("FIONBIO", false))
  return got
end

-- Results of a posted send that may complete at once or later: both are
-- right (Windows completes a small send at once, a deferred one is
-- pending); returns true when it was done at once with `bytes`.
local function assert_posted(bytes, ...)
  local r = pack(...)
  if r[1] == 0 then
    assert.same({ 0, bytes, 0, n = 3 }, r)
    return true
  end
  assert.same(H.PENDING, r)
  return false
end

-- A string of n bytes in 16-byte records (tag, record number), so that a
-- piece out of place is seen.
local function pattern(n, tag)
  local recs = {}
  for i = 1, (n + 15) // 16 do recs[i] = ("%s%014d|"):format(tag, i) end
  return table.concat(recs):sub(1, n)
end

---------------------------------------------------------------------------
-- the ways a send completes
---------------------------------------------------------------------------

describe("WSASend completes the Windows way", function()
  it("nonoverlapped: 0, bytes, 0; the peer has the data", function()
    local c, a = tcp()
    assert.same({ 0, 5, 0, n = 3 }, pack(c:WSASend("hello")))
    assert.equal("hello", read_stream(a, 5))
  end)

  it("a routine, done at once: 0, bytes, 0, then the routine runs once "
    .. "with (nil, bytes, ov, 0) in an alertable wait", function()
    local c, a = tcp()
    local rec, ov = recorder(), wsarecv.overlapped()
    assert.same({ 0, 4, 0, n = 3 }, pack(c:WSASend("ping", 0, ov, rec.fn)))
    assert.equal(0, rec.calls)
    assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(100, true))
    assert.equal(1, rec.calls)
    assert.same({ err = nil, bytes = 4, ov = ov, flags = 0 }, rec[1])
    settle(20)
    assert.equal(1, rec.calls)
    assert.equal("ping", read_stream(a, 4))
  end)

  it("a routine without an ov gets a fresh object", function()
    local c, a = tcp()
    local rec = recorder()
    assert.same({ 0, 3, 0, n = 3 }, pack(c:WSASend("abc", 0, nil, rec.fn)))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.is_truthy(tostring(rec[1].ov):find("wsarecv.overlapped", 1, true))
    assert.equal(3, rec[1].ov.bytes)
    assert.equal("abc", read_stream(a, 3))
  end)

  it("an event object, done at once: signalled; WSAGetOverlappedResult "
    .. "and WSAWaitForMultipleEvents see it", function()
    local c, a = tcp()
    local ov = wsarecv.overlapped()
    assert.same({ 0, 6, 0, n = 3 }, pack(c:WSASend("event!", 0, ov)))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 0, false))
    assert.is_false(ov.pending)
    assert.same({ 6, 0, n = 2 }, pack(c:WSAGetOverlappedResult(ov)))
    assert.equal("event!", read_stream(a, 6))
  end)

  it("an event object, pending: WSA_IO_INCOMPLETE, then the full size",
    function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local data = pattern(4 * MiB, "E")
    local ov = wsarecv.overlapped()
    assert_pending(c:WSASend(data, 0, ov))
    assert.is_true(ov.pending)
    assert_fail("WSA_IO_INCOMPLETE", 996, c:WSAGetOverlappedResult(ov))
    assert.equal("WSA_WAIT_TIMEOUT",
      wsarecv.WSAWaitForMultipleEvents({ ov }, false, 20, false))
    local got = read_stream(a, #data)
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 3000,
      false))
    assert.same({ #data, 0, n = 2 }, pack(c:WSAGetOverlappedResult(ov, true)))
    assert.is_true(got == data, "the stream differs from what was sent")
  end)

  it("a completion port: the entry carries the socket's key, also for a "
    .. "send done at once", function()
    local c, a = tcp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(c, port, "ckey"))
    local ov = wsarecv.overlapped()
    assert_posted(4, c:WSASend("port", 0, ov))
    assert.same({ 4, "ckey", ov, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
      pack(port:GetQueuedCompletionStatus(20)))
    assert.equal("port", read_stream(a, 4))
    port:close()
  end)

  it("a routine on a socket of a completion port: WSAEINVAL, nothing sent",
    function()
    local ch = udp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, 1))
    local rec = recorder()
    assert_fail("WSAEINVAL", 10022, ch.tx:WSASendTo("no", 0, ch.addr, ch.port,
      wsarecv.overlapped(), rec.fn))
    assert_fail("WSAEINVAL", 10022, ch.tx:WSASendTo("no", 0, ch.addr, ch.port,
      nil, rec.fn))
    settle(30)
    assert.equal(0, rec.calls)
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
      pack(port:GetQueuedCompletionStatus(20)))
    assert.equal(0, ch.rx:setsockopt("FIONBIO", true))
    assert_fail("WSAEWOULDBLOCK", 10035, ch.rx:WSARecv(wsarecv.buffer(8)))
    port:close()
  end)

  it("an ov that is busy (a receive pending on it): WSAEINVAL", function()
    local ch = udp()
    local ov = wsarecv.overlapped()
    assert_pending(ch.rx:WSARecv(wsarecv.buffer(8), 0, ov))
    assert_fail("WSAEINVAL", 10022, ch.tx:WSASendTo("x", 0, ch.addr, ch.port, ov))
    assert_fail("WSAEINVAL", 10022, ch.tx:WSASendTo("x", 0, ch.addr, ch.port, ov,
      function() end))
    assert.is_true(ov.pending)
    assert.equal(0, ch.rx:CancelIoEx(ov))
  end)

  it("takes a string, a buffer, and arrays of buffers and slices", function()
    local c, a = tcp()
    local b1, b2 = wsarecv.buffer("0123456789"), wsarecv.buffer("abcdef")
    assert.same({ 0, 3, 0, n = 3 }, pack(c:WSASend("str")))
    assert.same({ 0, 10, 0, n = 3 }, pack(c:WSASend(b1)))
    assert.same({ 0, 4, 0, n = 3 }, pack(c:WSASend({ { b1, 2, 4 } })))
    assert.same({ 0, 9, 0, n = 3 }, pack(c:WSASend({ b2, { b1, 7 } })))
    local ov = wsarecv.overlapped()
    assert.same({ 0, 8, 0, n = 3 },
      pack(c:WSASend({ { b2, 0, 2 }, b2 }, 0, ov)))
    assert.same({ 0, 0, 0, n = 3 }, pack(c:WSASend({})))
    assert.equal("str0123456789" .. "2345" .. "abcdef789" .. "ababcdef",
      read_stream(a, 34))
  end)

  it("a datagram is all or nothing: several buffers make one datagram",
    function()
    local ch = udp()
    local b = wsarecv.buffer("middle")
    assert.same({ 0, 15, 0, n = 3 },
      pack(ch.tx:WSASendTo({ wsarecv.buffer("head-"), b, { b, 0, 4 } }, 0,
        ch.addr, ch.port)))
    assert.equal("head-middlemidd", recv_dgram(ch.rx))
    local rec = recorder()
    assert_posted(6, ch.tx:WSASendTo({ b, { b, 0, 0 } }, 0, ch.addr, ch.port,
      wsarecv.overlapped(), rec.fn))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.is_nil(rec[1].err)
    assert.equal(6, rec[1].bytes)
    assert.equal("middle", recv_dgram(ch.rx))
  end)
end)

---------------------------------------------------------------------------
-- posting order
---------------------------------------------------------------------------

describe("sends posted on one socket", function()
  it("8 x 1 MiB on TCP to a slow reader: in posting order, never "
    .. "interleaved, each completion the full size", function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local rec, data = recorder(), {}
    for i = 1, 8 do
      data[i] = pattern(MiB, string.char(64 + i))
      local ov = wsarecv.overlapped()
      ov.context = i
      assert_posted(MiB, c:WSASend(data[i], 0, ov, rec.fn))
    end
    local got = read_stream(a, 8 * MiB)
    assert.is_true(wait_for(function() return rec.calls == 8 end))
    settle(20)
    assert.equal(8, rec.calls)
    for i = 1, 8 do
      assert.equal(i, rec[i].ov.context)
      assert.is_nil(rec[i].err)
      assert.equal(MiB, rec[i].bytes)
    end
    assert.equal(8 * MiB, #got)
    for i = 1, 8 do
      assert.is_true(got:sub((i - 1) * MiB + 1, i * MiB) == data[i],
        "send " .. i .. " arrived out of place")
    end
  end)

  it("a nonblocking send behind a waiting posted one: WSAEWOULDBLOCK, "
    .. "none of it in the stream", function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local first, rec = pattern(2 * MiB, "F"), recorder()
    assert_posted(#first, c:WSASend(first, 0, nil, rec.fn))
    assert.equal(0, c:setsockopt("FIONBIO", true))
    assert_fail("WSAEWOULDBLOCK", 10035, c:WSASend("nope"))
    local ov2 = wsarecv.overlapped()
    assert_posted(4, c:WSASend("tail", 0, ov2))
    local got = read_stream(a, #first + 4)
    assert.is_true(got == first .. "tail", "the stream differs")
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.equal(#first, rec[1].bytes)
    assert.same({ 4, 0, n = 2 }, pack(c:WSAGetOverlappedResult(ov2, true)))
  end)

  it("a nonblocking sock:send behind a waiting posted send goes after it "
    .. "or not at all, never inside", function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local first, rec = pattern(2 * MiB, "S"), recorder()
    assert_posted(#first, c:WSASend(first, 0, nil, rec.fn))
    -- room in the kernel, the posted send not moved on yet
    local buf = wsarecv.buffer(65536)
    local r, n = a:WSARecv(buf)
    assert.equal(0, r)
    local head = buf:sub(1, n)
    assert.equal(0, c:setsockopt("FIONBIO", true))
    local sent = pack(c:send("XYZW"))
    local want = first
    if sent[1] == 4 then want = first .. "XYZW"
    else assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 }, sent) end
    local got = head .. read_stream(a, #want - n)
    assert.is_true(got == want, "the stream differs: XYZW at "
      .. tostring(got:find("XYZW", 1, true)))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
  end)

  it("datagrams posted from routines go once each, in order, with their "
    .. "own sizes", function()
    local ch = udp()
    local sizes, rec = {}, recorder()
    local n = 40
    local function first(err)
      assert(err == nil)
      for i = 1, n do
        sizes[i] = 10 + i
        local ov = wsarecv.overlapped()
        ov.context = i
        ch.tx:WSASendTo(("%03d"):format(i):rep(20):sub(1, sizes[i]), 0,
          ch.addr, ch.port, ov, rec.fn)
      end
    end
    assert_posted(5, ch.tx:WSASendTo("start", 0, ch.addr, ch.port,
      wsarecv.overlapped(), first))
    assert.is_true(wait_for(function() return rec.calls == n end))
    settle(20)
    assert.equal(n, rec.calls)
    for i = 1, n do
      assert.equal(i, rec[i].ov.context)
      assert.is_nil(rec[i].err)
      assert.equal(sizes[i], rec[i].bytes)
    end
    assert.equal("start", recv_dgram(ch.rx))
    for i = 1, n do
      assert.equal(("%03d"):format(i):rep(20):sub(1, sizes[i]),
        recv_dgram(ch.rx))
    end
    assert.equal(0, ch.rx:setsockopt("FIONBIO", true))
    assert_fail("WSAEWOULDBLOCK", 10035, ch.rx:WSARecv(wsarecv.buffer(64)))
  end)

  it("datagrams posted on a port's socket go once each, in order; each "
    .. "entry has its bytes and the key", function()
    local ch = udp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, "tx"))
    local ovs, n = {}, 50
    for i = 1, n do
      ovs[i] = wsarecv.overlapped()
      assert_posted(i, ch.tx:WSASendTo(("x"):rep(i), 0, ch.addr, ch.port,
        ovs[i]))
    end
    local e, got = {}, {}
    for i = 1, 16 do e[i] = {} end
    for _ = 1, 100 do
      if #got >= n then break end
      local k = port:GetQueuedCompletionStatusEx(e, 20)
      for i = 1, k or 0 do
        got[#got + 1] = { e[i].bytes, e[i].key, e[i].ov, e[i].error }
      end
    end
    assert.equal(n, #got)
    for i = 1, n do assert.same({ i, "tx", ovs[i], nil }, got[i]) end
    for i = 1, n do assert.equal(("x"):rep(i), recv_dgram(ch.rx)) end
    assert.equal(0, ch.rx:setsockopt("FIONBIO", true))
    assert_fail("WSAEWOULDBLOCK", 10035, ch.rx:WSARecv(wsarecv.buffer(64)))
    port:close()
  end)

  -- Linux sends a run of equal datagrams to one place as one UDP GSO send:
  -- the kernel must cut it at each operation's boundary
  for _, family in ipairs({ "inet", "inet6" }) do
    it(family .. ": runs of equal-size datagrams posted on a port's socket "
      .. "arrive one by one, intact, in order, each entry with its bytes",
      function()
        local ch = udp(family)
        local port = wsarecv.CreateIoCompletionPort()
        assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, "tx"))
        -- 3 runs of 20 equal datagrams (100, 7, 1200 bytes), a lone 33
        -- between the first two, each with its own number in it
        local sizes = {}
        for _ = 1, 20 do sizes[#sizes + 1] = 100 end
        sizes[#sizes + 1] = 33
        for _ = 1, 20 do sizes[#sizes + 1] = 7 end
        for _ = 1, 20 do sizes[#sizes + 1] = 1200 end
        local function payload(i)
          return (("%05d."):format(i)):rep(300):sub(1, sizes[i])
        end
        local ovs = {}
        for i = 1, #sizes do
          ovs[i] = wsarecv.overlapped()
          -- on a port's socket a send is queued until the port's wait
          assert_posted(sizes[i], ch.tx:WSASendTo(payload(i), 0, ch.addr,
            ch.port, ovs[i]))
        end
        local e, got = {}, {}
        for i = 1, 64 do e[i] = {} end
        for _ = 1, 100 do
          if #got >= #sizes then break end
          local k = port:GetQueuedCompletionStatusEx(e, 20)
          for i = 1, k or 0 do got[#got + 1] = { e[i].bytes, e[i].ov } end
        end
        assert.equal(#sizes, #got)
        for i = 1, #sizes do assert.same({ sizes[i], ovs[i] }, got[i]) end
        for i = 1, #sizes do assert.equal(payload(i), recv_dgram(ch.rx)) end
        assert.equal(0, ch.rx:setsockopt("FIONBIO", true))
        assert_fail("WSAEWOULDBLOCK", 10035,
          ch.rx:WSARecv(wsarecv.buffer(64)))
        port:close()
      end)
  end

  -- in a child: a send that lost part of its buffers could spin for ever
  it("ov.rearm on a stream send taken in parts: each repost sends the "
    .. "whole data again", function()
    local out, how, rc = H.run_child([[
local wsarecv = require "wsarecv"
local l = wsarecv.socket("inet", "stream")
assert(l:setsockopt("SO_RCVBUF", 65536) == 0)
assert(l:bind("127.0.0.1", 0) == 0 and l:listen() == 0)
local _, lport = l:getsockname()
local c = wsarecv.socket("inet", "stream")
assert(c:setsockopt("SO_SNDBUF", 65536) == 0)
assert(c:connect("127.0.0.1", lport) == 0)
local a = l:accept()
assert(a:setsockopt("SO_RCVTIMEO", 3000) == 0)
local port = wsarecv.CreateIoCompletionPort()
assert(wsarecv.CreateIoCompletionPort(c, port, "c") == port)
local recs = {}
for i = 1, 65536 do recs[i] = ("R%014d|"):format(i) end
local data = table.concat(recs)
local ov = wsarecv.overlapped()
ov.rearm = true
c:WSASend(data, 0, ov)
local buf, parts, got, entries = wsarecv.buffer(65536), {}, 0, 0
for _ = 1, 20000 do
  if got >= 3 * #data then break end
  local n, key = port:GetQueuedCompletionStatus(0)
  if n then
    assert(n == #data and key == "c", "entry " .. tostring(n))
    entries = entries + 1
    if entries == 3 then ov.rearm = false end
  end
  local r, k = a:WSARecv(buf)
  if r ~= 0 or k == 0 then break end
  parts[#parts + 1] = buf:sub(1, k)
  got = got + k
end
local stream = table.concat(parts)
local same = 0
for i = 1, 3 do
  if stream:sub((i - 1) * #data + 1, i * #data) == data then
    same = same + 1
  end
end
print("received", #stream, "whole copies", same)
]], 30)
    H.assert_exit(out, how, rc, 0)
    assert.is_truthy(out:find("received\t3145728\twhole copies\t3", 1, true),
      out)
  end)

  it("a port's socket: a nonoverlapped send goes after the posted ones",
    function()
    local ch = udp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, 0))
    for i = 1, 3 do
      assert_posted(2, ch.tx:WSASendTo("p" .. i, 0, ch.addr, ch.port,
        wsarecv.overlapped()))
    end
    assert.same({ 0, 2, 0, n = 3 }, pack(ch.tx:WSASendTo("n4", 0, ch.addr,
      ch.port)))
    assert_posted(2, ch.tx:WSASendTo("p5", 0, ch.addr, ch.port,
      wsarecv.overlapped()))
    for _, want in ipairs { "p1", "p2", "p3", "n4", "p5" } do
      assert.equal(want, recv_dgram(ch.rx))
    end
    local e = {}
    for i = 1, 8 do e[i] = {} end
    local total = 0
    for _ = 1, 50 do
      if total >= 4 then break end
      total = total + (port:GetQueuedCompletionStatusEx(e, 20) or 0)
    end
    assert.equal(4, total)
    port:close()
  end)
end)

---------------------------------------------------------------------------
-- cancel and close
---------------------------------------------------------------------------

describe("sends ended early", function()
  -- Post n sends of `size` bytes with rec.fn on c, ov.context = i; wait
  -- until the kernel took what it could of the first.
  local function post_sends(c, n, size, rec)
    local data, ovs = {}, {}
    for i = 1, n do
      data[i] = pattern(size, string.char(96 + i))
      ovs[i] = wsarecv.overlapped()
      ovs[i].context = i
      assert_pending(c:WSASend(data[i], 0, ovs[i], rec.fn))
    end
    settle(50)
    assert.equal(0, rec.calls)
    return data, ovs
  end

  -- rec's calls by ov.context
  local function by_context(rec)
    local t = {}
    for i = 1, rec.calls do
      local r = rec[i]
      assert.is_nil(t[r.ov.context], "a second completion")
      t[r.ov.context] = { r.err, r.bytes }
    end
    return t
  end

  it("CancelIoEx(ov) on a waiting send: WSA_OPERATION_ABORTED once, 0 "
    .. "bytes; the sends around it arrive whole", function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local rec = recorder()
    local data, ovs = post_sends(c, 3, 2 * MiB, rec)
    assert.same({ 0, n = 1 }, pack(c:CancelIoEx(ovs[2])))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(c:CancelIoEx(ovs[2])))
    local got = read_stream(a, 4 * MiB)
    assert.is_true(wait_for(function() return rec.calls == 3 end))
    settle(20)
    assert.same({ { nil, 2 * MiB }, { "WSA_OPERATION_ABORTED", 0 },
      { nil, 2 * MiB } }, by_context(rec))
    assert.is_true(got == data[1] .. data[3], "the stream differs")
  end)

  it("CancelIoEx() with a send partly sent: it says how much left, the "
    .. "peer has exactly that", function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local rec = recorder()
    local data = post_sends(c, 2, 4 * MiB, rec)
    assert.same({ 0, n = 1 }, pack(c:CancelIoEx()))
    assert.is_true(wait_for(function() return rec.calls == 2 end))
    settle(20)
    local t = by_context(rec)
    assert.same({ "WSA_OPERATION_ABORTED", 0 }, t[2])
    assert.equal("WSA_OPERATION_ABORTED", t[1][1])
    local left = t[1][2]
    assert.is_true(left > 0 and left < 4 * MiB, "partly sent: " .. left)
    local got = read_stream(a, left)
    assert.equal(left, #got)
    assert.is_true(got == data[1]:sub(1, left), "the stream differs")
    assert.equal(0, drain_count(a))
  end)

  it("close with sends pending: each aborted once; the first says how "
    .. "much left, the peer has exactly that", function()
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local rec = recorder()
    local data = post_sends(c, 3, 4 * MiB, rec)
    c:close()
    assert.is_true(wait_for(function() return rec.calls == 3 end))
    settle(30)
    assert.equal(3, rec.calls)
    local t = by_context(rec)
    assert.same({ "WSA_OPERATION_ABORTED", 0 }, t[2])
    assert.same({ "WSA_OPERATION_ABORTED", 0 }, t[3])
    assert.equal("WSA_OPERATION_ABORTED", t[1][1])
    local left = t[1][2]
    local got = read_stream(a)                    -- to the end
    assert.equal(left, #got)
    assert.is_true(got == data[1]:sub(1, left), "the stream differs")
  end)

  it("close with datagram sends posted on a port's socket: each ends "
    .. "once, sent or aborted, and the peer has the sent ones", function()
    local ch = udp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, 7))
    for i = 1, 5 do
      assert_posted(2, ch.tx:WSASendTo("d" .. i, 0, ch.addr, ch.port,
        wsarecv.overlapped()))
    end
    ch.tx:close()
    local e, ok, aborted = {}, 0, 0
    for i = 1, 8 do e[i] = {} end
    for _ = 1, 30 do
      local k = port:GetQueuedCompletionStatusEx(e, 10)
      for i = 1, k or 0 do
        if e[i].error == nil then ok = ok + 1
        else
          assert.equal("WSA_OPERATION_ABORTED", e[i].error)
          aborted = aborted + 1
        end
      end
    end
    assert.equal(5, ok + aborted)
    for i = 1, ok do assert.equal("d" .. i, recv_dgram(ch.rx)) end
    assert.equal(0, ch.rx:setsockopt("FIONBIO", true))
    assert_fail("WSAEWOULDBLOCK", 10035, ch.rx:WSARecv(wsarecv.buffer(8)))
    port:close()
  end)
end)

---------------------------------------------------------------------------
-- flags and failures
---------------------------------------------------------------------------

describe("a send's flags and failures", function()
  it("MSG_OOB on a stream: the receiver gets the urgent byte apart",
    function()
    local c, a = tcp()
    assert.same({ 0, 2, 0, n = 3 }, pack(c:WSASend("ab")))
    local rec = recorder()
    assert_posted(1, c:WSASend("!", wsarecv.MSG_OOB, wsarecv.overlapped(),
      rec.fn))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.same({ nil, 1 }, { rec[1].err, rec[1].bytes })
    local ob = wsarecv.buffer(4)
    settle(20)
    local r = pack(a:WSARecv(ob, wsarecv.MSG_OOB))
    assert.equal(0, r[1])
    assert.equal(1, r[2])
    assert.equal("!", ob:sub(1, 1))
    assert.equal("ab", read_stream(a, 2))
  end)

  it("MSG_OOB on a datagram socket: WSAEOPNOTSUPP", function()
    local ch = udp()
    assert_fail("WSAEOPNOTSUPP", 10045,
      ch.tx:WSASendTo("x", wsarecv.MSG_OOB, ch.addr, ch.port))
  end)

  for _, case in ipairs { { "inet", "127.0.0.1", 65507 },
                          { "inet6", "::1", 65527 } } do
    local family, addr, max = case[1], case[2], case[3]
    it(("WSAEMSGSIZE over %s beyond %d bytes: at the call, nothing sent, no "
      .. "completion; %d itself goes"):format(family, max, max), function()
      local ch = udp(family, addr)
      local big = ("z"):rep(max + 1)
      assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
        pack(ch.tx:WSASendTo(big, 0, addr, ch.port)))
      local rec, ov = recorder(), wsarecv.overlapped()
      assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
        pack(ch.tx:WSASendTo(big, 0, addr, ch.port, ov, rec.fn)))
      assert.is_false(ov.pending)
      local ev = wsarecv.overlapped()
      assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
        pack(ch.tx:WSASendTo(big, 0, addr, ch.port, ev)))
      settle(30)
      assert.equal(0, rec.calls)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ev }, false, 0, false))
      assert.same({ 0, max, 0, n = 3 },
        pack(ch.tx:WSASendTo(big:sub(2), 0, addr, ch.port)))
      assert.equal(max, #recv_dgram(ch.rx, 65536))
      assert.equal(0, ch.rx:setsockopt("FIONBIO", true))
      assert_fail("WSAEWOULDBLOCK", 10035, ch.rx:WSARecv(wsarecv.buffer(8)))
    end)
  end

  it("WSAEMSGSIZE on a port's socket, among batched sends: at the call, "
    .. "no entry, the others go", function()
    local ch = udp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, "k"))
    local ov1, ov2, ov3 = wsarecv.overlapped(), wsarecv.overlapped(),
      wsarecv.overlapped()
    assert_posted(3, ch.tx:WSASendTo("one", 0, ch.addr, ch.port, ov1))
    assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
      pack(ch.tx:WSASendTo(("z"):rep(70000), 0, ch.addr, ch.port, ov2)))
    assert_posted(3, ch.tx:WSASendTo("two", 0, ch.addr, ch.port, ov3))
    assert.same({ 3, "k", ov1, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
    assert.same({ 3, "k", ov3, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
      pack(port:GetQueuedCompletionStatus(30)))
    assert.equal("one", recv_dgram(ch.rx))
    assert.equal("two", recv_dgram(ch.rx))
    port:close()
  end)

  it("WSAEMSGSIZE beyond 65507 bytes from a dual-stack socket to a mapped "
    .. "IPv4 address, at the call also on a port's socket", function()
    local ch = udp()
    local tx = T.socket("inet6", "dgram")
    assert.equal(0, tx:setsockopt("IPV6_V6ONLY", false))
    local to = "::ffff:127.0.0.1"
    local big = ("m"):rep(65508)
    assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
      pack(tx:WSASendTo(big, 0, to, ch.port)))
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(tx, port, 1))
    local ov = wsarecv.overlapped()
    assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
      pack(tx:WSASendTo(big, 0, to, ch.port, ov)))
    local m = wsarecv.msg { buffers = wsarecv.buffer(big), to = { to, ch.port } }
    assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
      pack(tx:WSASendMsg(m, 0, wsarecv.overlapped())))
    assert.equal(0, tx:connect(to, ch.port))
    assert.same({ nil, "WSAEMSGSIZE", 10040, n = 3 },
      pack(tx:WSASend(big, 0, wsarecv.overlapped())))
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
      pack(port:GetQueuedCompletionStatus(50)))
    assert_posted(65507, tx:WSASend(big:sub(2), 0, ov))
    assert.same({ 65507, 1, ov, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
    assert.equal(65507, #recv_dgram(ch.rx, 65536))
    port:close()
  end)

  it("WSAENOTCONN on a TCP socket never connected (send too)", function()
    local s = T.socket("inet", "stream")
    assert.same({ nil, "WSAENOTCONN", 10057, n = 3 }, pack(s:WSASend("x")))
    assert.same({ nil, "WSAENOTCONN", 10057, n = 3 },
      pack(s:WSASend("x", 0, wsarecv.overlapped())))
    assert.same({ nil, "WSAENOTCONN", 10057, n = 3 },
      pack(s:WSASend("x", 0, nil, function() end)))
    assert.same({ nil, "WSAENOTCONN", 10057, n = 3 }, pack(s:send("x")))
  end)

  it("WSAESHUTDOWN after shutdown('send')", function()
    local c, a = tcp()
    assert.equal(0, c:shutdown("send"))
    assert.same({ nil, "WSAESHUTDOWN", 10058, n = 3 }, pack(c:WSASend("x")))
    assert.same({ nil, "WSAESHUTDOWN", 10058, n = 3 },
      pack(c:WSASend("x", 0, wsarecv.overlapped())))
    assert.same({ nil, "WSAESHUTDOWN", 10058, n = 3 }, pack(c:send("x")))
    assert.equal("", read_stream(a))
  end)

  it("shutdown('send') on an unconnected UDP socket succeeds", function()
    local u = T.socket("inet", "dgram")
    assert.equal(0, u:shutdown("send"))
  end)

  it("WSAECONNRESET after the peer reset the connection (send too)",
    function()
    local c, a = tcp()
    assert.same({ 0, 6, 0, n = 3 }, pack(c:WSASend("unread")))
    settle(20)
    a:close()                -- unread data: the close resets
    settle(20)
    local r
    for _ = 1, 5 do          -- (the first may still be taken)
      r = pack(c:WSASend("x"))
      if r[1] == nil then break end
      settle(10)
    end
    assert.same({ nil, "WSAECONNRESET", 10054, n = 3 }, r)
    assert.same({ nil, "WSAECONNRESET", 10054, n = 3 },
      pack(c:WSASend("x", 0, wsarecv.overlapped())))
    assert.same({ nil, "WSAECONNRESET", 10054, n = 3 }, pack(c:send("x")))
  end)

  it("sends to a peer that has gone do not kill the process (no SIGPIPE)",
    function()
    local out, how, rc = H.run_child([[
local wsarecv = require "wsarecv"
local l = wsarecv.socket("inet", "stream")
assert(l:bind("127.0.0.1", 0) == 0 and l:listen() == 0)
local _, port = l:getsockname()
local c = wsarecv.socket("inet", "stream")
assert(c:connect("127.0.0.1", port) == 0)
local a = l:accept()
a:close()
wsarecv.SleepEx(20)
local seen = {}
for i = 1, 20 do
  local r, name = c:WSASend("data")
  if not r then seen[name] = true end
  local r2, name2 = c:WSASend("data", 0, wsarecv.overlapped())
  if not r2 then seen[name2] = true end
  c:send("data")
  wsarecv.SleepEx(1, true)
end
print("alive", seen.WSAECONNRESET or seen.WSAECONNABORTED or false)
]], 20)
    H.assert_exit(out, how, rc, 0)
    assert.is_truthy(out:find("alive\ttrue", 1, true), out)
  end)
end)

---------------------------------------------------------------------------
-- WSASendMsg
---------------------------------------------------------------------------

describe("WSASendMsg", function()
  -- a msg receiving up to 64 bytes with room for control messages
  local function rmsg()
    local buf = wsarecv.buffer(64)
    return wsarecv.msg { buffers = buf, control = 256 }, buf
  end

  it("msg.to is the destination, as a constructor field or assigned",
    function()
    local ch = udp()
    local m = wsarecv.msg { buffers = wsarecv.buffer("first"),
      to = { ch.addr, ch.port } }
    assert.same({ ch.addr, ch.port }, m.to)
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    assert.equal("first", recv_dgram(ch.rx))
    local m2 = wsarecv.msg { buffers = { wsarecv.buffer("sec"),
      wsarecv.buffer("ond") } }
    m2.to = { ch.addr, ch.port }
    local rec = recorder()
    assert_posted(6, ch.tx:WSASendMsg(m2, 0, wsarecv.overlapped(), rec.fn))
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.same({ nil, 6 }, { rec[1].err, rec[1].bytes })
    assert.equal("second", recv_dgram(ch.rx))
  end)

  it("without msg.to: the connected peer", function()
    local ch = udp()
    assert.equal(0, ch.tx:connect(ch.addr, ch.port))
    local m = wsarecv.msg { buffers = wsarecv.buffer("peer") }
    assert.same({ 0, 4, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    assert.equal("peer", recv_dgram(ch.rx))
  end)

  -- #wine: Wine's WSASendMsg sends without the control messages (Windows
  -- takes the source from ipi_addr)
  it("#wine IP_PKTINFO's addr selects the source address", function()
    local ch = udp("inet", "0.0.0.0")
    local m = wsarecv.msg { buffers = wsarecv.buffer("from .2"),
      to = { "127.0.0.1", ch.port },
      control = { { level = "IPPROTO_IP", type = "IP_PKTINFO",
                    addr = "127.0.0.2" } } }
    assert.same({ 0, 7, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    local r, buf = rmsg()
    assert.same({ 0, 7, 0, n = 3 }, pack(ch.rx:WSARecvMsg(r)))
    assert.equal("from .2", buf:sub(1, 7))
    assert.same({ "127.0.0.2", ch.txport }, { r:name() })
  end)

  it("msg.control = nil (or a receive's size) drops the records: the next "
    .. "send carries none", function()
    local ch = udp("inet", "0.0.0.0")
    local m = wsarecv.msg { buffers = wsarecv.buffer("x"),
      to = { "127.0.0.1", ch.port },
      control = { { type = "IP_PKTINFO", addr = "127.0.0.2" } } }
    assert.equal(1, #m.sendcontrol)
    m.control = nil
    assert.is_nil(m.sendcontrol)
    assert.same({ 0, 1, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    m.control = { { type = "IP_PKTINFO", addr = "127.0.0.2" } }
    m.control = 64
    assert.same({ 0, 1, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    for _ = 1, 2 do
      local r = rmsg()
      assert.same({ 0, 1, 0, n = 3 }, pack(ch.rx:WSARecvMsg(r)))
      assert.equal("127.0.0.1", (r:name()))
    end
  end)

  it("IPV6_PKTINFO's addr on ::1", function()
    local ch = udp("inet6", "::1")
    local m = wsarecv.msg { buffers = wsarecv.buffer("six"),
      to = { "::1", ch.port },
      control = { { level = "IPPROTO_IPV6", type = "IPV6_PKTINFO",
                    addr = "::1" } } }
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    local r = rmsg()
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(r)))
    assert.same({ "::1", ch.txport }, { r:name() })
  end)

  -- Windows' WSASendMsg carries IP_ECN, not a whole TOS byte
  it("#linux IP_TOS's value arrives (the receiver has IP_RECVTOS)",
    function()
    local ch = udp()
    assert(ch.rx:setsockopt("IP_RECVTOS", true) == 0)
    local m = wsarecv.msg { buffers = wsarecv.buffer("tos"),
      to = { ch.addr, ch.port },
      control = { { level = "IPPROTO_IP", type = "IP_TOS", value = 0x28 } } }
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    local r = rmsg()
    assert.same({ 0, 3, 0, n = 3 }, pack(ch.rx:WSARecvMsg(r)))
    assert.same({ { level = "IPPROTO_IP", type = "IP_TOS", tos = 0x28,
      ecn = 0 } }, r:control())
  end)

  it("msg.flags is not read on input", function()
    local ch = udp()
    local m = wsarecv.msg { buffers = wsarecv.buffer("flags"),
      to = { ch.addr, ch.port }, flags = wsarecv.MSG_OOB }
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.tx:WSASendMsg(m)))
    m.flags = wsarecv.MSG_PEEK | wsarecv.MSG_OOB
    assert.same({ 0, 5, 0, n = 3 }, pack(ch.tx:WSASendMsg(m, 0,
      wsarecv.overlapped())))
    assert.equal("flags", recv_dgram(ch.rx))
    assert.equal("flags", recv_dgram(ch.rx))
  end)

  it("bad control records raise, saying which and why", function()
    local function bad(control)
      return H.raised(function()
        wsarecv.msg { buffers = wsarecv.buffer(4), control = control }
      end)
    end
    assert.matches("control%[1%]: not a table", bad({ "IP_TOS" }))
    assert.matches("control%[1%]: type must be", bad({ { type = "IP_FOO" } }))
    assert.matches("control%[2%]: type must be",
      bad({ { type = "IP_TOS", value = 1 }, {} }))
    assert.matches("IP_TOS goes with level IPPROTO_IP",
      bad({ { level = "IPPROTO_IPV6", type = "IP_TOS", value = 1 } }))
    assert.matches("value must be an integer in 0..255",
      bad({ { type = "IP_TOS", value = 256 } }))
    assert.matches("value must be an integer in 0..255",
      bad({ { type = "IP_TTL" } }))
    assert.matches("addr must be an address of the type's family",
      bad({ { type = "IP_PKTINFO", addr = "::1" } }))
    assert.matches("addr must be an address of the type's family",
      bad({ { type = "IPV6_PKTINFO", addr = 6 } }))
    assert.matches("ifindex must be an interface index",
      bad({ { type = "IP_PKTINFO", ifindex = -1 } }))
    local m = wsarecv.msg { buffers = wsarecv.buffer(4) }
    assert.matches("control%[1%]", H.raised(function()
      m.control = { { type = "IP_TOS", value = "x" } }
    end))
    assert.matches("to must be", H.raised(function() m.to = "127.0.0.1" end))
  end)

  it("on a stream socket: WSAEINVAL, as on Windows", function()
    local c = tcp()
    local m = wsarecv.msg { buffers = wsarecv.buffer("s") }
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 }, pack(c:WSASendMsg(m)))
    assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
      pack(c:WSASendMsg(m, 0, wsarecv.overlapped())))
  end)

  it("a msg pending elsewhere: WSAEINVAL", function()
    local ch = udp()
    local m = wsarecv.msg { buffers = wsarecv.buffer(8), to = { ch.addr,
      ch.port } }
    local ov = wsarecv.overlapped()
    assert_pending(ch.rx:WSARecvMsg(m, ov))
    assert_fail("WSAEINVAL", 10022, ch.tx:WSASendMsg(m))
    assert.equal(0, ch.rx:CancelIoEx(ov))
  end)
end)

---------------------------------------------------------------------------
-- the watch
---------------------------------------------------------------------------

-- pollfd() is Linux's (epoll over libuv's backend): writability still
-- watched with no send waiting would keep it readable, and the loop
-- spinning
describe("#linux after sends that waited", function()
  it("the loop is idle: pollfd() quiet once nothing waits", function()
    local socket = require "socket"
    local function readable()
      local fd = wsarecv.pollfd()
      return #socket.select({ { getfd = function() return fd end } }, nil, 0) > 0
    end
    local c, a = tcp({ sndbuf = 65536, rcvbuf = 65536 })
    local rec = recorder()
    for _ = 1, 4 do
      assert_posted(MiB, c:WSASend(pattern(MiB, "w"), 0, nil, rec.fn))
    end
    assert.equal(4 * MiB, #read_stream(a, 4 * MiB))
    assert.is_true(wait_for(function() return rec.calls == 4 end))
    -- a datagram socket's batched sends too
    local ch = udp()
    local port = wsarecv.CreateIoCompletionPort()
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.tx, port, 1))
    for _ = 1, 10 do
      assert_posted(3, ch.tx:WSASendTo("abc", 0, ch.addr, ch.port,
        wsarecv.overlapped()))
    end
    local e = {}
    for i = 1, 10 do e[i] = {} end
    local got = 0
    for _ = 1, 50 do
      if got == 10 then break end
      got = got + (port:GetQueuedCompletionStatusEx(e, 20) or 0)
    end
    assert.equal(10, got)
    for _ = 1, 10 do wsarecv.run("nowait") end
    local c0, t0 = os.clock(), wsarecv.now()
    wsarecv.SleepEx(300, true)
    local cpu, wall = os.clock() - c0, wsarecv.now() - t0
    print(("[measure] send: idle loop CPU %.2f ms over %.0f ms after "
      .. "sends that waited"):format(cpu * 1000, wall * 1000))
    for _ = 1, 10 do
      if not readable() then break end
      wsarecv.run("nowait")
    end
    assert.is_false(readable(), "pollfd() stays readable: the loop spins")
    port:close()
  end)
end)

---------------------------------------------------------------------------
-- argument types
---------------------------------------------------------------------------

describe("the send calls' argument types", function()
  it("raise for every argument", function()
    local ch = udp()
    local s, ov = ch.tx, wsarecv.overlapped()
    local m = wsarecv.msg { buffers = wsarecv.buffer(4) }
    local cases = {
      { "WSASend", function() s.WSASend(nil, "x") end, "#1" },
      { "WSASend", function() s.WSASend(ov, "x") end, "#1" },
      { "WSASend", function() s:WSASend(12) end, "#1" },
      { "WSASend", function() s:WSASend({ 12 }) end, "#1" },
      { "WSASend", function() s:WSASend("x", "f") end, "#2" },
      { "WSASend", function() s:WSASend("x", 0, 5) end, "#3" },
      { "WSASend", function() s:WSASend("x", 0, ov, 5) end, "#4" },
      { "WSASendTo", function() s:WSASendTo(false, 0, ch.addr, ch.port) end, "#1" },
      { "WSASendTo", function() s:WSASendTo("x", {}, ch.addr, ch.port) end, "#2" },
      { "WSASendTo", function() s:WSASendTo("x", 0, {}, ch.port) end, "#3" },
      { "WSASendTo", function() s:WSASendTo("x", 0, ch.addr, "p") end, "#4" },
      { "WSASendTo", function() s:WSASendTo("x", 0, ch.addr, 70000) end, "#4" },
      { "WSASendTo", function() s:WSASendTo("x", 0, ch.addr, ch.port, {}) end, "#5" },
      { "WSASendTo", function() s:WSASendTo("x", 0, ch.addr, ch.port, ov, 1) end, "#6" },
      { "WSASendMsg", function() s:WSASendMsg("x") end, "#1" },
      { "WSASendMsg", function() s:WSASendMsg(m, "f") end, "#2" },
      { "WSASendMsg", function() s:WSASendMsg(m, 0, "ov") end, "#3" },
      { "WSASendMsg", function() s:WSASendMsg(m, 0, ov, {}) end, "#4" },
    }
    for _, c in ipairs(cases) do
      local err = H.raised(c[2])
      assert.is_truthy(err, c[1] .. " " .. c[3] .. " did not raise")
      -- (a method call's numbers leave out self, as Lua says them)
      assert.is_truthy(err:find("bad argument " .. c[3] .. " to '"
        .. c[1] .. "'", 1, true),
        c[1] .. " " .. c[3] .. ": " .. err)
    end
    -- the same on a closed socket: mistakes raise first
    s:close()
    assert.is_truthy(H.raised(function() s:WSASend(12) end))
    assert.is_truthy(H.raised(function() s:WSASendTo("x", 0, {}, 1) end))
    assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 }, pack(s:WSASend("x")))
  end)
end)
