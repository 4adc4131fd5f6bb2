-- I/O completion ports, the object: CreateIoCompletionPort (with and
-- without a socket), keys, GetQueuedCompletionStatus's results and
-- timeouts, PostQueuedCompletionStatus, close / <close> / GC / tostring,
-- and the argument errors that raise.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local P = require "spec.support.port"(after_each)
local T, udp_on, entries = P.T, P.udp_on, P.entries
local pack = H.pack


describe("CreateIoCompletionPort", function()
  it("without a socket makes a port; tostring says what it is", function()
    local port = wsarecv.CreateIoCompletionPort()
    assert.truthy(tostring(port):match("^wsarecv%.port %(0 queued%)"))
    assert.equal(0, port:close())
    assert.truthy(tostring(port):match("^wsarecv%.port %(closed%)"))
    assert.equal(0, port:close())                         -- idempotent
  end)

  it("with a socket and a port associates it and returns the port",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx = udp_on(port, 7)
      assert.truthy(rx)
      port:close()
    end)

  it("with a socket and no port makes a port for it", function()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    local port = wsarecv.CreateIoCompletionPort(ch.rx, nil, "k")
    assert.truthy(tostring(port):match("^wsarecv%.port"))
    local ov, buf = wsarecv.overlapped(), wsarecv.buffer(16)
    H.assert_pending(ch.rx:WSARecv(buf, 0, ov))
    ch.send("x")
    assert.same({ 1, "k", ov, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
    port:close()
  end)

  it("a socket belongs to one port: a second association fails", function()
    local p1, p2 = wsarecv.CreateIoCompletionPort(), wsarecv.CreateIoCompletionPort()
    local rx = udp_on(p1, 1)
    H.assert_fail("WSA_INVALID_PARAMETER", 87,
      wsarecv.CreateIoCompletionPort(rx, p2, 2))
    H.assert_fail("WSA_INVALID_PARAMETER", 87,
      wsarecv.CreateIoCompletionPort(rx, p1, 3))
    p1:close()
    p2:close()
  end)

  it("a closed socket or a closed port fails to associate", function()
    local port = wsarecv.CreateIoCompletionPort()
    local s = T.socket("inet", "dgram")
    s:close()
    H.assert_fail("WSAENOTSOCK", 10038, wsarecv.CreateIoCompletionPort(s, port, 1))
    port:close()
    local s2 = T.socket("inet", "dgram")
    H.assert_fail("ERROR_INVALID_HANDLE", 6,
      wsarecv.CreateIoCompletionPort(s2, port, 1))
  end)

  it("wrong types raise", function()
    local port = wsarecv.CreateIoCompletionPort()
    local s = T.socket("inet", "dgram")
    assert.has_error(function() wsarecv.CreateIoCompletionPort(42, port, 1) end)
    assert.has_error(function() wsarecv.CreateIoCompletionPort(s, {}, 1) end)
    assert.has_error(function() wsarecv.CreateIoCompletionPort(s, s, 1) end)
    assert.has_error(function() port:GetQueuedCompletionStatus("soon") end)
    assert.has_error(function() port:GetQueuedCompletionStatus(-5) end)
    assert.has_error(function() port:GetQueuedCompletionStatusEx(nil, 0) end)
    assert.has_error(function() port:GetQueuedCompletionStatusEx({ 1, 2 }, 0) end)
    assert.has_error(function() port:GetQueuedCompletionStatusEx({ ov = { false }, bytes = 0 }, 0) end)
    assert.has_error(function() port:PostQueuedCompletionStatus("x", 1) end)
    assert.has_error(function() port:PostQueuedCompletionStatus(-1, 1) end)
    assert.has_error(function() port:PostQueuedCompletionStatus(2 ^ 32, 1) end)
    assert.has_error(function() port:PostQueuedCompletionStatus(1) end)
    assert.has_error(function() port:PostQueuedCompletionStatus(1, 1, {}) end)
    assert.has_error(function() port.GetQueuedCompletionStatus(s, 0) end)
    local ov = wsarecv.overlapped()
    assert.has_error(function() ov.noport = 1 end)
    assert.has_error(function() ov.rearm = "yes" end)
    port:close()
  end)
end)

describe("keys", function()
  it("are integers or any Lua value, per socket", function()
    local port = wsarecv.CreateIoCompletionPort()
    local tkey, fkey = {}, function() end
    local keys = { 0, -1, math.maxinteger, "name", tkey, fkey, true }
    local chans = {}
    for i, k in ipairs(keys) do
      local rx, send = udp_on(port, k)
      chans[i] = { rx = rx, send = send, ov = wsarecv.overlapped() }
      H.assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, chans[i].ov))
    end
    for i = 1, #keys do
      chans[i].send("k" .. i)
      local bytes, key, ov = port:GetQueuedCompletionStatus(2000)
      assert.equal(#("k" .. i), bytes)
      assert.equal(keys[i], key)
      assert.equal(chans[i].ov, ov)
    end
    port:close()
  end)

  it("a nil key is nil; a key stays alive while its socket does",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, nil)
      local ov = wsarecv.overlapped()
      H.assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov))
      send("a")
      assert.same({ 1, nil, ov, n = 3 }, pack(port:GetQueuedCompletionStatus(2000)))
      local rx2, send2 = udp_on(port, { tag = "kept" })
      collectgarbage()
      collectgarbage()
      H.assert_pending(rx2:WSARecv(wsarecv.buffer(8), 0, ov))
      send2("b")
      local _, key = port:GetQueuedCompletionStatus(2000)
      assert.equal("kept", key.tag)
      port:close()
    end)
