--[[
fuzz/check.lua -- the API-sequence fuzzer's checker: each completion is
recorded exactly once and verified against the model, in posting order
per socket; the counts and the liveness checked between steps
(fuzz/api_fuzz.lua loads it; not run on its own; its header lists the
invariants).

  dofile(dir .. "/check.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua, fuzz/model.lua):
  F.record(op, err, bytes, flags, how)
                   op's completion, seen once (a second one fails): the
                   bytes it placed (nothing written outside them: the
                   buffers hold F.SENT elsewhere), the same result as an
                   earlier WSAGetOverlappedResult or at-once completion
  F.finish_op(op)  after a result: out of the live set, objects and
                   buffers back to the pools, the socket's order verified
  F.verify_ep(ep)  verifies ep's completed operations in posting order:
                   stream bytes (nothing lost, duplicated or reordered;
                   MSG_WAITALL, MSG_PEEK, the end of the stream),
                   datagrams (order, content, MSG_PARTIAL pieces,
                   truncation, source address, control messages and
                   MSG_CTRUNC), the errors each may end with
  F.verify_oob(op) a MSG_OOB receive (outside the data order)
  F.same(a, b)     equal, or both NaN
  F.observe(op, how), F.observe_all()
                   reads an event-mode operation's result once it is no
                   longer pending (WSAGetOverlappedResult, the ov fields)
  F.check_counts() sock:pending() within the model's bounds (and the
                   port checks of fuzz/port_ops.lua)
  F.liveness(), F.liveness_all()
                   a receive whose datagram is waiting completes in a few
                   nonblocking pumps
]]

