-- WSARecv on stream sockets: TCP over 127.0.0.1 (and ::1), unix streams.
-- Every wait is bounded; a test that would hang fails instead.

local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

-- helpers ---------------------------------------------------------------

local pack, assert_fail, PENDING = H.pack, H.assert_fail, H.PENDING
local now, wait_until, settle = H.now, H.wait_until, H.settle

-- a connected stream pair: client, accepted server side, and a cleanup
local function pair(family)
  local c, a, l, addr = H.stream_pair(family)
  l:close()
  if family == "unix" then os.remove(addr) end
  return c, a, function()
    a:close()
    c:close()
  end
end

-- a routine that records every call: rec.calls, rec[i] = {err, bytes, ov, flags}
local function recorder()
  local rec = { calls = 0 }
  rec.fn = function(err, bytes, ov, flags)
    rec.calls = rec.calls + 1
    rec[rec.calls] = { err = err, bytes = bytes, ov = ov, flags = flags }
  end
  return rec
end

-- run a peer in a perl process (the API has no way to send urgent data,
-- and a single thread cannot block in a receive while it sends)
-- the peer must not inherit the ASan preload of the sanitizer pass
local PERL = H.NO_PRELOAD .. "perl"
local have_perl = os.execute(PERL .. " -MSocket -e 1 >/dev/null 2>&1") == true