end)

describe("GetQueuedCompletionStatus", function()
  it("times out with WAIT_TIMEOUT, 258", function()
    local port = wsarecv.CreateIoCompletionPort()
    local rx = udp_on(port, 1)
    H.assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped()))
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
    local t0 = H.now()
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, pack(port:GetQueuedCompletionStatus(60)))
    assert.is_true(H.now() - t0 >= 0.04)
    local e = entries(4)
    assert.same({ nil, "WAIT_TIMEOUT", 258, n = 3 },
      pack(port:GetQueuedCompletionStatusEx(e, 20)))
    port:close()
  end)

  it("refuses an infinite wait nothing could end (WSAEINVAL)", function()
    local port = wsarecv.CreateIoCompletionPort()
    H.assert_fail("WSAEINVAL", 10022, port:GetQueuedCompletionStatus())
    H.assert_fail("WSAEINVAL", 10022, port:GetQueuedCompletionStatusEx(entries(1)))
    port:close()
  end)

  it("an empty entries array is WSA_INVALID_PARAMETER", function()
    local port = wsarecv.CreateIoCompletionPort()
    H.assert_fail("WSA_INVALID_PARAMETER", 87, port:GetQueuedCompletionStatusEx({}, 0))
    port:close()
  end)

  it("on a closed port: ERROR_INVALID_HANDLE", function()
    local port = wsarecv.CreateIoCompletionPort()
    port:close()
    H.assert_fail("ERROR_INVALID_HANDLE", 6, port:GetQueuedCompletionStatus(0))
    H.assert_fail("ERROR_INVALID_HANDLE", 6,
      port:GetQueuedCompletionStatusEx(entries(2), 0))
    H.assert_fail("ERROR_INVALID_HANDLE", 6, port:PostQueuedCompletionStatus(1, 1))
    H.assert_fail("ERROR_INVALID_HANDLE", 6, port:pollfd())
  end)
end)