return function(F)
  local wsarecv = F.wsarecv
  local KB, stats = F.KB, F.stats
  local check, fail, log, show = F.check, F.fail, F.log, F.show
  local pick = F.pick
  local MSG_PEEK, MSG_WAITALL = wsarecv.MSG_PEEK, wsarecv.MSG_WAITALL
  local MSG_PARTIAL = wsarecv.MSG_PARTIAL
  local MSG_TRUNC, MSG_CTRUNC = wsarecv.MSG_TRUNC, wsarecv.MSG_CTRUNC
  local MSG_BCAST, MSG_MCAST = wsarecv.MSG_BCAST, wsarecv.MSG_MCAST
  local ERR = wsarecv.errors
  local SENT = F.SENT
  local SENTCH = string.char(SENT)
  local ovref, rxof, pattern = F.ovref, F.rxof, F.pattern
  local retire_op, give_ov, release_bufs = F.retire_op, F.give_ov,
    F.release_bufs
  local guaranteed = F.guaranteed

  ---------------------------------------------------------------------------
  -- a completion, recorded once
  ---------------------------------------------------------------------------

  -- The first n bytes the operation placed (packed in array order), after
  -- checking that nothing outside them changed.
  local function snapshot(lay, n, what)
    local parts, left, written = {}, n, {}
    for _, it in ipairs(lay.items) do
      local b, off, len = it[1], it[2], it[3]
      local k = math.min(len, left)
      if k > 0 then
        parts[#parts + 1] = b:sub(off + 1, off + k)
        left = left - k
        local w = written[b] or {}
        written[b] = w
        w[#w + 1] = { off, off + k }
      end
    end
    check(left == 0, "%s: %d bytes reported, the buffers hold %d", what, n,
      n - left)
    for _, b in ipairs(lay.bufs) do
      local w = written[b] or {}
      table.sort(w, function(x, y) return x[1] < y[1] end)
      local pos = 0
      w[#w + 1] = { #b, #b }
      for _, r in ipairs(w) do
        if r[1] > pos then
          local s = b:sub(pos + 1, r[1])
          if s ~= SENTCH:rep(#s) then
            local i = 1
            while s:byte(i) == SENT do i = i + 1 end
            fail("%s: byte %d of a %d-byte buffer was written outside the %d "
              .. "bytes reported", what, pos + i, #b, n)
          end
        end
        pos = math.max(pos, r[2])
      end
    end
    return table.concat(parts)
  end

  -- the result of a WSARecvMsg, read from its msg
  local function msg_result(op, res)
    local m = op.msg or op.weak.msg
    res.msgflags = m.flags
    res.name, res.port = m:name()
    res.control = m:control()
  end

  local function same(a, b) return a == b or (a ~= a and b ~= b) end

  local function record(op, err, bytes, flags, how)
    check(not op.result, "op%d completed twice (%s)", op.id, how)
    local lay = op.lay
    local res = { err = err, bytes = bytes, flags = flags, how = how }
    if op.peeked then
      -- WSAGetOverlappedResult saw it first: the same result
      check(same(op.peeked.err, err) and op.peeked.bytes == bytes
        and op.peeked.flags == flags, "op%d: routine got %s/%s/%s, "
        .. "WSAGetOverlappedResult gave %s/%s/%s", op.id, show(err), show(bytes),
        show(flags), show(op.peeked.err), show(op.peeked.bytes),
        show(op.peeked.flags))
    end
    if op.atonce then
      check(err == nil and op.atonce.bytes == bytes and op.atonce.flags == flags,
        "op%d completed at once with %d bytes, flags %d; completion says "
        .. "%s, %s, %s", op.id, op.atonce.bytes, op.atonce.flags, show(err),
        show(bytes), show(flags))
    end
    res.data = snapshot(lay, bytes, "op" .. op.id)
    if op.api == "msg" then msg_result(op, res) end
    op.result = res
    stats.completions = stats.completions + 1
    log("op%d done (%s): %s %d bytes flags 0x%x", op.id, how, show(err), bytes, flags)
  end

  -- after a result: hand back what can be reused, check the order
  local verify_oob, verify_ep
  local function finish_op(op)
    local msgpool = F.msgpool
    retire_op(op)
    if op.oob then verify_oob(op) end
    if not op.dropped then give_ov(op.ov) end
    if op.msg and not op.dropped and #msgpool < 24 then
      msgpool[#msgpool + 1] = op.msg
    end
    if not op.dropped then release_bufs(op.lay) end
    verify_ep(op.ep)
  end

  ---------------------------------------------------------------------------
  -- verification, in posting order per socket
  ---------------------------------------------------------------------------

  local function find_dgram(ep, data)
    -- a UDP datagram lost on the way?  (bounded backlogs make this rare)
    if #data < 6 or not ep.k.addr or ep.k.type ~= "dgram" then return nil end
    local seq = string.unpack(">I4", data)
    for i = ep.dghead, ep.dgtail do
      local d = ep.dgq[i]
      if string.unpack(">I4", d) == seq and d:sub(1, #data) == data then
        return i
      end
    end
  end

  local function check_control(ep, op, res, fromrest)
    local ctl = res.control or {}
    if fromrest then
      check(#ctl == 0, "op%d: the rest of a MSG_PARTIAL datagram came with %d "
        .. "control messages", op.id, #ctl)
      return
    end
    local want, used, seen = {}, 0, {}
    for _, c in ipairs(ep.cmsgs) do want[c[2]] = c[3] end
    for _, c in ipairs(ctl) do
      local space = want[c.type]
      check(space, "op%d: control message %s was not enabled", op.id, show(c.type))
      check(not seen[c.type], "op%d: control message %s twice", op.id, c.type)
      seen[c.type] = true
      used = used + space
      if c.type == "IP_PKTINFO" then
        check(c.addr == "127.0.0.1", "op%d: IP_PKTINFO addr %s", op.id, show(c.addr))
      elseif c.type == "IPV6_PKTINFO" then
        check(c.addr == "::1", "op%d: IPV6_PKTINFO addr %s", op.id, show(c.addr))
      elseif c.type == "IP_TTL" then
        check(c.ttl >= 1 and c.ttl <= 255, "op%d: ttl %s", op.id, show(c.ttl))
      elseif c.type == "SO_TIMESTAMP" then
        check(c.sec > 1e9, "op%d: timestamp %s", op.id, show(c.sec))
      end
    end
    check(used <= op.ctrlcap, "op%d: %d bytes of control messages in a %d-byte "
      .. "buffer", op.id, used, op.ctrlcap)
    local ctrunc = res.msgflags & MSG_CTRUNC ~= 0
    if op.ctrlcap >= ep.cmsg_need then
      check(not ctrunc and #ctl == #ep.cmsgs, "op%d: control buffer %d >= %d "
        .. "needed, got %d of %d messages, MSG_CTRUNC %s", op.id, op.ctrlcap,
        ep.cmsg_need, #ctl, #ep.cmsgs, tostring(ctrunc))
    else
      check(ctrunc, "op%d: control buffer %d < %d needed, MSG_CTRUNC not set",
        op.id, op.ctrlcap, ep.cmsg_need)
      if KB["11"] then
        check(res.err == "WSAEMSGSIZE", "op%d: MSG_CTRUNC with %s, not "
          .. "WSAEMSGSIZE (known defect 11)", op.id, show(res.err))
      end
    end
  end

  local function verify_stream(ep, op)
    local r, n = op.result, op.result.bytes
    local waitall = op.flags & MSG_WAITALL ~= 0
    local peek = op.flags & MSG_PEEK ~= 0
    local e = r.err
    if e == nil then
      check(r.flags == 0, "op%d: stream receive flags 0x%x", op.id, r.flags)
      if op.lay.cap == 0 then
        check(n == 0, "op%d: zero-byte receive got %d bytes", op.id, n)
        return
      end
      if n == 0 then
        check(ep.eof and ep.consumed == ep.sent, "op%d: 0 bytes (end of "
          .. "stream) with %d bytes unread, peer %s", op.id,
          ep.sent - ep.consumed, ep.eof and "closed" or "open")
      elseif waitall then
        check(n == op.lay.cap or (ep.eof and ep.consumed + n == ep.sent),
          "op%d: MSG_WAITALL completed with %d of %d bytes", op.id, n, op.lay.cap)
      end
    elseif e == "WSA_OPERATION_ABORTED" then
      check(op.must_abort or op.may_abort, "op%d aborted, never cancelled", op.id)
      check(n == 0 or waitall, "op%d aborted with %d bytes", op.id, n)
      stats.aborted = stats.aborted + 1
    elseif e == "WSAETIMEDOUT" or e == "WSAEWOULDBLOCK" then
      check(op.mode == "sync", "op%d: %s on an overlapped receive", op.id, e)
      check(n == 0 or (waitall and e == "WSAETIMEDOUT"), "op%d: %s with %d bytes",
        op.id, e, n)
    elseif e == "WSAESHUTDOWN" then
      check(op.shut_fail or op.may_shut, "op%d: WSAESHUTDOWN, never shut "
        .. "down", op.id)
      check(n == 0 or waitall, "op%d: WSAESHUTDOWN with %d bytes", op.id, n)
    else
      fail("op%d: unexpected stream result %s (%d bytes)", op.id, show(e), n)
    end
    check(op.must_abort == nil or e == "WSA_OPERATION_ABORTED",
      "op%d: cancelled while pending, completed with %s", op.id, show(e))
    check(n <= op.lay.cap, "op%d: %d bytes in %d", op.id, n, op.lay.cap)
    check(ep.consumed + n <= ep.sent, "op%d: %d bytes at %d, only %d sent",
      op.id, n, ep.consumed, ep.sent)
    if r.data ~= pattern(ep.consumed, n) then
      local want = pattern(ep.consumed, n)
      local i = 1
      while r.data:byte(i) == want:byte(i) do i = i + 1 end
      fail("op%d: stream data wrong at byte %d of %d (stream offset %d)",
        op.id, i, n, ep.consumed + i - 1)
    end
    if peek then
      stats.peeks = stats.peeks + 1
    else
      ep.consumed = ep.consumed + n
      stats.bytes = stats.bytes + n
    end
  end

  local function dg_advance(ep)
    ep.dgq[ep.dghead] = nil
    ep.dghead = ep.dghead + 1
    ep.part = nil
    stats.dgrams = stats.dgrams + 1
  end

  local function verify_dgram(ep, op)
    local r, n, e = op.result, op.result.bytes, op.result.err
    local msgop = op.api == "msg"
    local peek = op.flags & MSG_PEEK ~= 0
    if e == "WSA_OPERATION_ABORTED" or e == "WSAETIMEDOUT"
       or e == "WSAEWOULDBLOCK" or e == "WSAESHUTDOWN" then
      check(n == 0, "op%d: %s with %d bytes", op.id, e, n)
      if e == "WSA_OPERATION_ABORTED" then
        check(op.must_abort or op.may_abort, "op%d aborted, never cancelled", op.id)
        stats.aborted = stats.aborted + 1
      elseif e == "WSAESHUTDOWN" then
        check(op.shut_fail or op.may_shut, "op%d: WSAESHUTDOWN, never shut "
        .. "down", op.id)
      else
        check(op.mode == "sync", "op%d: %s on an overlapped receive", op.id, e)
      end
      return
    end
    check(op.must_abort == nil, "op%d: cancelled while pending, completed "
      .. "with %s", op.id, show(e))
    local D = ep.dgq[ep.dghead]
    if e == "WSAEDISCON" then
      check(ep.kind == "seqpacket" and ep.eof and D == nil, "op%d: WSAEDISCON "
        .. "with the peer %s and %d datagrams unread", op.id,
        ep.eof and "closed" or "open", ep.dgtail - ep.dghead + 1)
      return
    end
    check(e == nil or e == "WSAEMSGSIZE", "op%d: unexpected datagram result %s",
      op.id, show(e))
    check(D, "op%d completed (%s, %d bytes) with no datagram sent", op.id,
      show(e), n)
    if not ep.part and r.data:sub(1, 6) ~= D:sub(1, math.min(6, n)) then
      local i = find_dgram(ep, r.data)
      if i then
        stats.udp_lost = stats.udp_lost + (i - ep.dghead)
        log("ep%d: %d datagrams lost", ep.id, i - ep.dghead)
        for j = ep.dghead, i - 1 do ep.dgq[j] = nil end
        ep.dghead = i
        D = ep.dgq[i]
      elseif #r.data >= 6 then
        local seq = string.unpack(">I4", r.data)
        fail("op%d: got datagram #%d, expected #%d (duplicated, reordered or "
          .. "corrupt)", op.id, seq, string.unpack(">I4", D))
      end
    end
    local cap = op.lay.cap
    local want, werr, wflags, consume
    if ep.part then
      -- the rest of a datagram a MSG_PARTIAL receive began
      local rest = D:sub(ep.part + 1)
      local k = math.min(#rest, cap)
      want = rest:sub(1, k)
      if msgop then
        werr = k < #rest and "WSAEMSGSIZE" or nil
        wflags = k < #rest and MSG_TRUNC or 0
        consume = not peek and "all"
      elseif cap == 0 then
        -- an empty-buffer receive (--known-bugs 10) meeting a rest: readiness
        -- (nothing taken) or, like any too-small receive, WSAEMSGSIZE with the
        -- rest discarded; either reading of the fix is accepted
        werr, wflags = e, r.flags
        check(n == 0 and (e == nil or e == "WSAEMSGSIZE"), "op%d: empty-buffer "
          .. "receive on a MSG_PARTIAL rest: %s, %d bytes", op.id, show(e), n)
        consume = not peek and e == "WSAEMSGSIZE" and "all"
      else
        werr = nil
        wflags = k < #rest and MSG_PARTIAL or 0
        consume = not peek and (k < #rest and k or "all")
      end
      stats.pieces = stats.pieces + 1
    elseif not msgop and op.flags & MSG_PARTIAL ~= 0 and #D > cap then
      -- the first piece (empty when the buffers are): the rest waits for the
      -- next receives
      want, werr, wflags = D:sub(1, cap), nil, MSG_PARTIAL
      consume = peek and 0 or cap
      stats.pieces = stats.pieces + 1
    elseif not msgop and cap == 0 then
      -- an empty-buffer receive (only made with --known-bugs 10): fixed,
      -- the datagram is taken and reported too long
      want, werr, wflags, consume = "", "WSAEMSGSIZE", 0, not peek and "all"
    else
      local k = math.min(#D, cap)
      want = D:sub(1, k)
      werr = #D > cap and "WSAEMSGSIZE" or nil
      wflags = msgop and (#D > cap and MSG_TRUNC or 0) or 0
      consume = not peek and "all"
    end
    check(n == #want, "op%d: %d bytes, expected %d (datagram of %d, buffers "
      .. "%d, rest %s)", op.id, n, #want, #D, cap, show(ep.part))
    check(r.data == want, "op%d: datagram content wrong (%d bytes)", op.id, n)
    if msgop then
      local mf = r.msgflags
      check(mf & (MSG_TRUNC | MSG_BCAST | MSG_MCAST) == wflags, "op%d: msg.flags "
        .. "0x%x, expected MSG_TRUNC %s", op.id, mf, tostring(wflags ~= 0))
      check(r.flags == mf, "op%d: routine/result flags 0x%x, msg.flags 0x%x",
        op.id, r.flags, mf)
      local ctrunc = mf & MSG_CTRUNC ~= 0
      check(e == werr or (e == "WSAEMSGSIZE" and werr == nil and ctrunc),
        "op%d: %s, expected %s", op.id, show(e), show(werr))
      check(r.name == ep.txaddr and r.port == ep.txport, "op%d: source %s %s, "
        .. "sender is %s %s", op.id, show(r.name), show(r.port),
        show(ep.txaddr), show(ep.txport))
      check_control(ep, op, r, ep.part ~= nil)
    else
      check(e == werr, "op%d: %s, expected %s (datagram %d bytes, buffers %d)",
        op.id, show(e), show(werr), #D, cap)
      check(r.flags == wflags, "op%d: flags 0x%x, expected 0x%x", op.id,
        r.flags, wflags)
    end
    if peek then stats.peeks = stats.peeks + 1 end
    if consume == "all" then
      dg_advance(ep)
    elseif consume then
      ep.part = (ep.part or 0) + consume
    end
  end

  -- results of operations outside the data order (MSG_OOB receives)
  function verify_oob(op)
    local r = op.result
    check(r.bytes == 0, "op%d: MSG_OOB receive got %d bytes", op.id, r.bytes)
    check(r.err == "WSA_OPERATION_ABORTED" or r.err == "WSAESHUTDOWN"
      or r.err == "WSAETIMEDOUT" or r.err == "WSAEWOULDBLOCK",
      "op%d: MSG_OOB receive (no urgent data is sent) completed with %s",
      op.id, show(r.err))
    if r.err == "WSA_OPERATION_ABORTED" then
      check(op.must_abort or op.may_abort, "op%d aborted, never cancelled", op.id)
    end
  end

  function verify_ep(ep)
    while true do
      local op = ep.order[ep.ohead]
      if not op or not op.result then return end
      ep.order[ep.ohead] = nil
      ep.ohead = ep.ohead + 1
      if ep.stream then verify_stream(ep, op) else verify_dgram(ep, op) end
      op.verified = true
    end
  end

  ---------------------------------------------------------------------------
  -- an event's result, read once it is signalled
  ---------------------------------------------------------------------------

  local function observe(op, how)
    local ov = ovref(op)
    if op.mode ~= "event" or op.result or ov.pending then return false end
    local rx = rxof(op.ep)
    check(rx, "op%d: its socket was collected while the object holds it", op.id)
    local r = table.pack(rx:WSAGetOverlappedResult(ov))
    local err, bytes, flags
    if r[1] then
      bytes, flags = r[1], r[2]
    else
      err, bytes, flags = r[2], r[4] or 0, ov.flags
      check(r[3] == ERR[err], "WSAGetOverlappedResult: code %s for %s",
        show(r[3]), show(err))
      check(err ~= "WSA_IO_INCOMPLETE", "op%d: not pending, yet incomplete", op.id)
    end
    check(ov.bytes == bytes and ov.error == err and ov.flags == flags,
      "op%d: ov fields %s/%s/%s, result %s/%s/%s", op.id, show(ov.bytes),
      show(ov.error), show(ov.flags), show(bytes), show(err), show(flags))
    record(op, err, bytes, flags, how or "event")
    stats.events = stats.events + 1
    op.calls = 1
    finish_op(op)
    return true
  end

  local function observe_all()
    for _, ep in ipairs(F.eps) do
      for _, op in pairs(ep.live) do
        if op.mode == "event" then observe(op) end
      end
    end
  end

  ---------------------------------------------------------------------------
  -- the invariants checked between steps
  ---------------------------------------------------------------------------

  local function check_counts()
    for _, ep in ipairs(F.eps) do
      local rx = rxof(ep)
      local known, unknown = 0, 0
      for _, op in pairs(ep.live) do
        local ov = ovref(op)
        if ov then
          if ov.pending then known = known + 1 end
        elseif op.calls == 0 then
          unknown = unknown + 1
        end
      end
      if rx then
        local n = rx:pending()
        check(n >= known and n <= known + unknown, "ep%d: pending() %d, model "
          .. "%d (+%d unknown)", ep.id, n, known, unknown)
      else
        check(known == 0 and unknown == 0, "ep%d: socket collected with %d "
          .. "pending", ep.id, known + unknown)
      end
    end
    F.P.check(false)
  end

  -- A receive on a message socket whose datagram the model knows is waiting
  -- must complete in a few nonblocking pumps (the kernel has the data; the
  -- poll is level-triggered).
  local function liveness()
    local ep = pick(F.eps)
    if not ep.msgo or ep.closed or not rxof(ep) then return end
    local op = ep.order[ep.ohead]
    if not op or op.result or op.mode == "sync" then return end
    local ov = ovref(op)
    if not ov or not ov.pending or not guaranteed(op) then return end
    for _ = 1, 3 do
      F.call_wait(false, wsarecv.SleepEx, 0, false)
      if not ov.pending then return end
    end
    fail("op%d (ep%d %s) stays pending with %d datagrams sent and unread "
      .. "(a stalled receive)", op.id, ep.id, ep.kind, ep.dgtail - ep.dghead + 1)
  end

  local function liveness_all()
    for _, ep in ipairs(F.eps) do
      if ep.msgo and not ep.closed and rxof(ep) then
        local op = ep.order[ep.ohead]
        local ov = op and not op.result and op.mode ~= "sync" and ovref(op)
        if ov and ov.pending and guaranteed(op) then
          for _ = 1, 3 do
            F.call_wait(false, wsarecv.SleepEx, 0, false)
            if not ov.pending then break end
          end
          check(not ov.pending, "op%d (ep%d %s) stays pending with %d datagrams "
            .. "sent and unread (a stalled receive)", op.id, ep.id, ep.kind,
            ep.dgtail - ep.dghead + 1)
        end
      end
    end
  end

  F.record, F.finish_op, F.verify_ep, F.verify_oob = record, finish_op,
    verify_ep, verify_oob
  F.observe, F.observe_all, F.same = observe, observe_all, same
  F.check_counts, F.liveness, F.liveness_all = check_counts, liveness,
    liveness_all
end
