-- Errors and the REPL, as a new user meets them (issue 14, items 14, 15
-- and 17): why the last call failed (wsarecv.lasterror), strerror without
-- wrong hints, typos that raise and say what is wrong, and tostring of a
-- socket and of an overlapped object.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local C = require "spec.support.completion"(after_each)
local T, udp, CHILD, assert_clean_exit = C.T, C.udp, C.CHILD, C.assert_clean_exit
local raised, assert_fail, assert_pending = H.raised, H.assert_fail,
  H.assert_pending

-- lasterror()'s three results, checked against name and code; its reason
local function why(name, code)
  local n, c, reason = wsarecv.lasterror()
  assert.equal(name, n)
  assert.equal(code, c)
  assert.is_string(reason)
  return reason
end

-- the text of tostring(x) without its address suffix (": 0x..." on
-- Linux; Windows' %p has no 0x)
local function shown(x)
  local s = tostring(x)
  local head = s:match("^(.-): %x*x?%x+$")
  assert.is_string(head, s)
  return head
end

---------------------------------------------------------------------------
-- item 14: why the last failure happened
---------------------------------------------------------------------------

describe("lasterror (issue 14)", function()
  it("is nil before any failure; SleepEx(-1, true) with nothing pending "
    .. "says the wait could never end (in a child: a wrong answer blocks)",
    function()
      local out, how, rc = H.run_child(CHILD .. [[
        show(wsarecv.lasterror())
        show(wsarecv.SleepEx(-1, true))
        show(wsarecv.lasterror())
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil\nnil WSAEINVAL 10022\nWSAEINVAL 10022 an infinite "
        .. "wait with no operation pending: it could never end\n", out)
    end)

  it("the four WSAEINVAL causes keep the code and each says its own reason",
    function()
      local reasons = {}
      -- a receive on an unbound datagram socket
      local s = T.socket("inet", "dgram")
      local b = wsarecv.buffer(8)
      assert_fail("WSAEINVAL", 10022, s:WSARecv(b, 0, wsarecv.overlapped()))
      reasons.unbound = why("WSAEINVAL", 10022)
      assert.matches("the socket is not bound", reasons.unbound, 1, true)
      -- a second bind
      assert.equal(0, s:bind("127.0.0.1", 0))
      assert_fail("WSAEINVAL", 10022, s:bind("127.0.0.1", 0))
      reasons.bind = why("WSAEINVAL", 10022)
      assert.matches("already bound", reasons.bind, 1, true)
      -- a pending object posted again
      local ov = wsarecv.overlapped()
      assert_pending(s:WSARecv(b, 0, ov))
      assert_fail("WSAEINVAL", 10022, s:WSARecv(wsarecv.buffer(8), 0, ov))
      reasons.busy = why("WSAEINVAL", 10022)
      assert.matches("object is in use", reasons.busy, 1, true)
      -- an infinite wait on objects that can never be signalled
      assert_fail("WSAEINVAL", 10022,
        wsarecv.WSAWaitForMultipleEvents(wsarecv.overlapped(), false, -1))
      reasons.wait = why("WSAEINVAL", 10022)
      assert.matches("could never end", reasons.wait, 1, true)
      local seen = {}
      for k, r in pairs(reasons) do
        assert.is_nil(seen[r], k .. " and " .. tostring(seen[r]))
        seen[r] = k
        assert.are_not.equal(wsarecv.strerror("WSAEINVAL"), r)
      end
    end)

  it("strerror gives the code's meaning, with no hint that is wrong for "
    .. "most causes", function()
      local m = wsarecv.strerror("WSAEINVAL")
      assert.equal(m, wsarecv.strerror(10022))
      assert.is_nil(m:find("bound"), m)
      assert.is_nil(m:find("receive"), m)
      -- WSAESHUTDOWN comes from sends too, WSAEMSGSIZE from sendto
      assert.is_nil(wsarecv.strerror("WSAESHUTDOWN"):find("receiving"))
      assert.is_truthy(wsarecv.strerror("WSAEMSGSIZE"):find("send"))
    end)

  it("a failure with no reason of its own gives strerror's meaning, never "
    .. "an older reason; successes and WSA_IO_PENDING leave it", function()
      local s = T.socket("inet", "dgram")
      assert_fail("WSAEINVAL", 10022, s:WSARecv(wsarecv.buffer(4), 0,
        wsarecv.overlapped()))
      assert.matches("not bound", why("WSAEINVAL", 10022))
      assert.equal(0, s:bind("127.0.0.1", 0))
      assert_pending(s:WSARecv(wsarecv.buffer(4), 0, wsarecv.overlapped()))
      assert.matches("not bound", why("WSAEINVAL", 10022))
      assert_fail("WSAENOTCONN", 10057, s:getpeername())
      assert.equal(wsarecv.strerror("WSAENOTCONN"), why("WSAENOTCONN", 10057))
      s:close()
      assert_fail("WSAENOTSOCK", 10038, s:bind("127.0.0.1", 0))
      assert.equal(wsarecv.strerror(10038), why("WSAENOTSOCK", 10038))
    end)

  it("the other causes of WSAEINVAL, WSAEOPNOTSUPP, WSAEFAULT and "
    .. "WSAEWOULDBLOCK say theirs", function()
      local rx = udp()
      local b = wsarecv.buffer(8)
      local function case(want, name, code, ...)
        assert_fail(name, code, ...)
        local r = why(name, code)
        assert.is_truthy(r:find(want, 1, true), r)
      end
      case("unknown flag", "WSAEOPNOTSUPP", 10045, rx:WSARecv(b, 0x10000))
      case("MSG_PEEK only on a nonoverlapped receive", "WSAEOPNOTSUPP",
        10045, rx:WSARecv(b, wsarecv.MSG_PEEK, wsarecv.overlapped()))
      case("MSG_WAITALL only on a stream socket", "WSAEOPNOTSUPP", 10045,
        rx:WSARecv(b, wsarecv.MSG_WAITALL, wsarecv.overlapped()))
      case("MSG_OOB only on a stream socket", "WSAEOPNOTSUPP", 10045,
        rx:WSARecv(b, wsarecv.MSG_OOB, wsarecv.overlapped()))
      case("send takes 0 or MSG_OOB", "WSAEOPNOTSUPP", 10045,
        rx:send("x", wsarecv.MSG_PEEK))
      case("never posted", "WSAEINVAL", 10022,
        rx:WSAGetOverlappedResult(wsarecv.overlapped()))
      local ov = wsarecv.overlapped()
      assert_pending(rx:WSARecv(b, 0, ov, function() end))
      case("with a routine", "WSAEINVAL", 10022,
        rx:WSAGetOverlappedResult(ov, true))
      case("slice", "WSAEFAULT", 10014,
        rx:WSARecv({ { wsarecv.buffer(4), 2, 8 } }, 0, wsarecv.overlapped()))
      case("0xFFFFFFFE", "WSAEINVAL", 10022, wsarecv.SleepEx(5e9))
      case("WSA_MAXIMUM_WAIT_EVENTS", "WSA_INVALID_PARAMETER", 87,
        wsarecv.WSAWaitForMultipleEvents({}))
      assert.equal(0, rx:setsockopt("FIONBIO", 1))
      case("nonblocking (FIONBIO)", "WSAEWOULDBLOCK", 10035,
        rx:WSARecv(wsarecv.buffer(8)))
      local st = T.socket("inet", "stream")
      case("WSARecvMsg only on a datagram or raw socket", "WSAEOPNOTSUPP",
        10045, st:WSARecvMsg(wsarecv.msg{ buffers = { b } },
          wsarecv.overlapped()))
      local m = wsarecv.msg{ buffers = { wsarecv.buffer(8) } }
      assert_pending(rx:WSARecvMsg(m, wsarecv.overlapped()))
      case("the msg is in use", "WSAEINVAL", 10022,
        rx:WSARecvMsg(m, wsarecv.overlapped()))
      local port = assert(wsarecv.CreateIoCompletionPort(st))
      case("belongs to a completion port already", "WSA_INVALID_PARAMETER",
        87, wsarecv.CreateIoCompletionPort(st))
      port:close()
    end)
end)

---------------------------------------------------------------------------
-- item 15: typos raise and say what is wrong
---------------------------------------------------------------------------

describe("typos (issue 15)", function()
  it("msg{...} refuses an unknown key, naming it and what it may mean",
    function()
      local b = wsarecv.buffer(8)
      local err = raised(wsarecv.msg, { buffer = b })
      assert.is_truthy(err and err:find("bad argument #1 to", 1, true), err)
      assert.is_truthy(err:find("(unknown field 'buffer'; did you mean "
        .. "'buffers'?)", 1, true), err)
      err = raised(wsarecv.msg, { b })
      assert.is_truthy(err and err:find("(unknown field '1'; the fields are "
        .. "buffers, control, flags and to)", 1, true), err)
      err = raised(wsarecv.msg, { buffers = { b }, contrl = 64 })
      assert.is_truthy(err and err:find("did you mean 'control'?", 1, true),
        err)
      local m = wsarecv.msg{ buffers = { b }, control = 64, flags = 0 }
      assert.equal(b, m.buffers[1])
      assert.equal(64, #m.controlbuf)
    end)

  it("ov.x = v tells a missing field (a typo) from a read-only one; reads "
    .. "of unknown names stay nil", function()
      local ov = wsarecv.overlapped()
      local err = raised(function() ov.contxt = 1 end)
      assert.is_truthy(err and err:find("overlapped has no field 'contxt'; "
        .. "did you mean 'context'?", 1, true), err)
      err = raised(function() ov.zork = 1 end)
      assert.is_truthy(err and err:find("overlapped has no field 'zork'", 1,
        true) and not err:find("mean"), err)
      err = raised(function() ov.bytes = 1 end)
      assert.is_truthy(err and err:find("overlapped field 'bytes' is "
        .. "read-only", 1, true), err)
      ov.context = 1
      assert.equal(1, ov.context)
      assert.is_nil(ov.contxt)
    end)

  it("msg.x = v: a missing field even while pending, a read-only one",
    function()
      local rx = udp()
      local m = wsarecv.msg{ buffers = { wsarecv.buffer(8) } }
      assert_pending(rx:WSARecvMsg(m, wsarecv.overlapped()))
      local err = raised(function() m.lenght = 1 end)
      assert.is_truthy(err and err:find("msg has no field 'lenght'; did you "
        .. "mean 'length'?", 1, true), err)
      err = raised(function() m.length = 1 end)
      assert.is_truthy(err and err:find("msg field 'length' is read-only", 1,
        true), err)
      err = raised(function() m.flags = 0 end)
      assert.is_truthy(err and err:find("in use", 1, true), err)
    end)

  it("sockets, buffers and ports have methods only: assigning says so",
    function()
      local s = T.socket("inet", "dgram")
      local err = raised(function() s.timeout = 1 end)
      assert.is_truthy(err and err:find("socket has no field 'timeout' (it "
        .. "has methods only)", 1, true), err)
      err = raised(function() s.close = print end)
      assert.is_truthy(err and err:find("socket method 'close' cannot be "
        .. "replaced", 1, true), err)
      local ok, closed = pcall(function() return s.close end)
      assert.is_true(ok and type(closed) == "function")
      err = raised(function() wsarecv.buffer(4).size = 8 end)
      assert.is_truthy(err and err:find("buffer has no field 'size'", 1,
        true), err)
      err = raised(function() wsarecv.buffer(100000).size = 8 end)
      assert.is_truthy(err and err:find("buffer has no field 'size'", 1,
        true), err)
      local port = wsarecv.CreateIoCompletionPort()
      err = raised(function() port.key = 1 end)
      port:close()
      assert.is_truthy(err and err:find("port has no field 'key'", 1, true),
        err)
    end)
end)

---------------------------------------------------------------------------
-- item 17: tostring says what a person at the REPL needs
---------------------------------------------------------------------------

describe("tostring (issue 17)", function()
  it("a socket shows its family, type, descriptor and addresses", function()
    local s = T.socket("inet", "dgram")
    local fd = s:fileno()
    assert.equal(("wsarecv.socket (inet/dgram fd=%d, unbound)"):format(fd),
      shown(s))
    local _, port = H.bound(s, "127.0.0.1")
    assert.equal(("wsarecv.socket (inet/dgram fd=%d, 127.0.0.1:%d)")
      :format(fd, port), shown(s))
    local c = T.socket("inet", "dgram")
    assert.equal(0, c:connect("127.0.0.1", port))
    local _, cport = c:getsockname()
    assert.equal(("wsarecv.socket (inet/dgram fd=%d, 127.0.0.1:%d -> "
      .. "127.0.0.1:%d)"):format(c:fileno(), cport, port), shown(c))
    local s6 = T.socket("inet6", "dgram")
    local _, port6 = H.bound(s6, "::1")
    assert.equal(("wsarecv.socket (inet6/dgram fd=%d, [::1]:%d)")
      :format(s6:fileno(), port6), shown(s6))
    local l = T.socket("inet", "stream")
    local _, lport = H.bound(l, "127.0.0.1")
    assert.equal(0, l:listen())
    assert.equal(("wsarecv.socket (inet/stream fd=%d, 127.0.0.1:%d "
      .. "listening)"):format(l:fileno(), lport), shown(l))
    s:close()
    assert.equal("wsarecv.socket (inet/dgram, closed)", shown(s))
  end)

  -- unix datagram sockets: Linux only (Windows' AF_UNIX has streams only)
  it("a unix socket shows its path, or unbound / unnamed #linux", function()
    local path = H.unix_path()
    local u = T.socket("unix", "dgram")
    assert.equal(("wsarecv.socket (unix/dgram fd=%d, unbound)")
      :format(u:fileno()), shown(u))
    assert.equal(0, u:bind(path))
    assert.equal(("wsarecv.socket (unix/dgram fd=%d, %s)")
      :format(u:fileno(), path), shown(u))
    local c = T.socket("unix", "dgram")
    assert.equal(0, c:connect(path))
    assert.equal(("wsarecv.socket (unix/dgram fd=%d, unnamed -> %s)")
      :format(c:fileno(), path), shown(c))
    os.remove(path)
  end)

  it("an overlapped object shows its state, bytes, flags and error",
    function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      assert.equal("wsarecv.overlapped (idle)", shown(ov))
      assert_pending(rx:WSARecv(wsarecv.buffer(16), 0, ov))
      assert.equal("wsarecv.overlapped (pending)", shown(ov))
      send("hello, world")
      assert.is_truthy(H.progress_until(function() return not ov.pending end))
      assert.equal("wsarecv.overlapped (done, 12 bytes)", shown(ov))
      -- too big for the buffers: failed, with the bytes placed
      assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov))
      send("too long")
      assert.is_truthy(H.progress_until(function() return not ov.pending end))
      assert.equal("wsarecv.overlapped (failed WSAEMSGSIZE, 4 bytes)",
        shown(ov))
      -- with a routine: done, its completion not yet delivered, then 1 byte
      local ran = false
      assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov,
        function() ran = true end))
      send("x")
      assert.is_truthy(H.progress_until(function() return not ov.pending end))
      assert.equal("wsarecv.overlapped (done, 1 byte, not yet delivered)",
        shown(ov))
      assert.is_truthy(H.wait_for(function() return ran end))
      assert.equal("wsarecv.overlapped (done, 1 byte)", shown(ov))
      -- a WSARecvMsg's output flags, by name
      local m = wsarecv.msg{ buffers = { wsarecv.buffer(2) } }
      assert_pending(rx:WSARecvMsg(m, ov))
      send("abc")
      assert.is_truthy(H.progress_until(function() return not ov.pending end))
      assert.equal("wsarecv.overlapped (failed WSAEMSGSIZE, 2 bytes, "
        .. "MSG_TRUNC)", shown(ov))
      -- aborted
      assert_pending(rx:WSARecv(wsarecv.buffer(4), 0, ov))
      rx:close()
      assert.equal("wsarecv.overlapped (failed WSA_OPERATION_ABORTED)",
        shown(ov))
    end)
end)