describe("PostQueuedCompletionStatus", function()
  it("queues an entry handed back as posted, in order with completions",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, "sock")
      local ov, mine = wsarecv.overlapped(), wsarecv.overlapped()
      local key = { "any" }
      assert.equal(0, port:PostQueuedCompletionStatus(5, key, mine))
      H.assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ov))
      send("abc")
      H.progress_until(function() return ov.pending == false end)
      assert.equal(0, port:PostQueuedCompletionStatus(0, 9))
      assert.equal(3, port:queued())
      assert.same({ 5, key, mine, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
      assert.same({ 3, "sock", ov, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
      assert.same({ 0, 9, nil, n = 3 }, pack(port:GetQueuedCompletionStatus(0)))
      assert.equal(0xFFFFFFFF, (function()
        port:PostQueuedCompletionStatus(0xFFFFFFFF, false)
        return port:GetQueuedCompletionStatus(0)
      end)())
      port:close()
    end)

  it("wakes an infinite wait, and an Ex wait writes the entry", function()
    local port = wsarecv.CreateIoCompletionPort()
    port:PostQueuedCompletionStatus(1, "a")
    port:PostQueuedCompletionStatus(2, "b")
    local e = entries(4)
    e[3].ov = "untouched"
    assert.equal(2, port:GetQueuedCompletionStatusEx(e))
    assert.same({ bytes = 1, key = "a", flags = 0 }, e[1])
    assert.same({ bytes = 2, key = "b", flags = 0 }, e[2])
    assert.equal("untouched", e[3].ov)
    port:close()
  end)

  it("a closed port lets go of what was posted", function()
    local port = wsarecv.CreateIoCompletionPort()
    local weak = setmetatable({}, { __mode = "v" })
    do
      local key, ov = {}, wsarecv.overlapped()
      weak[1], weak[2] = key, ov
      port:PostQueuedCompletionStatus(1, key, ov)
    end
    port:close()
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    assert.is_nil(weak[2])
  end)
end)

describe("closing a port", function()
  it("<close> closes it; GC of a port with operations pending is safe, "
    .. "and they complete later, signalled", function()
      local rx, send, ov, buf
      do
        local port <close> = wsarecv.CreateIoCompletionPort()
        rx, send = udp_on(port, 1)
        ov, buf = wsarecv.overlapped(), wsarecv.buffer(8)
        H.assert_pending(rx:WSARecv(buf, 0, ov))
      end
      send("after")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents(ov, false, 2000, false))
      assert.same({ 5, 0, n = 2 }, pack(rx:WSAGetOverlappedResult(ov)))
      assert.equal("after", buf:sub(1, 5))
      -- the same with a port only the collector ends
      local rx2, send2 = udp_on(wsarecv.CreateIoCompletionPort(), 2)
      local ovs = {}
      for i = 1, 8 do
        ovs[i] = wsarecv.overlapped()
        H.assert_pending(rx2:WSARecv(wsarecv.buffer(8), 0, ovs[i]))
      end
      send2("one")
      H.progress_until(function() return ovs[1].pending == false end)
      collectgarbage()
      collectgarbage()
      send2("two")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents(ovs[2], false, 2000, false))
      assert.same({ 3, 0, n = 2 }, pack(rx2:WSAGetOverlappedResult(ovs[2])))
      rx2:close()
      for i = 3, 8 do assert.equal("WSA_OPERATION_ABORTED", ovs[i].error) end
    end)

  it("drops its queued entries: their objects are signalled and reusable",
    function()
      local port = wsarecv.CreateIoCompletionPort()
      local rx, send = udp_on(port, 1)
      local ov, buf = wsarecv.overlapped(), wsarecv.buffer(8)
      H.assert_pending(rx:WSARecv(buf, 0, ov))
      send("queued")
      H.progress_until(function() return ov.pending == false end)
      assert.equal(1, port:queued())
      H.assert_fail("WSAEINVAL", 10022, rx:WSARecv(buf, 0, ov))   -- busy
      port:close()
      assert.equal(6, ov.bytes)
      H.assert_pending(rx:WSARecv(buf, 0, ov))                   -- free again
      send("later")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents(ov, false, 2000, false))
      assert.equal(5, ov.bytes)
    end)
end)