local function perl_peer(l, actions)
  local _, port = l:getsockname()
  local body = {}
  for _, a in ipairs(actions) do
    if a[1] == "sleep" then
      body[#body + 1] = ("select(undef, undef, undef, %.3f);"):format(a[2])
    elseif a[1] == "send" then
      assert(a[2]:match("^[%w!]+$"))
      body[#body + 1] = ('send($s, "%s", 0) or die;'):format(a[2])
    elseif a[1] == "oob" then
      assert(a[2]:match("^[%w!]+$"))
      body[#body + 1] = ('send($s, "%s", MSG_OOB) or die;'):format(a[2])
    end
  end
  local script = table.concat({
    "alarm 5;",
    "socket(my $s, PF_INET, SOCK_STREAM, 0) or die;",
    ('connect($s, pack_sockaddr_in(%d, inet_aton("127.0.0.1"))) or die;')
      :format(port),
    table.concat(body, " "),
    "close($s);",
  }, " ")
  local p = assert(io.popen(PERL .. " -MSocket -e '" .. script .. "' 2>&1", "r"))
  -- accept without blocking forever
  assert.are.equal(0, l:setsockopt("FIONBIO", true))
  local a
  local deadline = now() + 3
  repeat
    a = l:accept()
    if not a then wsarecv.SleepEx(10, false) end
  until a or now() > deadline
  assert.is_truthy(a, "the perl peer did not connect")
  return a, p
end

local function perl_listener()
  local l = assert(wsarecv.socket("inet", "stream"))
  assert.are.equal(0, l:bind("127.0.0.1", 0))
  assert.are.equal(0, l:listen())
  return l
end

-- drain whatever routines are still queued from a test
local function quiesce()
  for _ = 1, 5 do wsarecv.SleepEx(0, true) end
end

describe("WSARecv on a stream socket", function()
  after_each(quiesce)

  describe("nonoverlapped", function()
    it("returns 0, bytes, flags and fills the buffer", function()
      local c, a, done = pair()
      assert.are.equal(11, c:send("hello world"))
      local buf = wsarecv.buffer(64)
      assert.are.same({ n = 3, 0, 11, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("hello world", buf:sub(1, 11))
      assert.are.equal(string.rep("\0", 53), buf:sub(12))
      done()
    end)

    it("flags may be omitted (nil means 0)", function()
      local c, a, done = pair()
      assert.are.equal(3, c:send("abc"))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(buf)))
      done()
    end)

    it("a single byte is enough to complete", function()
      local c, a, done = pair()
      assert.are.equal(1, c:send("x"))
      local buf = wsarecv.buffer(4096)
      assert.are.same({ n = 3, 0, 1, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("x", buf:sub(1, 1))
      done()
    end)

    it("returns at most the buffer's capacity and leaves the rest queued",
       function()
      local c, a, done = pair()
      assert.are.equal(10, c:send("0123456789"))
      local buf = wsarecv.buffer(4)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("0123", buf:sub())
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("4567", buf:sub())
      assert.are.same({ n = 3, 0, 2, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("89", buf:sub(1, 2))
      done()
    end)

    it("blocks until data arrives (the sender is another process)", function()
      if not have_perl then pending("perl is not installed") return end
      local l = perl_listener()
      local a, p = perl_peer(l, { { "sleep", 0.3 }, { "send", "late5" },
                                  { "sleep", 0.2 } })
      l:close()
      assert.are.equal(0, a:setsockopt("SO_RCVTIMEO", 3000))  -- a bound only
      local buf = wsarecv.buffer(16)
      local t0 = now()
      local r = pack(a:WSARecv(buf, 0))
      local elapsed = now() - t0
      assert.are.same({ n = 3, 0, 5, 0 }, r)
      assert.are.equal("late5", buf:sub(1, 5))
      assert.is_true(elapsed >= 0.15, "returned after " .. elapsed .. " s")
      -- and then the peer's close
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      a:close()
      p:close()
    end)

    it("MSG_PEEK leaves the data for the next receive", function()
      local c, a, done = pair()
      assert.are.equal(8, c:send("peekaboo"))
      local buf = wsarecv.buffer(4)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, wsarecv.MSG_PEEK)))
      assert.are.equal("peek", buf:sub())
      buf:fill(0)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, wsarecv.MSG_PEEK)))
      assert.are.equal("peek", buf:sub())
      local all = wsarecv.buffer(16)
      assert.are.same({ n = 3, 0, 8, 0 }, pack(a:WSARecv(all, 0)))
      assert.are.equal("peekaboo", all:sub(1, 8))
      done()
    end)

    it("MSG_PUSH_IMMEDIATE is accepted", function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("push"))
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 },
                      pack(a:WSARecv(buf, wsarecv.MSG_PUSH_IMMEDIATE)))
      assert.are.equal("push", buf:sub(1, 4))
      done()
    end)

    it("FIONBIO with no data fails with WSAEWOULDBLOCK, then works", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      local buf = wsarecv.buffer(8)
      assert_fail("WSAEWOULDBLOCK", 10035, a:WSARecv(buf, 0))
      assert.are.equal(0, a:pending())
      assert.are.equal(3, c:send("now"))
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("now", buf:sub(1, 3))
      done()
    end)

    it("SO_RCVTIMEO=100 fails with WSAETIMEDOUT after about 100 ms", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("SO_RCVTIMEO", 100))
      local buf = wsarecv.buffer(8)
      local t0 = now()
      local r = assert_fail("WSAETIMEDOUT", 10060, a:WSARecv(buf, 0))
      local elapsed = now() - t0
      assert.is_true(elapsed >= 0.08, "timed out after " .. elapsed .. " s")
      assert.is_true(elapsed <= 1.0, "timed out after " .. elapsed .. " s")
      assert.is_true(r.n == 3 or r[4] == 0)
      assert.are.equal(0, a:pending())
      done()
    end)

    it("an unconnected stream socket fails with WSAENOTCONN", function()
      local s = wsarecv.socket("inet", "stream")
      assert_fail("WSAENOTCONN", 10057, s:WSARecv(wsarecv.buffer(4), 0))
      s:close()
    end)

    it("after shutdown('receive') fails with WSAESHUTDOWN", function()
      local c, a, done = pair()
      assert.are.equal(0, a:shutdown("receive"))
      assert_fail("WSAESHUTDOWN", 10058, a:WSARecv(wsarecv.buffer(4), 0))
      done()
    end)

    it("unknown input flags fail with WSAEOPNOTSUPP", function()
      local c, a, done = pair()
      assert.are.equal(1, c:send("z"))
      local buf = wsarecv.buffer(4)
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, 0x10000))
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, wsarecv.MSG_TRUNC))
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, 0x4))
      -- nothing was consumed
      assert.are.same({ n = 3, 0, 1, 0 }, pack(a:WSARecv(buf, 0)))
      done()
    end)

    it("graceful close reads as 0 bytes, after the data", function()
      local c, a, done = pair()
      assert.are.equal(3, c:send("bye"))
      c:close()
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv(buf, 0)))
      done()
    end)

    it("a reset connection fails with WSAECONNRESET, and keeps failing",
       function()
      local c, a, done = pair()
      assert.are.equal(2, a:send("zz"))   -- left unread in c ...
      c:close()                           -- ... so closing c sends RST
      local buf = wsarecv.buffer(8)
      assert_fail("WSAECONNRESET", 10054, a:WSARecv(buf, 0))
      assert_fail("WSAECONNRESET", 10054, a:WSARecv(buf, 0))
      done()
    end)
  end)

  describe("MSG_WAITALL", function()
    it("nonoverlapped: completes with the full buffer", function()
      local c, a, done = pair()
      assert.are.equal(12, c:send("abcdefghijkl"))
      local buf = wsarecv.buffer(10)
      assert.are.same({ n = 3, 0, 10, 0 },
                      pack(a:WSARecv(buf, wsarecv.MSG_WAITALL)))
      assert.are.equal("abcdefghij", buf:sub())
      done()
    end)

    it("nonoverlapped: the peer's close completes it with a partial count",
       function()
      local c, a, done = pair()
      assert.are.equal(2, c:send("ab"))
      assert.are.equal(0, c:shutdown("send"))
      local buf = wsarecv.buffer(10)
      assert.are.same({ n = 3, 0, 2, 0 },
                      pack(a:WSARecv(buf, wsarecv.MSG_WAITALL)))
      assert.are.equal("ab", buf:sub(1, 2))
      done()
    end)

    it("nonoverlapped: a reset after partial data fails, reporting the bytes placed",
       function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("abcd"))
      assert.are.equal(2, a:send("zz"))
      c:close()                             -- RST: "zz" was unread
      local buf = wsarecv.buffer(10)
      local r = pack(a:WSARecv(buf, wsarecv.MSG_WAITALL))
      assert.are.same({ n = 4, nil, "WSAECONNRESET", 10054, 4 }, r)
      assert.are.equal("abcd", buf:sub(1, 4))
      done()
    end)

    it("nonoverlapped with FIONBIO fails with WSAEOPNOTSUPP", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      assert.are.equal(10, c:send("0123456789"))
      local buf = wsarecv.buffer(4)
      assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, wsarecv.MSG_WAITALL))
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("0123", buf:sub())
      done()
    end)

    for _, f in ipairs { "MSG_OOB", "MSG_PEEK", "MSG_PARTIAL" } do
      it(("with %s fails with WSAEOPNOTSUPP (both modes), no routine runs")
           :format(f), function()
        local c, a, done = pair()
        assert.are.equal(4, c:send("data"))
        local buf = wsarecv.buffer(4)
        local flags = wsarecv.MSG_WAITALL | wsarecv[f]
        assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, flags))
        local rec = recorder()
        local ov = wsarecv.overlapped()
        assert_fail("WSAEOPNOTSUPP", 10045, a:WSARecv(buf, flags, ov, rec.fn))
        assert.is_false(ov.pending)
        settle(30)
        assert.are.equal(0, rec.calls)
        assert.are.equal(0, a:pending())
        -- the data is all still there
        assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
        assert.are.equal("data", buf:sub())
        done()
      end)
    end

    it("overlapped: completes only when the buffer is full", function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(10)
      local rec = recorder()
      local ov = wsarecv.overlapped()
      assert.are.same(PENDING,
                      pack(a:WSARecv(buf, wsarecv.MSG_WAITALL, ov, rec.fn)))
      assert.are.equal(3, c:send("abc"))
      settle(40)
      assert.are.equal(0, rec.calls)
      assert.is_true(ov.pending)
      assert.is_nil(ov.bytes)
      assert.are.equal(4, c:send("defg"))
      settle(40)
      assert.are.equal(0, rec.calls)
      assert.is_true(ov.pending)
      assert.are.equal(6, c:send("hijXYZ"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(10, rec[1].bytes)
      assert.are.equal(ov, rec[1].ov)
      assert.are.equal(0, rec[1].flags)
      assert.are.equal("abcdefghij", buf:sub())
      assert.is_false(ov.pending)
      assert.are.equal(10, ov.bytes)
      -- the rest is left for the next receive
      local rest = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv(rest, 0)))
      assert.are.equal("XYZ", rest:sub(1, 3))
      done()
    end)

    it("overlapped: the peer's close completes it with the partial count",
       function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(10)
      local rec = recorder()
      assert.are.same(PENDING,
                      pack(a:WSARecv(buf, wsarecv.MSG_WAITALL, nil, rec.fn)))
      assert.are.equal(4, c:send("abcd"))
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.equal(0, c:shutdown("send"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(4, rec[1].bytes)
      assert.are.equal("abcd", buf:sub(1, 4))
      assert.are.equal(string.rep("\0", 6), buf:sub(5))
      done()
    end)

    it("overlapped: a reset after partial data fails with the bytes placed",
       function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(10)
      local ov = wsarecv.overlapped()
      assert.are.same(PENDING, pack(a:WSARecv(buf, wsarecv.MSG_WAITALL, ov)))
      assert.are.equal(2, c:send("ab"))
      settle(30)
      assert.are.same({ n = 3, nil, "WSA_IO_INCOMPLETE", 996 },
                      pack(a:WSAGetOverlappedResult(ov)))
      assert.are.equal(2, a:send("zz"))
      c:close()                              -- RST
      assert.is_true(wait_until(function() return not ov.pending end))
      assert.are.equal("WSAECONNRESET", ov.error)
      assert.are.equal(2, ov.bytes)
      assert.are.same({ n = 4, nil, "WSAECONNRESET", 10054, 2 },
                      pack(a:WSAGetOverlappedResult(ov)))
      assert.are.equal("ab", buf:sub(1, 2))
      done()
    end)
  end)

  describe("overlapped", function()
    it("goes pending, then the routine runs once with (nil, bytes, ov, flags)",
       function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(32)
      local rec = recorder()
      local ov = wsarecv.overlapped()
      assert.are.same(PENDING, pack(a:WSARecv(buf, 0, ov, rec.fn)))
      assert.is_true(ov.pending)
      assert.are.equal(1, a:pending())
      settle(20)
      assert.are.equal(0, rec.calls)
      assert.are.equal(5, c:send("hello"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(5, rec[1].bytes)
      assert.are.equal(ov, rec[1].ov)
      assert.are.equal(0, rec[1].flags)
      assert.are.equal("hello", buf:sub(1, 5))
      assert.is_false(ov.pending)
      assert.are.equal(5, ov.bytes)
      assert.are.equal(0, ov.flags)
      assert.is_nil(ov.error)
      assert.are.equal(0, a:pending())
      done()
    end)

    it("completed at once: returns 0, bytes, flags and still runs the routine once",
       function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("now!"))
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0, nil, rec.fn)))
      assert.are.equal("now!", buf:sub(1, 4))
      assert.are.equal(0, rec.calls)         -- only in an alertable wait
      wsarecv.SleepEx(0, false)
      assert.are.equal(0, rec.calls)
      assert.are.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(50, true))
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(4, rec[1].bytes)
      -- a routine without an ov gets a fresh overlapped object
      assert.is_truthy(tostring(rec[1].ov):find("wsarecv.overlapped", 1, true))
      assert.are.equal(4, rec[1].ov.bytes)
      assert.is_false(rec[1].ov.pending)
      settle(30)
      assert.are.equal(1, rec.calls)
      done()
    end)

    it("FIONBIO does not make an overlapped receive fail", function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert.are.same(PENDING, pack(a:WSARecv(buf, 0, nil, rec.fn)))
      assert.are.equal(2, c:send("ok"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.is_nil(rec[1].err)
      assert.are.equal(2, rec[1].bytes)
      done()
    end)

    it("several outstanding operations are filled in posting order", function()
      local c, a, done = pair()
      local bufs, ovs = {}, {}
      local rec = recorder()
      for i = 1, 4 do
        bufs[i] = wsarecv.buffer(8)
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert.are.same(PENDING, pack(a:WSARecv(bufs[i], 0, ovs[i], rec.fn)))
      end
      assert.are.equal(4, a:pending())
      local first = "ABCDEFGHIJKLMNOPQRST"          -- 20 bytes
      assert.are.equal(20, c:send(first))
      assert.is_true(wait_until(function() return rec.calls >= 3 end))
      settle(30)
      assert.are.equal(3, rec.calls)
      assert.are.equal("ABCDEFGH", bufs[1]:sub())
      assert.are.equal("IJKLMNOP", bufs[2]:sub())
      assert.are.equal("QRST", bufs[3]:sub(1, 4))
      assert.is_true(ovs[4].pending)
      assert.are.equal(1, a:pending())
      local by = {}
      for i = 1, rec.calls do by[rec[i].ov.context] = rec[i] end
      assert.are.equal(8, by[1].bytes)
      assert.are.equal(8, by[2].bytes)
      assert.are.equal(4, by[3].bytes)
      assert.is_nil(by[4])
      assert.are.equal(12, c:send("uvwxyz012345"))
      assert.is_true(wait_until(function() return rec.calls >= 4 end))
      assert.are.equal(8, ovs[4].bytes)
      assert.are.equal("uvwxyz01", bufs[4]:sub())
      local cat = bufs[1]:sub() .. bufs[2]:sub() .. bufs[3]:sub(1, 4)
                  .. bufs[4]:sub()
      assert.are.equal("ABCDEFGHIJKLMNOPQRSTuvwxyz01", cat)
      -- the rest of the stream follows the last operation
      local rest = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(rest, 0)))
      assert.are.equal("2345", rest:sub(1, 4))
      done()
    end)

    it("operations without routines complete in order (WSAGetOverlappedResult)",
       function()
      local c, a, done = pair()
      local bufs, ovs = {}, {}
      for i = 1, 3 do
        bufs[i] = wsarecv.buffer(5)
        ovs[i] = wsarecv.overlapped()
        assert.are.same(PENDING, pack(a:WSARecv(bufs[i], 0, ovs[i])))
      end
      for i = 1, 3 do
        assert.are.same({ n = 3, nil, "WSA_IO_INCOMPLETE", 996 },
                        pack(a:WSAGetOverlappedResult(ovs[i])))
      end
      assert.are.equal(15, c:send("onetwo3rd.third"))
      -- a non-waiting call lets the I/O progress
      local r1
      local deadline = now() + 2
      repeat
        r1 = pack(a:WSAGetOverlappedResult(ovs[1]))
        if r1[1] == nil then wsarecv.SleepEx(5, false) end
      until r1[1] ~= nil or now() > deadline
      assert.are.same({ n = 2, 5, 0 }, r1)
      assert.are.same({ n = 2, 5, 0 }, pack(a:WSAGetOverlappedResult(ovs[2])))
      assert.are.same({ n = 2, 5, 0 }, pack(a:WSAGetOverlappedResult(ovs[3], true)))
      assert.are.equal("onetw", bufs[1]:sub())
      assert.are.equal("o3rd.", bufs[2]:sub())
      assert.are.equal("third", bufs[3]:sub())
      done()
    end)

    it("MSG_PEEK is refused with WSAEOPNOTSUPP and no routine runs", function()
      local c, a, done = pair()
      assert.are.equal(4, c:send("peek"))
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert_fail("WSAEOPNOTSUPP", 10045,
                  a:WSARecv(buf, wsarecv.MSG_PEEK, nil, rec.fn))
      assert_fail("WSAEOPNOTSUPP", 10045,
                  a:WSARecv(buf, wsarecv.MSG_PEEK, wsarecv.overlapped()))
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("peek", buf:sub(1, 4))
      done()
    end)

    it("MSG_PUSH_IMMEDIATE is accepted", function()
      local c, a, done = pair()
      local buf = wsarecv.buffer(8)
      local rec = recorder()
      assert.are.same(PENDING,
                      pack(a:WSARecv(buf, wsarecv.MSG_PUSH_IMMEDIATE, nil, rec.fn)))
      assert.are.equal(3, c:send("abc"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.is_nil(rec[1].err)
      assert.are.equal(3, rec[1].bytes)
      assert.are.equal("abc", buf:sub(1, 3))
      done()
    end)

    it("an unconnected stream socket fails at once with WSAENOTCONN, no routine",
       function()
      local s = wsarecv.socket("inet", "stream")
      local rec = recorder()
      local ov = wsarecv.overlapped()
      assert_fail("WSAENOTCONN", 10057, s:WSARecv(wsarecv.buffer(4), 0, ov, rec.fn))
      assert.is_false(ov.pending)
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.equal(0, s:pending())
      s:close()
    end)

    it("after shutdown('receive') fails at once with WSAESHUTDOWN, no routine",
       function()
      local c, a, done = pair()
      assert.are.equal(0, a:shutdown("receive"))
      local rec = recorder()
      assert_fail("WSAESHUTDOWN", 10058,
                  a:WSARecv(wsarecv.buffer(4), 0, nil, rec.fn))
      settle(30)
      assert.are.equal(0, rec.calls)
      done()
    end)

    it("graceful close: the routine gets err nil and 0 bytes", function()
      local c, a, done = pair()
      local rec = recorder()
      local buf = wsarecv.buffer(8)
      assert.are.same(PENDING, pack(a:WSARecv(buf, 0, nil, rec.fn)))
      c:close()
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(0, rec[1].bytes)
      assert.are.equal(0, rec[1].flags)
      done()
    end)

    it("graceful close completes every outstanding operation with 0 bytes",
       function()
      local c, a, done = pair()
      local rec = recorder()
      for _ = 1, 3 do
        assert.are.same(PENDING,
                        pack(a:WSARecv(wsarecv.buffer(4), 0, nil, rec.fn)))
      end
      assert.are.equal(2, c:send("hi"))
      c:shutdown("send")
      assert.is_true(wait_until(function() return rec.calls >= 3 end))
      settle(20)
      assert.are.equal(3, rec.calls)
      local total, zeros = 0, 0
      for i = 1, 3 do
        assert.is_nil(rec[i].err)
        total = total + rec[i].bytes
        if rec[i].bytes == 0 then zeros = zeros + 1 end
      end
      assert.are.equal(2, total)
      assert.are.equal(2, zeros)
      done()
    end)

    it("a reset: the routine gets WSAECONNRESET; later posts fail at once",
       function()
      local c, a, done = pair()
      local rec = recorder()
      local ov = wsarecv.overlapped()
      local buf = wsarecv.buffer(8)
      assert.are.same(PENDING, pack(a:WSARecv(buf, 0, ov, rec.fn)))
      assert.are.equal(2, a:send("zz"))   -- unread by c ...
      c:close()                           -- ... so this sends RST
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.are.equal("WSAECONNRESET", rec[1].err)
      assert.are.equal(0, rec[1].bytes)
      assert.are.equal("WSAECONNRESET", ov.error)
      local rec2 = recorder()
      assert_fail("WSAECONNRESET", 10054, a:WSARecv(buf, 0, ov, rec2.fn))
      settle(30)
      assert.are.equal(0, rec2.calls)
      done()
    end)
  end)

  describe("WSABUF arrays", function()
    it("scatters into an array of buffers, in order, with no holes", function()
      local c, a, done = pair()
      local b1, b2, b3 = wsarecv.buffer(3), wsarecv.buffer(4), wsarecv.buffer(5)
      assert.are.equal(10, c:send("abcdefghij"))
      assert.are.same({ n = 3, 0, 10, 0 }, pack(a:WSARecv({ b1, b2, b3 }, 0)))
      assert.are.equal("abc", b1:sub())
      assert.are.equal("defg", b2:sub())
      assert.are.equal("hij\0\0", b3:sub())
      done()
    end)

    it("scatters an overlapped receive across buffers", function()
      local c, a, done = pair()
      local b1, b2, b3 = wsarecv.buffer(2), wsarecv.buffer(2), wsarecv.buffer(6)
      local rec = recorder()
      assert.are.same(PENDING, pack(a:WSARecv({ b1, b2, b3 }, 0, nil, rec.fn)))
      assert.are.equal(7, c:send("1234567"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.are.equal(7, rec[1].bytes)
      assert.are.equal("12", b1:sub())
      assert.are.equal("34", b2:sub())
      assert.are.equal("567\0\0\0", b3:sub())
      done()
    end)

    it("more buffers than fit on the stack still scatter correctly", function()
      local c, a, done = pair()
      local bufs = {}
      for i = 1, 40 do bufs[i] = wsarecv.buffer(1) end
      local text = ("0123456789"):rep(4)
      assert.are.equal(40, c:send(text))
      assert.are.same({ n = 3, 0, 40, 0 },
                      pack(a:WSARecv(bufs, wsarecv.MSG_WAITALL)))
      local out = {}
      for i = 1, 40 do out[i] = bufs[i]:sub() end
      assert.are.equal(text, table.concat(out))
      -- and overlapped
      for i = 1, 40 do bufs[i]:fill(0) end
      local rec = recorder()
      assert.are.same(PENDING,
                      pack(a:WSARecv(bufs, wsarecv.MSG_WAITALL, nil, rec.fn)))
      assert.are.equal(40, c:send(text:reverse()))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.are.equal(40, rec[1].bytes)
      for i = 1, 40 do out[i] = bufs[i]:sub() end
      assert.are.equal(text:reverse(), table.concat(out))
      done()
    end)

    it("slices {buf, offset, len} are packed in array order (offset 0-based)",
       function()
      local c, a, done = pair()
      local big = wsarecv.buffer(20):fill(0x2e)
      local small = wsarecv.buffer(4)
      local slices = { { big, 10, 3 }, { big, 5, 0 }, small, { big, 0, 2 },
                       { big, 17 } }              -- no length: to the end
      assert.are.equal(12, c:send("ABCDEFGHIJKL"))
      assert.are.same({ n = 3, 0, 12, 0 }, pack(a:WSARecv(slices, 0)))
      -- ABC -> big[10..12], (empty), DEFG -> small, HI -> big[0..1],
      -- JKL -> big[17..19]  (0-based offsets)
      assert.are.equal("HI........ABC....JKL", big:sub())
      assert.are.equal("DEFG", small:sub())
      done()
    end)

    it("a slice may end exactly at the end of its buffer", function()
      local c, a, done = pair()
      local b = wsarecv.buffer(6)
      assert.are.equal(3, c:send("xyz"))
      assert.are.same({ n = 3, 0, 3, 0 }, pack(a:WSARecv({ { b, 3, 3 } }, 0)))
      assert.are.equal("\0\0\0xyz", b:sub())
      done()
    end)

    local bad = {
      { "past the end", function(b) return { b, 10, 11 } end },
      { "offset beyond the buffer", function(b) return { b, 21, 0 } end },
      { "negative offset", function(b) return { b, -1, 2 } end },
      { "negative length", function(b) return { b, 2, -1 } end },
    }
    for _, case in ipairs(bad) do
      it(("a slice %s gives WSAEFAULT, nothing consumed, no routine")
           :format(case[1]), function()
        local c, a, done = pair()
        local b = wsarecv.buffer(20)
        assert.are.equal(4, c:send("keep"))
        local arr = { wsarecv.buffer(2), case[2](b) }
        assert.are.same({ n = 3, nil, "WSAEFAULT", 10014 }, pack(a:WSARecv(arr, 0)))
        local rec = recorder()
        local ov = wsarecv.overlapped()
        assert.are.same({ n = 3, nil, "WSAEFAULT", 10014 },
                        pack(a:WSARecv(arr, 0, ov, rec.fn)))
        assert.is_false(ov.pending)
        settle(30)
        assert.are.equal(0, rec.calls)
        assert.are.equal(0, a:pending())
        local all = wsarecv.buffer(8)
        assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(all, 0)))
        assert.are.equal("keep", all:sub(1, 4))
        done()
      end)
    end

    it("the array is captured at call time: later changes to the table do not matter",
       function()
      local c, a, done = pair()
      local b1, b2 = wsarecv.buffer(3), wsarecv.buffer(5)
      local other = wsarecv.buffer(16)
      local t = { b1, { b2, 0, 5 } }
      local rec = recorder()
      assert.are.same(PENDING, pack(a:WSARecv(t, 0, nil, rec.fn)))
      t[1] = other
      t[2][1] = other
      t[2] = nil
      t[3] = wsarecv.buffer(4)
      t = nil
      collectgarbage("collect")
      collectgarbage("collect")
      assert.are.equal(8, c:send("ABCDEFGH"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.is_nil(rec[1].err)
      assert.are.equal(8, rec[1].bytes)
      assert.are.equal("ABC", b1:sub())
      assert.are.equal("DEFGH", b2:sub())
      assert.are.equal(string.rep("\0", 16), other:sub())
      done()
    end)

    it("keeps every posted buffer alive until the operation completes", function()
      local c, a, done = pair()
      local weak = setmetatable({}, { __mode = "v" })
      local rec = recorder()
      local seen
      -- in a function of its own, so that only the operation holds them
      local function post()
        local x, y, z = wsarecv.buffer(4), wsarecv.buffer(4), wsarecv.buffer(4)
        weak.x, weak.y, weak.z = x, y, z
        local r = pack(a:WSARecv({ x, { y, 1, 2 } }, 0, nil, function(...)
          rec.fn(...)
          seen = { weak.x and weak.x:sub(), weak.y and weak.y:sub() }
        end))
        return r
      end
      assert.are.same(PENDING, post())
      collectgarbage("collect")
      collectgarbage("collect")
      assert.is_nil(weak.z)            -- the collector did run ...
      assert.is_not_nil(weak.x)        -- ... and the posted ones survived
      assert.is_not_nil(weak.y)
      assert.are.equal(6, c:send("abcdef"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      assert.are.equal(6, rec[1].bytes)
      assert.are.same({ "abcd", "\0ef\0" }, seen)
      done()
    end)

    it("keeps a single posted buffer alive for a routine-less operation",
       function()
      local c, a, done = pair()
      local weak = setmetatable({}, { __mode = "v" })
      local ov = wsarecv.overlapped()
      local function post()
        local x = wsarecv.buffer(4)
        weak.x = x
        return pack(a:WSARecv(x, 0, ov))
      end
      assert.are.same(PENDING, post())
      collectgarbage("collect")
      collectgarbage("collect")
      assert.is_not_nil(weak.x)
      assert.are.equal(3, c:send("pin"))
      assert.is_true(wait_until(function() return not ov.pending end))
      assert.are.equal(3, ov.bytes)
      assert.are.equal("pin\0", weak.x:sub())
      done()
    end)

    it("a zero-length array completes when data is readable and consumes nothing",
       function()
      local c, a, done = pair()
      local rec = recorder()
      assert.are.same(PENDING, pack(a:WSARecv({}, 0, nil, rec.fn)))
      settle(30)
      assert.are.equal(0, rec.calls)
      assert.are.equal(4, c:send("data"))
      assert.is_true(wait_until(function() return rec.calls > 0 end))
      settle(20)
      assert.are.equal(1, rec.calls)
      assert.is_nil(rec[1].err)
      assert.are.equal(0, rec[1].bytes)
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 4, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("data", buf:sub(1, 4))
      done()
    end)

    it("a zero-length buffer behaves like a zero-length array", function()
      local c, a, done = pair()
      local ov = wsarecv.overlapped()
      assert.are.same(PENDING, pack(a:WSARecv(wsarecv.buffer(0), 0, ov)))
      assert.are.equal(2, c:send("hi"))
      assert.is_true(wait_until(function() return not ov.pending end))
      assert.are.equal(0, ov.bytes)
      assert.is_nil(ov.error)
      -- readable now: completes at once, still consuming nothing
      local rec = recorder()
      assert.are.same({ n = 3, 0, 0, 0 }, pack(a:WSARecv({}, 0, nil, rec.fn)))
      assert.are.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(50, true))
      assert.are.equal(1, rec.calls)
      local buf = wsarecv.buffer(8)
      assert.are.same({ n = 3, 0, 2, 0 }, pack(a:WSARecv(buf, 0)))
      assert.are.equal("hi", buf:sub(1, 2))
      done()
    end)
  end)

  describe("MSG_OOB", function()
    it("an OOB receive with no urgent data stays pending while normal data flows",
       function()
      local c, a, done = pair()
      local oob, normal = recorder(), recorder()
      local oov = wsarecv.overlapped()
      local obuf, nbuf = wsarecv.buffer(4), wsarecv.buffer(8)
      assert.are.same(PENDING, pack(a:WSARecv(obuf, wsarecv.MSG_OOB, oov, oob.fn)))
      assert.are.same(PENDING, pack(a:WSARecv(nbuf, 0, nil, normal.fn)))
      assert.are.equal(6, c:send("normal"))
      assert.is_true(wait_until(function() return normal.calls > 0 end))
      settle(20)
      assert.are.equal(6, normal[1].bytes)
      assert.are.equal("normal", nbuf:sub(1, 6))
      assert.are.equal(0, oob.calls)
      assert.is_true(oov.pending)
      assert.are.equal(0, a:CancelIoEx(oov))
      assert.is_true(wait_until(function() return oob.calls > 0 end))
      assert.are.equal("WSA_OPERATION_ABORTED", oob[1].err)
      assert.are.equal(0, oob[1].bytes)
      done()
    end)

    it("a nonoverlapped OOB receive with FIONBIO and no urgent data would block",
       function()
      local c, a, done = pair()
      assert.are.equal(0, a:setsockopt("FIONBIO", true))
      assert.are.equal(3, c:send("abc"))
      assert_fail("WSAEWOULDBLOCK", 10035,
                  a:WSARecv(wsarecv.buffer(4), wsarecv.MSG_OOB))
      done()
    end)

    it("receives TCP urgent data apart from the normal stream", function()
      if not have_perl then pending("perl is not installed") return end
      local l = perl_listener()
      local a, p = perl_peer(l, { { "sleep", 0.2 }, { "send", "ab" },
                                  { "oob", "xy!" }, { "sleep", 0.2 } })
      l:close()
      local oob, normal = recorder(), recorder()
      local obuf = wsarecv.buffer(4)
      local chunks = {}
      local nbuf = wsarecv.buffer(16)
      local function on_normal(err, n, ov, flags)
        normal.fn(err, n, ov, flags)
        chunks[#chunks + 1] = nbuf:sub(1, n)
        if err == nil and n > 0 then
          a:WSARecv(nbuf, 0, ov, on_normal)
        end
      end
      assert.are.same(PENDING, pack(a:WSARecv(obuf, wsarecv.MSG_OOB, nil, oob.fn)))
      assert.are.same(PENDING, pack(a:WSARecv(nbuf, 0, nil, on_normal)))
      assert.is_true(wait_until(function()
        return oob.calls > 0 and normal.calls > 0
               and normal[normal.calls].bytes == 0
      end))
      p:close()
      assert.are.equal(1, oob.calls)
      assert.is_nil(oob[1].err)
      assert.are.equal(1, oob[1].bytes)
      assert.are.equal("!", obuf:sub(1, 1))
      assert.are.equal("abxy", table.concat(chunks))
      a:close()
    end)

    it("a blocking OOB receive waits for the urgent byte", function()
      if not have_perl then pending("perl is not installed") return end
      local l = perl_listener()
      local a, p = perl_peer(l, { { "sleep", 0.3 }, { "oob", "Q" },
                                  { "sleep", 0.2 } })
      l:close()
      assert.are.equal(0, a:setsockopt("SO_RCVTIMEO", 3000))   -- a bound
      local buf = wsarecv.buffer(4)
      local t0 = now()
      local r = pack(a:WSARecv(buf, wsarecv.MSG_OOB))
      local elapsed = now() - t0
      p:close()
      assert.are.equal(0, r[1])
      assert.are.equal(1, r[2])
      assert.are.equal("Q", buf:sub(1, 1))
      assert.is_true(elapsed >= 0.15, "returned after " .. elapsed .. " s")
      a:close()
    end)
  end)

  describe("other stream families", function()
    for _, family in ipairs { "inet6", "unix" } do
      it(("works over %s: nonoverlapped, overlapped, close"):format(family),
         function()
        local c, a, done = pair(family)
        assert.are.equal(6, c:send("first!"))
        local buf = wsarecv.buffer(16)
        assert.are.same({ n = 3, 0, 6, 0 }, pack(a:WSARecv(buf, 0)))
        assert.are.equal("first!", buf:sub(1, 6))
        local rec = recorder()
        local b1, b2 = wsarecv.buffer(3), wsarecv.buffer(3)
        assert.are.same(PENDING, pack(a:WSARecv(b1, 0, nil, rec.fn)))
        assert.are.same(PENDING, pack(a:WSARecv(b2, 0, nil, rec.fn)))
        assert.are.equal(3, c:send("sec"))
        assert.are.equal(3, c:send("ond"))
        assert.is_true(wait_until(function() return rec.calls >= 2 end))
        assert.are.equal("sec", b1:sub())
        assert.are.equal("ond", b2:sub())
        assert.are.same(PENDING, pack(a:WSARecv(buf, 0, nil, rec.fn)))
        c:close()
        assert.is_true(wait_until(function() return rec.calls >= 3 end))
        assert.is_nil(rec[3].err)
        assert.are.equal(0, rec[3].bytes)
        done()
      end)
    end
  end)

  describe("throughput", function()
    it("moves 4 MiB through 4 outstanding 64 KiB receives, byte-exact", function()
      local TOTAL, CHUNK, DEPTH = 4 * 1024 * 1024, 64 * 1024, 4
      -- a pattern with a period (251) prime to the chunk size, and a block
      -- number every 64 KiB
      local unit = {}
      for i = 0, 250 do unit[#unit + 1] = string.char((i * 37) % 251) end
      local base = table.concat(unit):rep(TOTAL // 251 + 1)
      local blocks = {}
      for k = 0, TOTAL // CHUNK - 1 do
        blocks[#blocks + 1] = string.pack(">I4", k)
                              .. base:sub(k * CHUNK + 5, (k + 1) * CHUNK)
      end
      local data = table.concat(blocks)
      assert.are.equal(TOTAL, #data)

      local c, a, done = pair()
      assert.are.equal(0, c:setsockopt("FIONBIO", true))
      local records, failures = {}, {}
      local seq, posts, calls, eofs = 0, 0, 0, 0

      local function start(buf, ov, routine)
        seq = seq + 1
        ov.context = seq
        posts = posts + 1
        local r = pack(a:WSARecv(buf, 0, ov, routine))
        if r[1] ~= 0 and r[2] ~= "WSA_IO_PENDING" then
          failures[#failures + 1] = "post: " .. tostring(r[2])
          posts = posts - 1
        end
      end

      for _ = 1, DEPTH do
        local buf, ov = wsarecv.buffer(CHUNK), wsarecv.overlapped()
        local function routine(err, n, o)
          calls = calls + 1
          if err then failures[#failures + 1] = err return end
          records[o.context] = buf:sub(1, n)
          if n == 0 then eofs = eofs + 1 return end
          start(buf, o, routine)
        end
        start(buf, ov, routine)
      end

      local deadline = now() + 10
      local pos = 1
      while pos <= TOTAL and now() < deadline do
        local r = pack(c:send(data:sub(pos, pos + 4 * CHUNK - 1)))
        if r[1] then
          pos = pos + r[1]
        else
          assert.are.equal("WSAEWOULDBLOCK", r[2])
        end
        wsarecv.SleepEx(0, true)
      end
      assert.are.equal(TOTAL + 1, pos)
      assert.are.equal(0, c:shutdown("send"))
      assert.is_true(wait_until(function() return eofs == DEPTH end, 10))
      assert.are.same({}, failures)
      assert.are.equal(posts, calls)
      assert.are.equal(seq, posts)
      local parts = {}
      for i = 1, seq do
        assert.is_not_nil(records[i], "no record for operation " .. i)
        parts[i] = records[i]
      end
      local got = table.concat(parts)
      assert.are.equal(TOTAL, #got)
      assert.is_true(got == data, "the received stream differs from the sent one")
      done()
    end)
  end)
end)

describe("send(str, MSG_OOB)", function()
  local function tcp_pair()
    local c, a = pair()
    return c, a
  end

  it("delivers one urgent byte to a pending MSG_OOB receive, apart from "
     .. "the normal data", function()
    local c, a = tcp_pair()
    local urgent, normal = wsarecv.buffer(4), wsarecv.buffer(16)
    local got = {}
    assert.same({ nil, "WSA_IO_PENDING", 997 },
      { a:WSARecv(urgent, wsarecv.MSG_OOB, nil, function(err, n)
          got[#got + 1] = "oob:" .. tostring(err) .. ":" .. urgent:sub(1, n)
        end) })
    assert.equal(4, c:send("abcd"))
    assert.equal(1, c:send("U", wsarecv.MSG_OOB))
    for _ = 1, 100 do
      if #got > 0 then break end
      wsarecv.SleepEx(10, true)
    end
    assert.same({ "oob:nil:U" }, got)
    -- the normal stream holds only the normal bytes
    a:setsockopt("SO_RCVTIMEO", 1000)
    local ok, n = a:WSARecv(normal, 0)
    assert.equal(0, ok)
    assert.equal("abcd", normal:sub(1, n))
    c:close(); a:close()
  end)

  it("is refused on a datagram socket and for other flags", function()
    local u = assert(wsarecv.socket("inet", "dgram"))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045 },
      { u:send("x", wsarecv.MSG_OOB) })
    local c, a = tcp_pair()
    assert.same({ nil, "WSAEOPNOTSUPP", 10045 }, { c:send("x", wsarecv.MSG_PEEK) })
    u:close(); c:close(); a:close()
  end)
end)
