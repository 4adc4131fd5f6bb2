-- WSARecv at volume on TCP (the WSARecv page: several overlapped
-- receives outstanding, each completion reposted): 4 MiB, byte-exact.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack = H.pack
local now, wait_until = H.now, H.wait_until

describe("WSARecv on a stream socket", function()
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
