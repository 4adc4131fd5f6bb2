-- wsarecv.buffer: the reusable, fixed-capacity byte buffer behind a WSABUF.
-- The reference for sub/byte/unpack is Lua's own string library: every
-- comparison below runs the same call on a string holding the same bytes.

local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

-- helpers ---------------------------------------------------------------

local raised, pack, assert_pending = H.raised, H.pack, H.assert_pending

local function same_results(a, b)
  assert.are.equal(a.n, b.n)
  for i = 1, a.n do assert.are.equal(a[i], b[i]) end
end

local SAMPLE = "Hello, overlapped world!\0\1\2\255"

-- this process's resident memory in bytes (VmRSS)
local function rss()
  local f = assert(io.open("/proc/self/status"))
  local kb = f:read("a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kb) * 1024
end

-- a bound UDP receiver and a sender to it
local function udp()
  local u = H.udp("inet", "127.0.0.1")
  return u.rx, u.send, u
end

describe("wsarecv.buffer", function()

  describe("construction", function()
    it("buffer(size) gives a zero-filled buffer of that capacity", function()
      local b = wsarecv.buffer(16)
      assert.are.equal(16, #b)
      assert.are.equal(string.rep("\0", 16), b:sub())
      for i = 1, 16 do assert.are.equal(0, b:byte(i)) end
    end)

    it("buffer(0) is an empty buffer", function()
      local b = wsarecv.buffer(0)
      assert.are.equal(0, #b)
      assert.are.equal("", b:sub())
      assert.are.equal(0, select("#", b:byte()))
    end)

    it("buffer(str) holds a copy of str, embedded zeros included", function()
      local b = wsarecv.buffer(SAMPLE)
      assert.are.equal(#SAMPLE, #b)
      assert.are.equal(SAMPLE, b:sub())
      -- a copy: writing into the buffer leaves the string alone
      b:write(1, "J")
      assert.are.equal("Jello", b:sub(1, 5))
      assert.are.equal("Hello", SAMPLE:sub(1, 5))
    end)

    it("buffer('') is an empty buffer", function()
      local b = wsarecv.buffer("")
      assert.are.equal(0, #b)
      assert.are.equal("", b:sub())
    end)

    it("a large buffer is zero-filled all the way", function()
      local b = wsarecv.buffer(1 << 20)
      assert.are.equal(1 << 20, #b)
      assert.are.equal(0, b:byte(1))
      assert.are.equal(0, b:byte(-1))
      assert.are.equal(string.rep("\0", 4096), b:sub(-4096))
    end)

    it("a negative size or a wrong type raises", function()
      assert.is_truthy(raised(wsarecv.buffer, -1))
      assert.is_truthy(raised(wsarecv.buffer, {}))
      assert.is_truthy(raised(wsarecv.buffer, 1.5))
      assert.is_truthy(raised(wsarecv.buffer))
    end)

    it("a large buffer is zeroed without touching its pages (1 GiB, RSS)",
       function()
      -- The zeroes of a large buffer are the kernel's fresh pages, lent when
      -- first touched: making it must not write 1 GiB of zeroes by hand.
      -- (Under ASan too: its allocator also maps large blocks fresh.)
      collectgarbage()
      local before = rss()
      local b = wsarecv.buffer(1 << 30)
      local grew = rss() - before
      assert.are.equal(1 << 30, #b)
      assert.is_true(grew < 64 << 20, ("RSS grew by %d MiB"):format(grew >> 20))
      -- and it is a real buffer: both ends read zero, the last byte writes
      assert.are.equal(0, b:byte(1))
      assert.are.equal(0, b:byte(-1))
      assert.are.equal(1, b:write(#b, "\xA5"))
      assert.are.equal(0xA5, b:byte(#b))
      assert.are.equal(string.rep("\0", 4095) .. "\xA5", b:sub(-4096))
      assert.is_true(rss() - before < 64 << 20)
      b = nil  -- luacheck: ignore 311 (dropped for the collector)
      collectgarbage()
    end)

    it("#linux a size the system cannot provide raises 'not enough memory'", function()
      -- In a child: ASan aborts on an impossible allocation unless told to
      -- return NULL like the C library does (the option is ignored without
      -- ASan).
      local code = [[
        local wsarecv = require "wsarecv"
        for _, n in ipairs { math.maxinteger, 1 << 50 } do
          local ok, err = pcall(wsarecv.buffer, n)
          print(ok, err)
        end
        print(#wsarecv.buffer(100000), "done")
      ]]
      local f = os.tmpname()
      local h = assert(io.open(f, "w"))
      h:write(code)
      h:close()
      local opts = (os.getenv("ASAN_OPTIONS") or "")
                   .. ":allocator_may_return_null=1"
      local p = assert(io.popen(("ASAN_OPTIONS=%s LUA_PATH=%s LUA_CPATH=%s "
        .. "timeout -k 2 20 lua5.4 %s 2>&1"):format(H.shq(opts),
        H.shq(package.path), H.shq(package.cpath), H.shq(f))))
      local out = p:read("a")
      p:close()
      os.remove(f)
      -- (ASan warns that it "failed to allocate": that is the NULL)
      H.assert_no_crash(out, { "Segmentation", "ERROR: AddressSanitizer",
                               "LeakSanitizer", "runtime error", "Aborted" })
      local _, count = out:gsub("false\tnot enough memory for a buffer of %d+ bytes",
                                "")
      assert.are.equal(2, count, out)
      assert.is_truthy(out:find("100000\tdone", 1, true), out)
    end)

    it("the collector learns about large buffers: a loop making them frees "
       .. "the old ones as it goes", function()
      -- A large buffer's bytes are outside the Lua heap; unless the
      -- collector is told, it sees a few bytes each and keeps all of them.
      collectgarbage()
      local alive = setmetatable({}, { __mode = "v" })
      local N = 24
      for i = 1, N do alive[i] = wsarecv.buffer(32 << 20) end
      local n = 0
      for _ in pairs(alive) do n = n + 1 end
      assert.is_true(n <= N // 2, ("%d of %d buffers still alive"):format(n, N))
    end)

    it("buffers are independent of each other", function()
      local a, b = wsarecv.buffer(4), wsarecv.buffer(4)
      a:fill(0x41)
      assert.are.equal("AAAA", a:sub())
      assert.are.equal("\0\0\0\0", b:sub())
    end)
  end)

  describe("sub", function()
    local cases = {
      { 1 }, { 3 }, { 0 }, { -1 }, { -3 }, { -100 }, { 100 },
      { 1, 5 }, { 2, 4 }, { 4, 2 }, { 0, 0 }, { 0, 3 }, { -5, -2 },
      { -100, 3 }, { 3, 100 }, { -3, -100 }, { 1, -1 }, { 5, 5 },
      { #SAMPLE, #SAMPLE }, { #SAMPLE + 1 }, { 2, -100 }, { -1, -1 },
      { math.mininteger, math.maxinteger }, { math.maxinteger },
    }
    for _, c in ipairs(cases) do
      it(("follows string.sub for (%s)"):format(
        table.concat({ tostring(c[1]), tostring(c[2]) }, ", ")), function()
        local b = wsarecv.buffer(SAMPLE)
        assert.are.equal(SAMPLE:sub(table.unpack(c, 1, 2)),
                         b:sub(table.unpack(c, 1, 2)))
      end)
    end

    it("raises on a non-integer position", function()
      local b = wsarecv.buffer(SAMPLE)
      assert.is_truthy(raised(b.sub, b, "x"))
      assert.is_truthy(raised(b.sub, b, 1, {}))
    end)
  end)

  describe("byte", function()
    local cases = {
      {}, { 1 }, { 5 }, { -1 }, { -4 }, { 0 }, { -100 }, { 100 },
      { 1, 5 }, { 3, 1 }, { -4, -1 }, { 0, 2 }, { -100, 2 }, { 2, 100 },
      { #SAMPLE + 1 }, { 1, -1 }, { -1, -100 }, { 0, 0 },
    }
    for _, c in ipairs(cases) do
      it(("follows string.byte for (%s)"):format(
        table.concat({ tostring(c[1]), tostring(c[2]) }, ", ")), function()
        local b = wsarecv.buffer(SAMPLE)
        same_results(pack(SAMPLE:byte(table.unpack(c, 1, 2))),
                     pack(b:byte(table.unpack(c, 1, 2))))
      end)
    end

    it("returns bytes above 127 as unsigned", function()
      local b = wsarecv.buffer("\255\128\127")
      same_results(pack(255, 128, 127), pack(b:byte(1, 3)))
    end)
  end)

  describe("write", function()
    it("writes at a 1-based position and returns the bytes written", function()
      local b = wsarecv.buffer(10)
      assert.are.equal(3, b:write(1, "abc"))
      assert.are.equal(2, b:write(5, "XY"))
      assert.are.equal("abc\0XY\0\0\0\0", b:sub())
    end)

    it("may write exactly up to the end", function()
      local b = wsarecv.buffer(6)
      assert.are.equal(6, b:write(1, "123456"))
      assert.are.equal(1, b:write(6, "Z"))
      assert.are.equal("12345Z", b:sub())
    end)

    it("writes embedded zeros and high bytes verbatim", function()
      local b = wsarecv.buffer(5):fill(0x2e)
      assert.are.equal(3, b:write(2, "\0\255\0"))
      assert.are.equal(".\0\255\0.", b:sub())
    end)

    it("an empty string writes 0 bytes, even just past the end", function()
      local b = wsarecv.buffer("abc")
      assert.are.equal(0, b:write(1, ""))
      assert.are.equal(0, b:write(4, ""))
      assert.are.equal("abc", b:sub())
    end)

    it("raises when the string does not fit, leaving the buffer alone", function()
      local b = wsarecv.buffer("abcd")
      assert.is_truthy(raised(b.write, b, 3, "xyz"))
      assert.is_truthy(raised(b.write, b, 1, "12345"))
      assert.are.equal("abcd", b:sub())
    end)

    it("raises for a position outside the buffer", function()
      local b = wsarecv.buffer("abcd")
      assert.is_truthy(raised(b.write, b, 0, "x"))
      assert.is_truthy(raised(b.write, b, -1, "x"))
      assert.is_truthy(raised(b.write, b, 6, ""))
      assert.is_truthy(raised(b.write, b, 5, "x"))
      assert.is_truthy(raised(b.write, b, math.maxinteger, "x"))
      assert.are.equal("abcd", b:sub())
    end)

    it("raises on wrong argument types", function()
      local b = wsarecv.buffer(4)
      assert.is_truthy(raised(b.write, b, "one", "x"))
      assert.is_truthy(raised(b.write, b, 1, {}))
      assert.is_truthy(raised(b.write, b, 1))
    end)
  end)

  describe("fill", function()
    it("fills the whole buffer and returns the buffer", function()
      local b = wsarecv.buffer(5)
      assert.are.equal(b, b:fill(0x61))
      assert.are.equal("aaaaa", b:sub())
    end)

    it("fills a range with string.sub's position rules", function()
      local b = wsarecv.buffer(8)
      b:fill(0x2e)
      b:fill(0x41, 2, 3)
      assert.are.equal(".AA.....", b:sub())
      b:fill(0x42, -2)
      assert.are.equal(".AA...BB", b:sub())
      b:fill(0x43, -4, -3)
      assert.are.equal(".AA.CCBB", b:sub())
      b:fill(0x44, 5, 100)
      assert.are.equal(".AA.DDDD", b:sub())
      b:fill(0x45, 4, 2)          -- empty range: nothing changes
      assert.are.equal(".AA.DDDD", b:sub())
      b:fill(0)
      assert.are.equal(string.rep("\0", 8), b:sub())
    end)

    it("accepts 255 and a one-character string", function()
      local b = wsarecv.buffer(3)
      b:fill(255)
      same_results(pack(255, 255, 255), pack(b:byte(1, -1)))
      b:fill("z", 2, 2)
      assert.are.equal("\255z\255", b:sub())
    end)

    it("raises for a byte outside 0..255", function()
      local b = wsarecv.buffer(3)
      assert.is_truthy(raised(b.fill, b, 256))
      assert.is_truthy(raised(b.fill, b, -1))
      assert.is_truthy(raised(b.fill, b, "ab"))
      assert.is_truthy(raised(b.fill, b))
      assert.are.equal("\0\0\0", b:sub())
    end)
  end)

  describe("unpack", function()
    local data = string.pack("<i4 >I2 B z s1 d", -123456, 0xBEEF, 200,
                             "name", "pascal", 3.25)

    local cases = {
      { "<i4" }, { "<i4", 1 }, { ">I2", 5 }, { "B", 7 }, { "z", 8 },
      { "s1", 13 }, { "d", 20 }, { "<i4 >I2 B z s1 d" },
      { "<i4 >I2 B z s1 d", 1 }, { "B", -1 }, { "<I2", -2 }, { "c3", 2 },
      { "bbb", 2 }, { "", 1 }, { "", #data + 1 }, { "z", -7 },
    }
    for _, c in ipairs(cases) do
      it(("follows string.unpack for (%q, %s)"):format(c[1], tostring(c[2])),
         function()
        local b = wsarecv.buffer(data)
        same_results(pack(string.unpack(c[1], data, c[2])),
                     pack(b:unpack(c[1], c[2])))
      end)
    end

    it("returns the next position, so calls can be chained", function()
      local b = wsarecv.buffer(data)
      local v, pos = b:unpack("<i4")
      assert.are.equal(-123456, v)
      assert.are.equal(5, pos)
      v, pos = b:unpack(">I2", pos)
      assert.are.equal(0xBEEF, v)
      assert.are.equal(7, pos)
      local n, name, pos2 = b:unpack("B z", pos)
      assert.are.equal(200, n)
      assert.are.equal("name", name)
      assert.are.equal(13, pos2)
    end)

    it("reads what was written into the buffer", function()
      local b = wsarecv.buffer(12)
      b:write(5, string.pack(">I4", 0xDEADBEEF))
      local v, pos = b:unpack(">I4", 5)
      assert.are.equal(0xDEADBEEF, v)
      assert.are.equal(9, pos)
    end)

    it("treats position 0 and positions before the start as string.unpack does",
       function()
      local b = wsarecv.buffer("abc")
      same_results(pack(string.unpack("b", "abc", 0)), pack(b:unpack("b", 0)))
      same_results(pack(string.unpack("b", "abc", -10)),
                   pack(b:unpack("b", -10)))
    end)

    it("aligns ('!') relative to the start of the buffer, as string.unpack does",
       function()
      local s = "\0\0\0\0\1\0\0\0\2\0\0\0"
      local b = wsarecv.buffer(s)
      same_results(pack(string.unpack("<!4 i4", s, 2)),
                   pack(b:unpack("<!4 i4", 2)))
      same_results(pack(string.unpack("<!4 b Xi4 i4", s, 1)),
                   pack(b:unpack("<!4 b Xi4 i4", 1)))
      same_results(pack(string.unpack("<!4 Xi4 i4", s, 3)),
                   pack(b:unpack("<!4 Xi4 i4", 3)))
    end)

    it("raises when the data runs short, like string.unpack", function()
      local b = wsarecv.buffer("abc")
      assert.is_falsy(pcall(string.unpack, "i4", "abc"))
      local err = raised(b.unpack, b, "i4")
      assert.is_truthy(err)
      assert.is_truthy(err:find("too short", 1, true))
      assert.is_truthy(raised(b.unpack, b, "z"))          -- no terminator
      assert.is_truthy(raised(b.unpack, b, "b", 5))       -- past the end + 1
      assert.is_truthy(raised(b.unpack, b, "b", 4))       -- nothing left
    end)
  end)

  describe("tostring", function()
    it("describes the buffer without dumping its content", function()
      local b = wsarecv.buffer("SECRET-PAYLOAD-0123456789")
      local s = tostring(b)
      assert.are.equal("string", type(s))
      assert.is_truthy(s:find("buffer", 1, true))
      assert.is_falsy(s:find("SECRET", 1, true))
      assert.is_falsy(s:find("PAYLOAD", 1, true))
      assert.is_falsy(s:find("0123456789", 1, true))
    end)
  end)

  describe("close", function()
    it("makes every method raise afterwards", function()
      local b = wsarecv.buffer("abcdef")
      b:close()
      assert.is_truthy(raised(b.sub, b))
      assert.is_truthy(raised(b.byte, b, 1))
      assert.is_truthy(raised(b.write, b, 1, "x"))
      assert.is_truthy(raised(b.fill, b, 0))
      assert.is_truthy(raised(b.unpack, b, "b"))
      assert.is_truthy(raised(b.unpack, b, "b", 3))
      assert.is_truthy(raised(b.unpack, b, "z"))
    end)

    it("names the closed buffer in the error", function()
      local b = wsarecv.buffer(4)
      b:close()
      local err = raised(function() return b:sub() end)
      assert.is_truthy(err)
      assert.is_truthy(err:find("closed", 1, true))
      -- the standard wording for a method's self argument
      assert.is_truthy(err:find("calling 'sub' on bad self", 1, true))
    end)

    it("is idempotent and tostring still works", function()
      local b = wsarecv.buffer(4)
      b:close()
      assert.is_nil(raised(b.close, b))
      assert.are.equal("string", type(tostring(b)))
    end)

    it("a <close> variable closes the buffer at the end of its scope", function()
      local ref
      do
        local b <close> = wsarecv.buffer("scoped")
        ref = b
        assert.are.equal("scoped", b:sub())
      end
      assert.is_truthy(raised(ref.sub, ref))
    end)

    it("a <close> variable closes the buffer when the scope is left by an error",
       function()
      local ref
      local ok = pcall(function()
        local b <close> = wsarecv.buffer(3)
        ref = b
        error("boom")
      end)
      assert.is_false(ok)
      assert.is_truthy(raised(ref.byte, ref))
    end)

    it("a closed buffer cannot be posted to a receive (raises naming the argument)",
       function()
      local b = wsarecv.buffer(8)
      b:close()
      local s = wsarecv.socket("inet", "dgram")
      local err1 = raised(function() return s:WSARecv(b, 0) end)
      local err2 = raised(function() return s:WSARecv({ wsarecv.buffer(2), b }, 0) end)
      s:close()
      assert.is_truthy(err1)
      assert.is_truthy(err2)
      -- the buffer array is WSARecv's argument #1 (self is not counted)
      assert.is_truthy(err1:find("bad argument #1 to 'WSARecv'", 1, true), err1)
      assert.is_truthy(err2:find("bad argument #1 to 'WSARecv'", 1, true), err2)
    end)

    it("a large buffer closed and dropped under a pending receive still takes "
       .. "the data (the operation keeps its memory)", function()
      local rx, send, u = udp()
      local got
      do
        local a, b = wsarecv.buffer(1 << 20), wsarecv.buffer(1 << 20)
        assert_pending(rx:WSARecv({ { a, (1 << 20) - 60000 },
          { b, 0, 4 } }, 0, nil, function(err, n) got = { err, n } end))
        a:close()
        b:close()
      end
      collectgarbage()
      collectgarbage()
      send(string.rep("x", 60000) .. "tail")
      assert.is_true(H.wait_for(function() return got ~= nil end))
      assert.are.same({ nil, 60004 }, got)
      collectgarbage()
      collectgarbage()
      rx:close(); u.tx:close()
    end)
  end)

  describe("WSABUF arrays", function()
    -- offsets and lengths no slice can have: every one is WSAEFAULT, with
    -- no arithmetic on the caller's integers that could overflow first
    -- ({buf, math.mininteger} once computed len - off: UBSan stopped there)
    local MIN, MAX = math.mininteger, math.maxinteger
    local bad = {
      { MIN }, { MIN + 1 }, { -1 }, { 9 }, { MAX }, { 1 << 62 },
      { MIN, 0 }, { MIN, 1 }, { MIN, MAX }, { MIN, MIN }, { -1, 1 },
      { 0, MIN }, { 0, -1 }, { 0, 9 }, { 0, MAX }, { 4, MAX }, { 8, 1 },
      { MAX, MAX }, { MAX, MIN }, { 1 << 62, 1 << 62 }, { 5, MAX - 4 },
    }
    for i, c in ipairs(bad) do
      it(("slice {buf, %s} gives WSAEFAULT, in every form (case %d)")
           :format(table.concat(c, ", "), i), function()
        local rx, send, u = udp()
        local b = wsarecv.buffer(8)
        local slice = { b, c[1], c[2] }
        local calls = 0
        send("data")
        assert.same({ nil, "WSAEFAULT", 10014, n = 3 }, pack(rx:WSARecv({ slice }, 0)))
        assert.same({ nil, "WSAEFAULT", 10014, n = 3 },
                    pack(rx:WSARecv({ b, slice }, 0, wsarecv.overlapped())))
        assert.same({ nil, "WSAEFAULT", 10014, n = 3 },
                    pack(rx:WSARecv({ slice }, 0, nil,
                                    function() calls = calls + 1 end)))
        wsarecv.SleepEx(10, true)
        assert.are.equal(0, calls)
        assert.are.equal(0, rx:pending())
        -- nothing consumed
        assert.same({ n = 3, 0, 4, 0 }, pack(rx:WSARecv(b, 0)))
        assert.are.equal("data", b:sub(1, 4))
        rx:close(); u.tx:close()
      end)
    end

    it("a slice without a length runs to the end of its buffer", function()
      local rx, send, u = udp()
      local b = wsarecv.buffer(8)
      send("xyz")
      assert.same({ n = 3, 0, 3, 0 }, pack(rx:WSARecv({ { b, 5 } }, 0)))
      assert.are.equal("\0\0\0\0\0xyz", b:sub())
      -- an offset at the very end is an empty WSABUF, not a fault; on a
      -- datagram socket the datagram does not fit it: WSAEMSGSIZE, consumed
      send("more")
      assert.same({ n = 4, nil, "WSAEMSGSIZE", 10040, 0 },
                  pack(rx:WSARecv({ { b, 8 } }, 0)))
      rx:close(); u.tx:close()
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
end)
