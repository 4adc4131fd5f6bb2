-- MSG_OOB on TCP (the WSARecv page, lpFlags MSG_OOB): urgent data apart
-- from the normal stream, received pending, blocking or not; and
-- send(str, MSG_OOB), the sending side.  Some peers are perl processes.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack, assert_fail, assert_pending = H.pack, H.assert_fail, H.assert_pending
local now, wait_until, settle = H.now, H.wait_until, H.settle
local recorder = H.recorder

describe("WSARecv on a stream socket", function()
  describe("MSG_OOB", function()
    it("#wine an OOB receive with no urgent data stays pending while normal data flows",
       function()
      local c, a, done = pair()
      local oob, normal = recorder(), recorder()
      local oov = wsarecv.overlapped()
      local obuf, nbuf = wsarecv.buffer(4), wsarecv.buffer(8)
      assert_pending(a:WSARecv(obuf, wsarecv.MSG_OOB, oov, oob.fn))
      assert_pending(a:WSARecv(nbuf, 0, nil, normal.fn))
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

    it("#linux receives TCP urgent data apart from the normal stream", function()
      if not H.have_perl() then pending("perl is not installed") return end
      local l = H.perl_listener()
      local a, p = H.perl_peer(l, { { "sleep", 0.2 }, { "send", "ab" },
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
      assert_pending(a:WSARecv(obuf, wsarecv.MSG_OOB, nil, oob.fn))
      assert_pending(a:WSARecv(nbuf, 0, nil, on_normal))
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

    it("#linux a blocking OOB receive waits for the urgent byte", function()
      if not H.have_perl() then pending("perl is not installed") return end
      local l = H.perl_listener()
      local a, p = H.perl_peer(l, { { "sleep", 0.3 }, { "oob", "Q" },
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

    it("MSG_OOB under SO_OOBINLINE fails with WSAEINVAL (no spin on urgent "
       .. "data)", function()
      local c, a, done = pair()
      assert.equal(0, a:setsockopt("SO_OOBINLINE", true))
      assert.equal(1, c:send("U", wsarecv.MSG_OOB))
      H.settle(20)
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
                  pack(a:WSARecv(wsarecv.buffer(1), wsarecv.MSG_OOB, nil, function() end)))
      -- inline: the urgent byte is in the stream
      assert.equal(0, a:setsockopt("SO_RCVTIMEO", 2000))
      local b = wsarecv.buffer(4)
      local ok, n = a:WSARecv(b, 0)
      assert.equal(0, ok)
      assert.equal("U", b:sub(1, n))
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
