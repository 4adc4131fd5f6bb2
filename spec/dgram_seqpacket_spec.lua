-- Unix seqpacket (the WSARecv page, message-oriented and
-- connection-oriented: WSAEDISCON on the peer's graceful close): message
-- boundaries, posting order, empty messages, refused flags.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local D = require "spec.support.dgram"(after_each)
local T, bound_wait = D.T, D.bound_wait
local track, sock = T.track, T.socket

local wait_for, pack, assert_pending = H.wait_for, H.pack, H.assert_pending

-- A connected unix seqpacket pair: a (accepted), c (connecting side).
local function seqpacket_pair()
  local p = T.path(H.unix_path(".wsarecv-dgram"))
  local l = sock("unix", "seqpacket")
  assert(l:bind(p) == 0)
  assert(l:listen(4) == 0)
  local c = sock("unix", "seqpacket")
  assert(c:connect(p) == 0)
  local a = track((l:accept()))
  bound_wait(a)
  return a, c, l
end

---------------------------------------------------------------------------
-- unix seqpacket
---------------------------------------------------------------------------

describe("#linux unix seqpacket", function()
  it("keeps message boundaries", function()
    local a, c = seqpacket_pair()
    c:send("abc")
    c:send("defgh")
    c:send("ij")
    local b = wsarecv.buffer(16)
    assert.same({ 0, 3, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("abc", b:sub(1, 3))
    assert.same({ 0, 5, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("defgh", b:sub(1, 5))
    assert.same({ 0, 2, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("ij", b:sub(1, 2))
  end)

  it("several pending operations get one message each, in posting order",
    function()
      local a, c = seqpacket_pair()
      local bufs, n = {}, 0
      for i = 1, 3 do
        bufs[i] = wsarecv.buffer(8)
        assert_pending(a:WSARecv(bufs[i], 0, nil, function(err)
          assert(err == nil)
          n = n + 1
        end))
      end
      c:send("m1")
      c:send("msg2")
      c:send("m-3")
      assert.is_true(wait_for(function() return n == 3 end))
      assert.equal("m1", bufs[1]:sub(1, 2))
      assert.equal(0, bufs[1]:byte(3))
      assert.equal("msg2", bufs[2]:sub(1, 4))
      assert.equal("m-3", bufs[3]:sub(1, 3))
    end)

  it("peer close: messages first, then WSAEDISCON (nonoverlapped)",
    function()
      local a, c = seqpacket_pair()
      c:send("last")
      c:close()
      local b = wsarecv.buffer(16)
      assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))
      assert.equal("last", b:sub(1, 4))
      assert.same({ nil, "WSAEDISCON", 10101, n = 3 }, pack(a:WSARecv(b, 0)))
      assert.equal(10101, wsarecv.errors.WSAEDISCON)
    end)

  it("peer close completes a pending operation with WSAEDISCON", function()
    local a, c = seqpacket_pair()
    local b = wsarecv.buffer(16)
    local ov = wsarecv.overlapped()
    local calls = {}
    assert_pending(a:WSARecv(b, 0, ov, function(err, bytes, _, flags)
      calls[#calls + 1] = { err = err, bytes = bytes, flags = flags }
    end))
    c:close()
    assert.is_true(wait_for(function() return #calls > 0 end))
    wsarecv.SleepEx(10, true)
    assert.same({ { err = "WSAEDISCON", bytes = 0, flags = 0 } }, calls)
    assert.same({ nil, "WSAEDISCON", 10101, n = 3 },
      pack(a:WSAGetOverlappedResult(ov)))
  end)

  it("an empty message is not mistaken for the peer's close", function()
    local a, c = seqpacket_pair()
    c:send("")
    c:send("after-empty")
    local b = wsarecv.buffer(16)
    assert.same({ 0, 0, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.same({ 0, 11, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("after-empty", b:sub(1, 11))
  end)

  it("empty buffers: a message fails with WSAEMSGSIZE and is consumed, an "
    .. "empty one is received; the peer's close is still WSAEDISCON",
    function()
      local a, c = seqpacket_pair()
      c:send("msg-1")
      c:send("")
      local b = wsarecv.buffer(8)
      assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
        pack(a:WSARecv({}, 0)))
      assert.same({ 0, 0, 0, n = 3 }, pack(a:WSARecv({}, 0)))
      local got
      assert_pending(a:WSARecv({}, 0, nil, function(err, bytes)
        got = { err, bytes }
      end))
      c:send("msg-2")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ "WSAEMSGSIZE", 0 }, got)
      local ov = wsarecv.overlapped()
      assert_pending(a:WSARecv({}, 0, ov))
      c:send("msg-3")
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2000,
        false))
      assert.same({ nil, "WSAEMSGSIZE", 10040, 0, n = 4 },
        pack(a:WSAGetOverlappedResult(ov)))
      c:send("last")
      c:close()
      assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))
      assert.equal("last", b:sub(1, 4))
      assert.same({ nil, "WSAEDISCON", 10101, n = 3 }, pack(a:WSARecv({}, 0)))
    end)

  it("a routine-driven receive chain goes on past a message too big for "
    .. "its buffers", function()
      local a, c = seqpacket_pair()
      local texts = { "ab", "toolong", "cd", "0123456", "ef" }
      for _, t in ipairs(texts) do c:send(t) end
      local b = wsarecv.buffer(4)
      local got, fails = {}, {}
      local function rt(err, bytes, ov)
        got[#got + 1] = { err, b:sub(1, bytes) }
        if #got < #texts then
          local r = pack(a:WSARecv(b, 0, ov, rt))
          if r[1] ~= 0 and r[2] ~= "WSA_IO_PENDING" then
            fails[#fails + 1] = r[2]
          end
        end
      end
      assert.same({ 0, 2, 0, n = 3 }, pack(a:WSARecv(b, 0, nil, rt)))
      assert.is_true(wait_for(function() return #got == #texts end))
      assert.same({ { nil, "ab" }, { "WSAEMSGSIZE", "tool" }, { nil, "cd" },
        { "WSAEMSGSIZE", "0123" }, { nil, "ef" } }, got)
      assert.same({}, fails)
    end)

  it("MSG_WAITALL and MSG_OOB are refused with WSAEOPNOTSUPP", function()
    local a, c = seqpacket_pair()
    c:send("keep")
    local b = wsarecv.buffer(8)
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecv(b, wsarecv.MSG_WAITALL)))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecv(b, wsarecv.MSG_WAITALL, wsarecv.overlapped())))
    assert.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 },
      pack(a:WSARecv(b, wsarecv.MSG_OOB)))
    assert.equal(0, a:pending())
    assert.same({ 0, 4, 0, n = 3 }, pack(a:WSARecv(b, 0)))
    assert.equal("keep", b:sub(1, 4))
  end)
end)
