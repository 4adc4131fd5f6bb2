-- WSABUF arrays on stream sockets (the WSARecv page, lpBuffers and
-- dwBufferCount): scatter in order, slices, WSAEFAULT, the array captured
-- at the call, posted buffers kept alive, zero-length arrays.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack, assert_pending = H.pack, H.assert_pending
local wait_until, settle = H.wait_until, H.settle
local recorder = H.recorder

describe("WSARecv on a stream socket", function()
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
      assert_pending(a:WSARecv({ b1, b2, b3 }, 0, nil, rec.fn))
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
      assert_pending(a:WSARecv(bufs, wsarecv.MSG_WAITALL, nil, rec.fn))
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
      assert_pending(a:WSARecv(t, 0, nil, rec.fn))
      t[1] = other
      t[2][1] = other
      t[2] = nil
      t[3] = wsarecv.buffer(4)
      t = nil  -- luacheck: ignore 311 (only the operation holds them now)
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
      assert.are.same(H.PENDING, post())
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
      assert.are.same(H.PENDING, post())
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
      assert_pending(a:WSARecv({}, 0, nil, rec.fn))
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
      assert_pending(a:WSARecv(wsarecv.buffer(0), 0, ov))
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
end)
