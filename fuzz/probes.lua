--[[
fuzz/probes.lua -- the API-sequence fuzzer's probes: posts on busy objects
and msgs, wrong argument types (each must raise and change nothing), the
known defects' inputs (the crashing and hanging ones in a child
interpreter bounded by timeout), and the "rest" scenario
(fuzz/api_fuzz.lua loads it; not run on its own; its header names the
known defects).

  dofile(dir .. "/probes.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua, fuzz/model.lua):
  F.busy_probe()           posting a pending object, or a msg still in
                           use: WSAEINVAL, nothing changed
  F.wrong_types(on_closed) one call with a wrong argument type (on a
                           closed socket: known defect 5)
  F.child(code, limit, prefix)
                           runs code in a child lua5.4 (the same module
                           paths) under timeout: its output, how it ended,
                           its status (fuzz/port_ops.lua uses it too)
  F.known_bug_probes()     known defects 1, 7 (in a child), 4 and 2a
  F.scenario_rest(ep)      the sequence of known defect "rest"
]]

return function(F)
  local wsarecv = F.wsarecv
  local KB, stats = F.KB, F.stats
  local check, log, show = F.check, F.log, F.show
  local chance, pick = F.chance, F.pick
  local MSG_PARTIAL = wsarecv.MSG_PARTIAL
  local ovref, rxof, tmppath = F.ovref, F.rxof, F.tmppath
  local post_op, feed, call_wait = F.post_op, F.feed, F.call_wait
  local observe, liveness_all = F.observe, F.liveness_all

  ---------------------------------------------------------------------------
  -- probes: busy objects, wrong types, known defects
  ---------------------------------------------------------------------------

  local function busy_probe()
    local ops = {}
    for _, ep in ipairs(F.eps) do
      for _, op in pairs(ep.live) do ops[#ops + 1] = op end
    end
    if #ops == 0 then return end
    table.sort(ops, function(x, y) return x.id < y.id end)
    local op = pick(ops)
    local ep = op.ep
    local rx = rxof(ep)
    local ov = ovref(op)
    if not rx or not ov then return end
    local busy = ov.pending or (op.mode == "routine" and op.calls == 0)
    if busy then
      local before = rx:pending()
      local b = wsarecv.buffer(8)
      local a, name = rx:WSARecv(b, 0, ov, chance(0.5) and function() end or nil)
      log("busy probe op%d: %s %s", op.id, show(a), show(name))
      check(a == nil and name == "WSAEINVAL", "posting busy op%d's object: %s %s",
        op.id, show(a), show(name))
      check(rx:pending() == before, "a refused post changed pending()")
    end
    local m = op.msg or op.weak.msg
    if m and m.pending then
      local ok, e = pcall(function() m.buffers = wsarecv.buffer(1) end)
      check(not ok and tostring(e):find("in use", 1, true), "changing a pending "
        .. "msg: %s", tostring(e))
      local a, name = rx:WSARecvMsg(m, wsarecv.overlapped())
      check(a == nil and name == "WSAEINVAL", "posting pending msg: %s %s",
        show(a), show(name))
    elseif m and KB["6"] and op.mode == "routine" and op.calls == 0 then
      -- complete, its routine still queued: the msg is not free yet
      local a, name = rx:WSARecvMsg(m, wsarecv.overlapped())
      check(a == nil and name == "WSAEINVAL", "op%d's msg reposted while its "
        .. "routine is queued: %s %s (known defect 6)", op.id, show(a), show(name))
    end
    stats.probes = stats.probes + 1
  end

  -- wrong argument types: each must raise "bad argument", and change nothing.
  -- closed = false: on a closed socket it hits known defect 5.
  local function type_probes(X, b, ov, m, cb)
    local fn = function() end
    return {
      { "WSARecv str", function() return X:WSARecv("nope", 0, ov, fn) end },
      { "WSARecv flags str", function() return X:WSARecv(b, "x", ov, fn) end },
      { "WSARecv flags table", function() return X:WSARecv(b, {}, ov) end },
      { "WSARecv flags float", function() return X:WSARecv(b, 1.5, ov, fn) end },
      { "WSARecv ov str", function() return X:WSARecv(b, 0, "ov", fn) end },
      { "WSARecv ov buffer", function() return X:WSARecv(b, 0, b, fn) end },
      { "WSARecv routine num", function() return X:WSARecv(b, 0, ov, 42) end },
      { "WSARecv routine str", function() return X:WSARecv(b, 0, nil, "fn") end },
      { "WSARecv item num", function() return X:WSARecv({ b, 42 }, 0, ov, fn) end },
      { "WSARecv slice off", function() return X:WSARecv({ { b, "a" } }, 0, ov, fn) end },
      { "WSARecv slice len", function() return X:WSARecv({ { b, 0, 1.5 } }, 0, ov) end },
      { "WSARecv slice buf", function() return X:WSARecv({ { "x", 0, 1 } }, 0, ov) end },
      { "WSARecv closed buf", function() return X:WSARecv(cb, 0, ov, fn) end },
      { "WSARecv closed item", function() return X:WSARecv({ b, cb }, 0, ov) end },
      { "WSARecv sync bool", function() return X:WSARecv(true) end },
      { "WSARecv sync item", function() return X:WSARecv({ 42 }) end, closed = false },
      { "WSARecv sync slice", function() return X:WSARecv({ { b, {} } }) end,
        closed = false },
      { "WSARecv self", function() return X.WSARecv(b, b) end },
      { "WSARecvMsg str", function() return X:WSARecvMsg("msg") end },
      { "WSARecvMsg ov", function() return X:WSARecvMsg(m, "ov") end },
      { "WSARecvMsg routine", function() return X:WSARecvMsg(m, ov, {}) end },
      { "WSARecvMsg buf", function() return X:WSARecvMsg(b, ov) end },
      { "GetOverlappedResult str", function() return X:WSAGetOverlappedResult("ov") end },
      { "GetOverlappedResult buf", function() return X:WSAGetOverlappedResult(b) end },
      { "CancelIoEx str", function() return X:CancelIoEx("ov") end },
      { "CancelIoEx buf", function() return X:CancelIoEx(b) end },
      { "SleepEx str", function() return wsarecv.SleepEx("x") end },
      { "SleepEx -2", function() return wsarecv.SleepEx(-2) end },
      { "SleepEx float", function() return wsarecv.SleepEx(1.5) end },
      { "Wait str", function() return wsarecv.WSAWaitForMultipleEvents("x") end },
      { "Wait item", function() return wsarecv.WSAWaitForMultipleEvents({ b }) end },
      { "Wait ms", function() return wsarecv.WSAWaitForMultipleEvents(ov, false, "x") end },
      { "run mode", function() return wsarecv.run("bogus") end },
      { "msg str", function() return wsarecv.msg("x") end },
      { "msg buffers", function() return wsarecv.msg { buffers = 42 } end },
      { "msg control str", function() return wsarecv.msg { control = "x" } end },
      { "msg control neg", function() return wsarecv.msg { control = -1 } end },
      { "msg control big", function() return wsarecv.msg { control = 1 << 21 } end },
      { "msg flags str", function() return wsarecv.msg { flags = "x" } end },
      { "msg.buffers =", function() m.buffers = 42 end },
      { "msg.control =", function() m.control = true end },
      { "msg.control = {42}", function() m.control = { 42 } end },
      { "msg.to =", function() m.to = 5 end },
      { "msg.flags =", function() m.flags = "x" end },
      { "buffer neg", function() return wsarecv.buffer(-1) end },
      { "buffer table", function() return wsarecv.buffer({}) end },
      { "buf:sub", function() return b:sub("x") end },
      { "buf:write", function() return b:write(0, "x") end },
      { "buf:fill", function() return b:fill(300) end },
      { "setsockopt name", function() return X:setsockopt("NOPE", 1) end },
      { "setsockopt value", function() return X:setsockopt("SO_RCVBUF", "x") end,
        closed = false },
      { "getsockopt name", function() return X:getsockopt({}) end },
      { "bind addr", function() return X:bind({}) end, closed = false },
      { "connect addr", function() return X:connect({}, 1) end, closed = false },
      { "sendto addr", function() return X:sendto("x", {}, 1) end, closed = false },
      { "send data", function() return X:send({}) end },
      { "listen", function() return X:listen("x") end, closed = false },
      { "shutdown", function() return X:shutdown("sideways") end },
      { "socket family", function() return wsarecv.socket("bogus", "dgram") end },
      { "socket type", function() return wsarecv.socket("inet", "bogus") end },
      { "socket proto", function() return wsarecv.socket("inet", "dgram", "bogus") end },
      { "wrap str", function() return wsarecv.wrap("x") end },
      { "wrap neg", function() return wsarecv.wrap(-1) end },
    }
  end

  local function wrong_types(on_closed)
    local ep = pick(F.eps)
    local X = rxof(ep)
    if not X then return end
    if on_closed then
      X = wsarecv.socket("inet", "dgram")
      X:close()
    end
    on_closed = on_closed or ep.closed
    local b, cb, ov = wsarecv.buffer(16), wsarecv.buffer(4), wsarecv.overlapped()
    cb:close()
    local m = wsarecv.msg { buffers = b }
    local probes = type_probes(X, b, ov, m, cb)
    local p = pick(probes)
    if on_closed and p.closed == false and not KB["5"] then return end
    local before = (not on_closed and not ep.closed) and X:pending()
    local ok, e = pcall(p[2])
    log("type probe %s%s -> %s %s", p[1], on_closed and " (closed)" or "",
      tostring(ok), tostring(e))
    check(not ok and tostring(e):find("bad argument", 1, true),
      "wrong-type call %s%s did not raise: %s %s", p[1],
      on_closed and " on a closed socket" or "", tostring(ok), show(e))
    check(not ov.pending, "wrong-type call %s left its object pending", p[1])
    if before then
      check(X:pending() == before, "wrong-type call %s changed pending()", p[1])
    end
    stats.probes = stats.probes + 1
  end

  -- Run code in a child interpreter (same module paths and environment),
  -- bounded in time: known defects 1 and 7 can hang.
  local function child(code, limit, prefix)
    local f = os.tmpname()
    local h = assert(io.open(f, "w"))
    h:write(code)
    h:close()
    local q = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
    local cmd = ("%sLUA_PATH=%s LUA_CPATH=%s timeout -k 2 %d lua5.4 %s 2>&1")
      :format(prefix or "", q(package.path), q(package.cpath), limit, q(f))
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local _, how, rc = p:close()
    os.remove(f)
    return out, how, rc
  end

  local function known_bug_probes()
    if KB["1"] then
      local out, how, rc = child([[
        local w = require "wsarecv"
        local rx = w.socket("inet", "dgram"); rx:bind("127.0.0.1", 0)
        local _, port = rx:getsockname()
        rx:setsockopt("IP_PKTINFO", true); rx:setsockopt("IP_RECVTTL", true)
        local tx = w.socket("inet", "dgram")
        tx:sendto("x", "127.0.0.1", port)
        local ctl = w.buffer(64)
        local m = w.msg{buffers = w.buffer(8), control = ctl}
        assert(rx:WSARecvMsg(m) == 0)
        -- cmsghdr: size_t cmsg_len, int level, int type.  Alone, and after
        -- a valid IP_TTL header (a bad length past offset 0 can wrap)
        local lens = {0, 1, 15, 16, 17, 20, 63, 64, 65, 0xffffffff, 1 << 40,
                      -1, -8, -16, -17, -32, math.mininteger, math.maxinteger}
        for _, len in ipairs(lens) do
          for _, lt in ipairs{{0, 8}, {0, 2}, {41, 50}, {1, 29}, {17, 104}, {7, 7}} do
            ctl:fill(0)
            ctl:write(1, string.pack("=i8i4i4", len, lt[1], lt[2]))
            pcall(m.control, m)
            ctl:write(1, string.pack("=i8i4i4i4", 20, 0, 2, 64))
            ctl:write(25, string.pack("=i8i4i4", len, lt[1], lt[2]))
            pcall(m.control, m)
          end
          ctl:fill(0xff)
          pcall(m.control, m)
        end
        print("done")
      ]], 10)
      check(how == "exit" and rc == 0 and out:find("done", 1, true)
        and not out:find("Sanitizer", 1, true) and not out:find("runtime error", 1, true),
        "msg:control() on an overwritten control buffer (known defect 1): %s %s\n%s",
        show(how), show(rc), out)
    end
    if KB["7"] then
      local out, how, rc = child([[
        local w = require "wsarecv"
        print(pcall(w.SleepEx, 1 << 62, false))
        print(pcall(w.SleepEx, math.maxinteger, true))
        print("done")
      ]], 5)
      check(how == "exit" and rc == 0 and out:find("done", 1, true),
        "SleepEx(2^62) did not return (known defect 7): %s %s\n%s", show(how),
        show(rc), out)
    end
    if KB["4"] then
      local s = wsarecv.socket("inet", "dgram")
      local ok, a = pcall(s.bind, s, "127.0.0.1\0junk", 0)
      s:close()
      check(not ok or a == nil, "bind accepted an address with an embedded zero "
        .. "(known defect 4)")
      local u = wsarecv.socket("unix", "dgram")
      local p = tmppath()
      ok, a = pcall(u.bind, u, p .. "\0junk")
      u:close()
      os.remove(p)
      check(not ok or a == nil, "bind accepted a path with an embedded zero "
        .. "(known defect 4)")
    end
    if KB["2a"] then
      local b = wsarecv.buffer(8)
      local s = rxof(pick(F.eps))
      if s then
        local a, name = s:WSARecv({ { b, math.mininteger } }, 0, wsarecv.overlapped())
        check(a == nil and name == "WSAEFAULT", "slice {buf, mininteger}: %s %s",
          show(a), show(name))
      end
    end
  end

  ---------------------------------------------------------------------------
  -- the sequence of known defect "rest"
  ---------------------------------------------------------------------------

  -- The sequence of known defect "rest": a receive finds the socket empty
  -- and is cancelled; a datagram comes; a MSG_PARTIAL receive takes its
  -- first piece; its routine posts the next receive, which must get the rest.
  local function scenario_rest(ep)
    local rx = rxof(ep)
    if ep.k.type ~= "dgram" or ep.closed or ep.shut or not rx or ep.nlive > 0
       or ep.port
       or ep.dgtail >= ep.dghead or ep.txdead then
      return
    end
    log("scenario rest on ep%d", ep.id)
    post_op(ep, nil, nil, { api = "recv", mode = "event", flags = 0, size = 8 })
    local op0 = F.last_op
    if not op0 or not op0.ov or not op0.ov.pending then return end
    local a = rx:CancelIoEx(op0.ov)
    check(a == 0, "scenario: CancelIoEx failed")
    op0.must_abort = true
    observe(op0)
    feed(ep, 100)
    post_op(ep, nil, nil, { api = "recv", mode = "routine", flags = MSG_PARTIAL,
      size = 10, repost = { api = "recv", mode = "event", flags = 0, size = 10 } })
    for _ = 1, 3 do call_wait(true, wsarecv.SleepEx, 0, true) end
    liveness_all()
  end

  F.busy_probe, F.wrong_types = busy_probe, wrong_types
  F.child, F.known_bug_probes = child, known_bug_probes
  F.scenario_rest = scenario_rest
end
