--[[
fuzz/ops_send.lua -- the sending half of the API-sequence fuzzer: WSASend,
WSASendTo, WSASendMsg, AcceptEx and ConnectEx on flows of its own, and a
model of every byte they carry (fuzz/api_fuzz.lua loads it; not run on
its own).

  dofile(dir .. "/ops_send.lua")(F)

A flow is one sender and one receiver: a TCP (v4, v6) or unix stream
connection, made with connect/accept or with an AcceptEx/ConnectEx pair
(then the connector sends, its ConnectEx data first; the AcceptEx buffer
takes the first bytes), or a UDP (v4, v6) or unix datagram pair.  The
sender is nonblocking (FIONBIO; some UDP senders block, some are bound
only by their first send) and posts sends in every form: a routine, an
event (read with WSAGetOverlappedResult or WSAWaitForMultipleEvents), the
session's send port (the sender associated under the flow's key;
datagram sends there are batched into one sendmmsg; the port may close
mid-session), and nonoverlapped; data as a string, a buffer, or an array
of buffers and slices (up to hundreds, or more than a send takes);
MSG_OOB on TCP (the receiver has SO_OOBINLINE, so the urgent byte stays
in the stream); IP_PKTINFO choosing the source (127.0.0.2); datagrams too
big (WSAEMSGSIZE at the call, nothing sent); CancelIoEx of one send or
all, close of the sender or (rarely) of the receiver with sends pending;
receives pending on the sender's socket beside its sends; posts refused
at once (busy object or msg, a routine on a port's socket, MSG_PEEK,
after shutdown("send")).  AcceptEx and ConnectEx also end by CancelIoEx
and close, and their refusals are probed (a bound or foreign accept
socket, an unbound or connected connector, a send before the connection;
a ConnectEx to a closed port completes WSAECONNREFUSED).  The receiver is
read here, nonoverlapped and nonblocking (datagrams with WSARecvMsg, for
their source address).

The model: a stream send is a segment of the pattern (F.pattern) at an
offset of its own, a gap after the last one, so that the boundary the
completion reports is checked by the bytes that follow it; its length is
what the completion reports (all of it when it succeeds; any prefix when
aborted).  The receiver's bytes are checked against the segments in
posting order as soon as their lengths are known: every byte that left,
exactly once, in order, nothing else.  A datagram is numbered (F.dgram);
it arrives at most once, in order, intact, from its source address,
never after its send reported that nothing left, and at the end every
datagram whose send succeeded has arrived (loopback, a backlog far below
the receive buffer: UDP loses nothing either).  Every operation
completes exactly once, in the way it was posted (its routine once, inside
an alertable wait, with its own object; its event read; its port entry
once, with the flow's key), and at once when the call said so, with the
same bytes; a post that fails at once never completes.  At a session's
end every flow is drained: its sends complete while the receiver reads
(a send that never completes with the receiver empty is a stall), then
the senders close and the receivers read to the end.

Adds to the fuzzer's table F (see fuzz/common.lua):
  F.send_step()          one random action on the flows
  F.send_routine_action(op)
                         what a send's routine may do next
  F.send_outstanding()   pending operations and queued routines of the
                         flows (for F.outstanding: run() and the waits)
  F.send_ready()         routines of the flows queued (wsarecv.ready())
  F.send_new_session(), F.send_drain()
                         a session's start and end
  F.send_report()        the counters, for the final report
]]

return function(F)
  local wsarecv = F.wsarecv
  local stats = F.stats
  local check, fail, log, show = F.check, F.fail, F.log, F.show
  local random, chance, rint, pick = F.random, F.chance, F.rint, F.pick
  local pattern = F.pattern
  local MSG_OOB, MSG_PEEK = wsarecv.MSG_OOB, wsarecv.MSG_PEEK
  local ABORTED = "WSA_OPERATION_ABORTED"
  local ERR = wsarecv.errors

  for _, k in ipairs { "sends", "send_bytes", "send_dgrams", "send_aborted",
                       "send_refused", "send_part_aborted", "send_routines",
                       "send_events", "send_entries", "send_sync", "send_oob",
                       "accepts", "connects", "refused_connects", "flows",
                       "send_rx_bytes", "send_rx_dgrams", "send_udp_lost" } do
    stats[k] = 0
  end

  -- what a send to a receiver that went away may end with
  local BROKEN = { WSAECONNRESET = true, WSAECONNABORTED = true,
                   WSAENOTCONN = true, WSAESHUTDOWN = true,
                   WSAECONNREFUSED = true, WSAEDESTADDRREQ = true }

  local KIND = {
    tcp4 = { family = "inet", type = "stream", addr = "127.0.0.1", tcp = true },
    tcp6 = { family = "inet6", type = "stream", addr = "::1", tcp = true },
    unixstream = { family = "unix", type = "stream" },
    udp4 = { family = "inet", type = "dgram", addr = "127.0.0.1",
             max = 65507, pktinfo = { "IPPROTO_IP", "IP_PKTINFO" },
             srcs = { "127.0.0.1", "127.0.0.2" } },
    udp6 = { family = "inet6", type = "dgram", addr = "::1", max = 65527,
             pktinfo = { "IPPROTO_IPV6", "IPV6_PKTINFO" }, srcs = { "::1" } },
    unixdgram = { family = "unix", type = "dgram" },
  }
  local KINDS = { "tcp4", "tcp6", "unixstream", "udp4", "udp6", "unixdgram" }

  local STREAM_BACKLOG = 512 * 1024       -- posted and not yet verified
  local DGRAM_BACKLOG = 32                -- datagrams sent and unread
  local MAX_FLOWS, MAX_LIVE = 6, 12

  local S                                 -- the session's state

  local function hex(str)
    return (str:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
  end

  function F.send_new_session()
    S = { flows = {}, next_flow = 0, byov = {}, port = nil, listener = nil,
          connectors = {}, acc_seq = 0, con_seq = 0, accepted = {},
          ovpool = {}, msgpool = {}, paths = {},
          rbuf = wsarecv.buffer(65536) }
    S.rmsg = wsarecv.msg { buffers = S.rbuf }
  end

  ---------------------------------------------------------------------------
  -- flows
  ---------------------------------------------------------------------------

  local function ok0(what, r, name)
    check(r == 0, "%s failed: %s", what, show(name))
  end

  local function new_flow(kind)
    S.next_flow = S.next_flow + 1
    local k = KIND[kind]
    local fl = { id = S.next_flow, kind = kind, k = k,
                 stream = k.type == "stream", live = {}, nlive = 0,
                 segs = {}, nsegs = 0, next_off = rint(0, 65520), vseg = 1,
                 vpos = 0, rxq = {}, rxhead = 1, rxtail = 0, rxoff = 0,
                 rxlen = 0, unverified = 0,
                 dgs = {}, next_seq = 0, last_rx = -1 }
    S.flows[#S.flows + 1] = fl
    stats.flows = stats.flows + 1
    return fl
  end

  local function tmppath()
    local p = F.tmppath()
    S.paths[#S.paths + 1] = p
    return p
  end

  -- the receiver's side of a ready flow
  local function setup_rx(fl)
    ok0("FIONBIO", fl.rx:setsockopt("FIONBIO", true))
    if fl.k.tcp then ok0("SO_OOBINLINE", fl.rx:setsockopt("SO_OOBINLINE", true)) end
  end

  local function make_flow(kind)
    local k = KIND[kind]
    local fl = new_flow(kind)
    local tx = assert(wsarecv.socket(k.family, k.type))
    if k.type == "dgram" then
      local rx = assert(wsarecv.socket(k.family, k.type))
      if k.family == "unix" then
        fl.rxaddr = tmppath()
        ok0("bind", rx:bind(fl.rxaddr))
        ok0("bind", tx:bind(tmppath()))
      else
        fl.rxaddr = k.addr
        ok0("bind", rx:bind(k.addr, 0))
        fl.rxport = select(2, rx:getsockname())
        if chance(0.2) then
          -- unbound: the first send binds it (its port known from then)
          fl.unbound = true
        else
          ok0("bind", tx:bind(k.addr, 0))
          fl.txport = select(2, tx:getsockname())
        end
        ok0("SO_RCVBUF", rx:setsockopt("SO_RCVBUF", 1 << 20))
      end
      if not fl.unbound and chance(0.4) then
        ok0("connect", tx:connect(fl.rxaddr, fl.rxport))
        fl.connected = true
      end
      fl.rx = rx
    else
      local l = assert(wsarecv.socket(k.family, k.type))
      local addr = k.family == "unix" and tmppath() or k.addr
      ok0("bind", l:bind(addr, k.family ~= "unix" and 0 or nil))
      ok0("listen", l:listen())
      local _, port = l:getsockname()
      ok0("connect", tx:connect(addr, port))
      fl.rx = assert(l:accept())
      l:close()
    end
    fl.tx = tx
    fl.ready, fl.rxready = true, true
    ok0("FIONBIO", tx:setsockopt("FIONBIO", true))
    if fl.k.max and chance(0.3) then
      -- a UDP sender that blocks: its nonoverlapped sends wait (a loopback
      -- datagram always has room), behind the posted ones
      ok0("FIONBIO", tx:setsockopt("FIONBIO", false))
      fl.blocking = true
    end
    if fl.stream and chance(0.6) then
      -- small buffers: large sends go out in pieces, and a cancel or a
      -- close finds one part sent
      -- close finds one part sent.  (Not a receive buffer under 64 KiB: a
      -- TCP window that small on loopback opens again only by the
      -- kernel's persist timer, a fraction of a second later.)
      ok0("SO_SNDBUF", tx:setsockopt("SO_SNDBUF", pick { 4096, 16384, 65536 }))
      if chance(0.5) then
        ok0("SO_RCVBUF", fl.rx:setsockopt("SO_RCVBUF", pick { 65536, 131072 }))
      end
    end
    setup_rx(fl)
    log("flow%d %s opened%s", fl.id, kind, fl.connected and " (connected)" or "")
    return fl
  end

  ---------------------------------------------------------------------------
  -- the model: stream segments, datagrams
  ---------------------------------------------------------------------------

  -- a new stream segment of n bytes, at its own offset of the pattern
  local function new_seg(fl, n, op)
    local seg = { off = fl.next_off, max = n, op = op }
    fl.next_off = fl.next_off + n + rint(1, 97)
    fl.nsegs = fl.nsegs + 1
    fl.segs[fl.nsegs] = seg
    fl.unverified = fl.unverified + n
    return seg
  end

  -- The bytes the receiver read and the checks have not passed yet: a
  -- queue of strings (fl.rxq from fl.rxhead to fl.rxtail, fl.rxoff bytes
  -- of the head passed), fl.rxlen bytes in all.
  local function rx_push(fl, str)
    if #str == 0 then return end
    fl.rxtail = fl.rxtail + 1
    fl.rxq[fl.rxtail] = str
    fl.rxlen = fl.rxlen + #str
  end

  -- the next k bytes of the queue (k no more than the head's rest), taken
  local function rx_take(fl, k)
    local head = fl.rxq[fl.rxhead]
    local str = head:sub(fl.rxoff + 1, fl.rxoff + k)
    fl.rxoff = fl.rxoff + k
    if fl.rxoff >= #head then
      fl.rxq[fl.rxhead] = nil
      fl.rxhead, fl.rxoff = fl.rxhead + 1, 0
    end
    fl.rxlen = fl.rxlen - k
    return str
  end

  -- Check the received bytes against the segments whose lengths are known.
  local function sv_verify(fl)
    if fl.broken then
      fl.rxq, fl.rxhead, fl.rxtail, fl.rxoff, fl.rxlen = {}, 1, 0, 0, 0
      return
    end
    while fl.rxlen > 0 do
      local seg = fl.segs[fl.vseg]
      if not seg then
        fail("flow%d: %d bytes received beyond every byte sent", fl.id, fl.rxlen)
      end
      if seg.len == nil then
        -- its length is not known yet: at most what it was posted with
        check(fl.rxlen <= fl.unverified, "flow%d: %d bytes waiting, at most %d "
          .. "can have been sent", fl.id, fl.rxlen, fl.unverified)
        return
      end
      local head = fl.rxq[fl.rxhead]
      local k = math.min(seg.len - fl.vpos, #head - fl.rxoff)
      if k > 0 then
        local got, want = rx_take(fl, k), pattern(seg.off + fl.vpos, k)
        if got ~= want then
          local i = 1
          while got:byte(i) == want:byte(i) do i = i + 1 end
          fail("flow%d: stream byte %d of send op%s (%d of %d bytes reported "
            .. "sent) is wrong: lost, doubled, reordered or a wrong count "
            .. "(got %s, want %s)", fl.id, fl.vpos + i, seg.op and seg.op.id
            or "?", seg.len, seg.max, hex(got:sub(i, i + 7)),
            hex(want:sub(i, i + 7)))
        end
        fl.vpos = fl.vpos + k
        stats.send_rx_bytes = stats.send_rx_bytes + k
      end
      if fl.vpos >= seg.len then
        fl.unverified = fl.unverified - seg.max
        fl.vseg, fl.vpos = fl.vseg + 1, 0
      end
    end
    -- empty and finished segments are passed too
    while fl.segs[fl.vseg] and fl.segs[fl.vseg].len == 0 do
      fl.unverified = fl.unverified - fl.segs[fl.vseg].max
      fl.vseg = fl.vseg + 1
    end
  end

  -- a segment's length becomes known
  local function resolve_seg(fl, seg, n)
    check(seg.len == nil, "flow%d: a segment resolved twice", fl.id)
    check(n >= 0 and n <= seg.max, "flow%d: op%s reports %d of %d bytes sent",
      fl.id, seg.op and seg.op.id or "?", n, seg.max)
    seg.len = n
    sv_verify(fl)
  end

  local function new_dg(fl, len, op)
    local seq = fl.next_seq
    fl.next_seq = seq + 1
    local d = F.dgram(seq, len)
    local dg = { seq = seq, len = len, data = d, op = op, src = fl.k.addr }
    fl.dgs[seq] = dg
    return dg
  end

  -- one datagram read by the receiver
  local function dg_arrived(fl, data)
    check(#data >= 6, "flow%d: a datagram of %d bytes arrived (none sent)",
      fl.id, #data)
    local seq = string.unpack(">I4", data)
    local dg = fl.dgs[seq]
    check(dg, "flow%d: datagram #%d arrived, never sent", fl.id, seq)
    check(not dg.arrived, "flow%d: datagram #%d arrived twice", fl.id, seq)
    check(data == dg.data, "flow%d: datagram #%d corrupt (%d bytes of %d)",
      fl.id, seq, #data, dg.len)
    check(dg.state ~= "unsent", "flow%d: datagram #%d arrived, its send op%s "
      .. "said nothing left (%s)", fl.id, seq, dg.op and dg.op.id or "?",
      show(dg.err))
    check(seq > fl.last_rx, "flow%d: datagram #%d arrived after #%d (reordered)",
      fl.id, seq, fl.last_rx)
    for s = fl.last_rx + 1, seq - 1 do
      local skipped = fl.dgs[s]
      if skipped and skipped.state == "sent" then
        fail("flow%d: datagram #%d (op%s) lost: #%d came after it", fl.id, s,
          skipped.op and skipped.op.id or "?", seq)
      end
    end
    fl.last_rx = seq
    dg.arrived = true
    stats.send_rx_dgrams = stats.send_rx_dgrams + 1
    return dg
  end

  -- Read what the receiver has (nonblocking), at most `rounds` reads.
  local function read_rx(fl, rounds)
    local rx = fl.rx
    if not rx or fl.rxclosed or not fl.rxready or fl.eof then return end
    local b = S.rbuf
    local m = not fl.stream and fl.k.addr and S.rmsg
    for _ = 1, rounds or 8 do
      local a, n
      if m then a, n = rx:WSARecvMsg(m) else a, n = rx:WSARecv(b) end
      if a ~= 0 then
        if fl.broken then return end
        check(n == "WSAEWOULDBLOCK" or (n == "WSAEMSGSIZE" and not fl.stream),
          "flow%d: the receiver's read failed: %s", fl.id, show(n))
        if n ~= "WSAEMSGSIZE" then return end
      elseif fl.stream then
        if n == 0 then
          fl.eof = true
          check(fl.txclosed or fl.txshut, "flow%d: the receiver read the end, "
            .. "the sender is open", fl.id)
          return
        end
        if not fl.broken then
          rx_push(fl, b:sub(1, n))
          sv_verify(fl)
        end
      elseif not fl.broken then
        local dg = dg_arrived(fl, b:sub(1, n))
        if m then
          local addr, port = m:name()
          if fl.unbound and not fl.txport then
            -- (closed meanwhile: the first datagram's port it is)
            local _, p = fl.tx:getsockname()
            fl.txport = math.type(p) == "integer" and p or port
          end
          check(addr == dg.src and port == fl.txport, "flow%d: datagram #%d "
            .. "came from %s %s, sent from %s %s (op%s)", fl.id, dg.seq,
            show(addr), show(port), show(dg.src), show(fl.txport),
            dg.op and dg.op.id or "?")
        end
      end
    end
  end

  ---------------------------------------------------------------------------
  -- completions
  ---------------------------------------------------------------------------

  local function take_ov()
    local pool = S.ovpool
    if #pool > 0 and chance(0.5) then return table.remove(pool, rint(1, #pool)) end
    return wsarecv.overlapped()
  end

  local function give_ov(ov)
    local pool = S.ovpool
    if ov and not ov.pending and #pool < 16 then pool[#pool + 1] = ov end
  end

  local function retire(op)
    local fl = op.fl
    if fl.live[op.id] then
      fl.live[op.id] = nil
      fl.nlive = fl.nlive - 1
    end
    if op.ov and S.byov[op.ov] == op then S.byov[op.ov] = nil end
  end

  local connect_done, accept_done, lose_connection     -- (below)

  -- op's completion, seen once, checked against what left
  local function record(op, err, bytes, flags, how)
    local fl = op.fl
    check(not op.result, "send op%d completed twice (%s, then %s)", op.id,
      op.result and op.result.how or "", how)
    check(not op.failed, "send op%d failed at once (%s), yet completed (%s)",
      op.id, show(op.failed), how)
    if op.atonce then
      check(err == nil and bytes == op.atonce, "op%d completed at once with %d "
        .. "bytes; its completion says %s, %s", op.id, op.atonce, show(err),
        show(bytes))
    end
    if op.peeked then
      check(F.same(op.peeked.err, err) and op.peeked.bytes == bytes, "op%d: "
        .. "%s gave %s/%s, WSAGetOverlappedResult %s/%s", op.id, how, show(err),
        show(bytes), show(op.peeked.err), show(op.peeked.bytes))
    end
    check(math.type(bytes) == "integer" and bytes >= 0, "op%d: bytes %s", op.id,
      show(bytes))
    op.result = { err = err, bytes = bytes, flags = flags, how = how }
    log("send op%d (%s flow%d) done (%s): %s %d bytes", op.id, op.api, fl.id, how,
      show(err), bytes)
    retire(op)
    if err == ABORTED then
      check(op.must_abort or op.may_abort, "op%d (%s) aborted, never cancelled",
        op.id, op.api)
      stats.send_aborted = stats.send_aborted + 1
      if bytes > 0 then stats.send_part_aborted = stats.send_part_aborted + 1 end
    elseif err ~= nil then
      check(fl.broken or (op.api == "connect" and op.refusable), "op%d (%s): "
        .. "unexpected %s", op.id, op.api, show(err))
      check(BROKEN[err] or err == "WSAECONNREFUSED", "op%d (%s): %s on a flow "
        .. "whose receiver went away", op.id, op.api, show(err))
    end
    check(op.must_abort == nil or err == ABORTED, "op%d (%s): cancelled while "
      .. "pending, completed with %s", op.id, op.api, show(err))
    if op.api == "accept" then return accept_done(op, err, bytes) end
    if op.api == "recv" then
      -- nothing is sent to a sender: its receive ends only by a cancel, a
      -- close, or the receiver's end
      check(err ~= nil or (fl.broken and bytes == 0), "op%d: a receive on "
        .. "flow%d's sender completed with %s, %d bytes", op.id, fl.id,
        show(err), bytes)
      give_ov(op.ov)
      return
    end
    if op.api == "connect" then return connect_done(op, err, bytes) end
    check(flags == 0, "op%d: send completion flags 0x%x", op.id, flags)
    if fl.stream then
      if err == nil then
        check(bytes == op.len, "op%d: a stream send completed with %d of its %d "
          .. "bytes", op.id, bytes, op.len)
      end
      resolve_seg(fl, op.seg, fl.broken and 0 or bytes)
    else
      local dg = op.dg
      if err == nil then
        check(bytes == dg.len, "op%d: datagram of %d bytes, completion says %d",
          op.id, dg.len, bytes)
        dg.state = "sent"
        stats.send_dgrams = stats.send_dgrams + 1
      else
        check(bytes == 0, "op%d: a datagram send failed (%s) with %d bytes",
          op.id, show(err), bytes)
        dg.state, dg.err = "unsent", err
        check(not dg.arrived or fl.broken, "op%d: datagram #%d arrived, its "
          .. "send says %s", op.id, dg.seq, show(err))
      end
    end
    stats.send_bytes = stats.send_bytes + bytes
    give_ov(op.ov)
    if op.msg then
      local pool = chance(0.3) and F.msgpool or S.msgpool
      if #pool < 8 then pool[#pool + 1] = op.msg end
    end
  end

  local function routine_of(op)
    return function(err, bytes, ov, flags, msg)
      local ws = F.waitstack
      check(#ws > 0 and ws[#ws] == true, "send op%d: routine ran outside an "
        .. "alertable wait", op.id)
      op.calls = op.calls + 1
      check(op.calls == 1, "send op%d: routine called %d times", op.id, op.calls)
      check(rawequal(ov, op.ov), "send op%d: routine got another object", op.id)
      check(not ov.pending and ov.bytes == bytes and ov.error == err
        and ov.flags == flags, "send op%d: ov says %s/%s/%s, routine got "
        .. "%s/%s/%s", op.id, show(ov.pending), show(ov.bytes), show(ov.error),
        show(bytes), show(err), show(flags))
      if op.api == "sendmsg" then
        check(rawequal(msg, op.msg), "send op%d: routine got another msg", op.id)
      end
      F.routines_run = F.routines_run + 1
      stats.routines = stats.routines + 1
      stats.send_routines = stats.send_routines + 1
      record(op, err, bytes, flags, "routine")
      if not F.draining then F.send_routine_action(op) end
    end
  end

  -- an event-style op's result, once signalled
  local function observe(op, how)
    local ov = op.ov
    if op.mode ~= "event" or op.result or ov.pending then return end
    local r = table.pack(op.sock:WSAGetOverlappedResult(ov))
    local err, bytes, flags
    if r[1] then
      bytes, flags = r[1], r[2]
    else
      err, bytes, flags = r[2], r[4] or 0, ov.flags
      if err == "WSAENOTSOCK" then          -- (its socket is closed)
        err, bytes, flags = ov.error, ov.bytes, ov.flags
      else
        check(r[3] == ERR[err], "WSAGetOverlappedResult: %s with code %s",
          show(err), show(r[3]))
      end
    end
    check(ov.bytes == bytes and ov.error == err and ov.flags == flags,
      "send op%d: ov says %s/%s/%s, the result %s/%s/%s", op.id, show(ov.bytes),
      show(ov.error), show(ov.flags), show(bytes), show(err), show(flags))
    op.calls = 1
    stats.send_events = stats.send_events + 1
    record(op, err, bytes, flags, how or "event")
  end

  local function live_ops()
    local t = {}
    for _, fl in ipairs(S.flows) do
      for _, op in pairs(fl.live) do t[#t + 1] = op end
    end
    table.sort(t, function(x, y) return x.id < y.id end)
    return t
  end

  local function some_flow(pred)
    local t = {}
    for _, fl in ipairs(S.flows) do
      if pred(fl) then t[#t + 1] = fl end
    end
    return #t > 0 and pick(t) or nil
  end

  local function usable(fl)
    return fl.ready and not fl.txclosed and fl.tx ~= nil
  end

  local function observe_all()
    for _, op in ipairs(live_ops()) do observe(op) end
  end

  -- GetQueuedCompletionStatus(Ex) on the session's send port
  local function port_wait(ms)
    local port = S.port
    if not port or S.port_closed then return end
    local r, ran
    local ex = chance(0.7)
    if ex then
      local e = {}
      for i = 1, pick { 1, 4, 16 } do e[i] = {} end
      r, ran = F.call_wait(false, port.GetQueuedCompletionStatusEx, port, e, ms)
      if r == "raised" then return end
      log("send port GQCSEx(%d, %s) -> %s %s", #e, show(ms), show(r[2]), show(r[3]))
      check(ran == 0, "a send port wait ran %d routines", ran)
      if r[2] == nil then
        check(r[3] == "WAIT_TIMEOUT", "send port GQCSEx: %s", show(r[3]))
        return
      end
      for i = 1, r[2] do
        local t = e[i]
        local op = S.byov[t.ov]
        check(op and op.mode == "port", "the send port handed out an object "
          .. "no operation waits for (twice, or never posted)")
        check(rawequal(t.key, op.key), "op%d: entry key %s, its socket's %s",
          op.id, show(t.key), show(op.key))
        op.calls = 1
        stats.send_entries = stats.send_entries + 1
        record(op, t.error, t.bytes, t.flags, "port")
      end
    else
      r, ran = F.call_wait(false, port.GetQueuedCompletionStatus, port, ms)
      if r == "raised" then return end
      log("send port GQCS(%s) -> %s %s", show(ms), show(r[2]), show(r[3]))
      check(ran == 0, "a send port wait ran %d routines", ran)
      local bytes, key, ov, err
      if r[2] ~= nil then
        bytes, key, ov = r[2], r[3], r[4]
      elseif r[3] == "WAIT_TIMEOUT" and r[5] == nil and r[6] == nil then
        return
      else
        err, key, ov = r[3], r[5], r[6]
        bytes = ov and ov.bytes
      end
      local op = S.byov[ov]
      check(op and op.mode == "port", "the send port handed out an object no "
        .. "operation waits for (%s)", show(err))
      check(rawequal(key, op.key), "op%d: entry key %s, its socket's %s", op.id,
        show(key), show(op.key))
      op.calls = 1
      stats.send_entries = stats.send_entries + 1
      record(op, err, bytes, ov.flags, "port")
    end
  end

  ---------------------------------------------------------------------------
  -- posting
  ---------------------------------------------------------------------------

  -- s as a send argument: a string, a buffer, or buffers and slices
  local function data_arg(s)
    local r = random()
    if r < 0.35 then return s end
    if r < 0.55 then return wsarecv.buffer(s) end
    local arg, i = {}, 1
    if r < 0.6 and #s >= 64 then
      -- many WSABUFs, slices of one buffer: a partial write continues in
      -- the middle of the array
      local b, step = wsarecv.buffer(s), math.max(1, #s // rint(17, 300))
      while i <= #s do
        local k = math.min(step + rint(0, 3), #s - i + 1)
        arg[#arg + 1] = { b, i - 1, k }
        i = i + k
      end
      return arg
    end
    repeat
      local k = math.min(#s - i + 1, pick { rint(0, 8), rint(1, 500), #s })
      local piece = s:sub(i, i + k - 1)
      i = i + k
      if chance(0.5) then
        arg[#arg + 1] = wsarecv.buffer(piece)
      else
        local pre, post = ("\0"):rep(rint(0, 9)), ("\1"):rep(rint(0, 9))
        arg[#arg + 1] = { wsarecv.buffer(pre .. piece .. post), #pre, #piece }
      end
    until i > #s or #arg >= 40
    if i <= #s then arg[#arg + 1] = wsarecv.buffer(s:sub(i)) end
    return arg
  end

  -- the completion mode of a post on fl's socket sock
  local function pick_mode(fl, inroutine)
    local r = random()
    if fl.port and S.port_closed then
      -- (a routine on the socket of a closed port: what Windows does is
      -- not known, not made)
      return (r < 0.7 or inroutine) and "event" or "sync"
    end
    if fl.port then
      if r < 0.7 then return "port" end
      if r < 0.85 then return "event_noport" end
      return inroutine and "port" or (chance(0.7) and "sync" or "routine")
    end
    if r < 0.4 then return "routine" end
    if r < 0.75 or inroutine then return "event" end
    return "sync"
  end

  -- What the post must fail with at once: a set, or nil.
  local function predicted(fl, op, busy)
    local errs, any = {}, false
    local function add(e) errs[e] = true; any = true end
    if fl.txclosed then add("WSAENOTSOCK") end
    if busy then add("WSAEINVAL") end
    if op.mode == "routine" and fl.port then add("WSAEINVAL") end
    if op.flags & ~MSG_OOB ~= 0 then add("WSAEOPNOTSUPP") end
    if op.flags & MSG_OOB ~= 0 and not fl.stream then add("WSAEOPNOTSUPP") end
    if op.api == "sendmsg" and fl.stream then
      -- (WSAEINVAL as Windows answers; WSAEOPNOTSUPP before issue 16's
      -- Windows backend)
      add("WSAEINVAL")
      add("WSAEOPNOTSUPP")
    end
    if op.msgbusy then add("WSAEINVAL") end
    if op.nobufs then add("WSAENOBUFS") end
    if fl.txshut then add("WSAESHUTDOWN") end
    if not fl.stream and fl.k.max and op.len > fl.k.max then add("WSAEMSGSIZE") end
    if fl.broken then for e in pairs(BROKEN) do add(e) end end
    return any and errs or nil
  end

  local function errlist(errs)
    local t = {}
    for e in pairs(errs or {}) do t[#t + 1] = e end
    table.sort(t)
    return table.concat(t, "|")
  end

  local function gen_len(fl)
    if fl.stream then
      return pick { rint(0, 16), rint(1, 1500), rint(1, 20000),
                    chance(0.3) and rint(20000, 200000) or rint(1, 3000) }
    end
    if fl.k.max and chance(0.02) then return fl.k.max + rint(1, 100) end
    return chance(0.9) and rint(6, 2000) or rint(2001, 9000)
  end

  -- datagrams posted that may still arrive
  local function inflight(fl)
    local n = 0
    for seq = fl.last_rx + 1, fl.next_seq - 1 do
      local dg = fl.dgs[seq]
      if dg.state ~= "unsent" then n = n + 1 end
    end
    return n
  end

  -- A receive on fl's sender, which nothing sends to: it waits on the
  -- same socket as the sends (both directions watched) until a cancel or
  -- a close ends it.
  local function post_idle_recv(fl)
    if F.draining or not usable(fl) or fl.nlive >= MAX_LIVE then return end
    local op = { id = F.new_op_id(), fl = fl, sock = fl.tx, calls = 0,
                 api = "recv", key = fl.key, len = 0 }
    op.mode = pick_mode(fl)
    if op.mode == "sync" then
      op.mode = (fl.port and not S.port_closed) and "port" or "event"
    end
    local noport = op.mode == "event_noport"
    if noport then op.mode = "event" end
    op.ov = take_ov()
    op.ov.noport = noport
    op.routine = op.mode == "routine" and routine_of(op) or nil
    local res = table.pack(pcall(fl.tx.WSARecv, fl.tx,
      wsarecv.buffer(rint(1, 64)), 0, op.ov, op.routine))
    check(res[1], "recv op%d raised: %s", op.id, tostring(res[2]))
    local a, name = res[2], res[3]
    log("recv op%d on flow%d's sender (%s) -> %s %s", op.id, fl.id, op.mode,
      show(a), show(name))
    if op.mode == "routine" and fl.port then
      check(a == nil and name == "WSAEINVAL", "recv op%d: a routine on a "
        .. "port's socket: %s %s", op.id, show(a), show(name))
      return
    end
    if a == nil and name ~= "WSA_IO_PENDING" then
      -- (a datagram socket bound only by its sends: maybe not yet)
      check(fl.broken or (fl.unbound and name == "WSAEINVAL"), "recv op%d on "
        .. "a sender failed at once: %s", op.id, show(name))
      return
    end
    if a == 0 then op.atonce = name end
    fl.live[op.id] = op
    fl.nlive = fl.nlive + 1
    S.byov[op.ov] = op
  end

  -- Post one send on fl (inroutine: from a send's routine).
  local function post_send(fl, inroutine)
    if F.draining or not fl.ready or fl.nlive >= MAX_LIVE then return end
    if fl.stream and fl.unverified > STREAM_BACKLOG then return end
    if not fl.stream and inflight(fl) >= DGRAM_BACKLOG then return end
    local tx = fl.tx
    local op = { id = F.new_op_id(), fl = fl, sock = tx, calls = 0,
                 key = fl.key }
    op.mode = pick_mode(fl, inroutine)
    local noport = op.mode == "event_noport"
    if noport then op.mode = "event" end
    op.flags = 0
    -- (an urgent byte stays in the stream only when the receiver had
    -- SO_OOBINLINE when it came: not before an AcceptEx completes)
    if fl.k.tcp and fl.rxready and chance(0.05) then op.flags = MSG_OOB end
    if chance(0.01) then
      -- refused: MSG_OOB on a datagram socket (on a unix stream the kernel
      -- may take it, and the urgent byte leaves the stream: not made)
      op.flags = pick { MSG_PEEK, 0x10000, fl.stream and 0x10000 or MSG_OOB }
    end
    if fl.stream then
      op.api = "send"
    else
      op.api = chance(0.3) and "sendmsg" or (fl.connected and "send" or "sendto")
    end
    if fl.stream and chance(0.01) then op.api = "sendmsg" end
    op.len = gen_len(fl)
    if op.flags & MSG_OOB ~= 0 and op.len == 0 then op.len = 1 end
    local data
    if fl.stream then
      op.seg = new_seg(fl, op.len, op)
      data = pattern(op.seg.off, op.len)
    else
      op.dg = new_dg(fl, op.len, op)
      data = op.dg.data
      if #data < op.len then data = data .. ("z"):rep(op.len - #data) end
    end
    local arg = data_arg(data)
    if #data > 1024 and chance(0.01) then
      -- more WSABUFs than a send takes: WSAENOBUFS, nothing sent
      local b = wsarecv.buffer(data)
      arg = {}
      for i = 1, 1024 do arg[i] = { b, i - 1, 1 } end
      arg[1025] = { b, 1024, #data - 1024 }
      op.nobufs = true
    end
    local ov, busy
    if op.mode ~= "sync" then
      ov = take_ov()
      if chance(0.02) then
        -- a pending op's object: refused (WSAEINVAL)
        for _, o in ipairs(live_ops()) do
          if o.ov and o.ov.pending then ov = o.ov; break end
        end
      end
      busy = ov.pending
      if not busy then ov.noport = noport end
      op.ov = ov
    end
    if op.api == "sendmsg" then
      local m
      if #F.msgpool > 0 and chance(0.2) then
        -- one the receives used (and will again): its receive fields
        -- must not leak into the send, nor msg.to into a receive
        m = table.remove(F.msgpool)
      elseif #S.msgpool > 0 and chance(0.5) then
        m = table.remove(S.msgpool)
      else
        m = wsarecv.msg {}
      end
      op.msgbusy = m.pending
      if type(arg) == "string" then arg = wsarecv.buffer(arg) end
      if not op.msgbusy then
        m.buffers = arg
        if not fl.stream and not fl.connected then
          m.to = { fl.rxaddr, fl.rxport }
        elseif not m.pending then
          m.to = nil
        end
        if fl.k.pktinfo and chance(0.5) and F.KB.s2 then
          -- the source address, as ipi_addr picks it on Windows (known
          -- defect s2: the records leak with the msg)
          op.dg.src = pick(fl.k.srcs)
          m.control = { { level = fl.k.pktinfo[1], type = fl.k.pktinfo[2],
                          addr = op.dg.src } }
        elseif F.KB.s1 then
          -- a pooled msg may have had records: a size or nil ends them
          -- (known defect s1: they were still sent)
          m.control = pick { 0, 64, nil }
        else
          m.control = {}
        end
      end
      op.msg = m
    end
    op.routine = op.mode == "routine" and routine_of(op) or nil
    local errs = predicted(fl, op, busy)
    log("send op%d post flow%d %s %s flags 0x%x len %d%s", op.id, fl.id, op.api,
      op.mode, op.flags, op.len, errs and " expect " .. errlist(errs) or "")
    local res
    if op.api == "sendmsg" then
      res = table.pack(pcall(tx.WSASendMsg, tx, op.msg, op.flags, ov, op.routine))
    elseif op.api == "sendto" then
      res = table.pack(pcall(tx.WSASendTo, tx, arg, op.flags, fl.rxaddr,
        fl.rxport, ov, op.routine))
    else
      res = table.pack(pcall(tx.WSASend, tx, arg, op.flags, ov, op.routine))
    end
    check(res[1], "send op%d raised: %s", op.id, tostring(res[2]))
    local a, name, code, placed = res[2], res[3], res[4], res[5]
    stats.sends = stats.sends + 1
    if op.flags == MSG_OOB then stats.send_oob = stats.send_oob + 1 end
    local function unsent(n)
      if fl.stream then resolve_seg(fl, op.seg, fl.broken and 0 or n)
      else op.dg.state, op.dg.err = "unsent", name end
    end
    if a == nil and name ~= "WSA_IO_PENDING" then
      check(ERR[name] == code, "send op%d: %s with code %s", op.id, show(name),
        show(code))
      -- failed at once: no completion follows
      if op.mode == "sync" and name == "WSAEWOULDBLOCK" and not fl.blocking then
        check(not placed or placed == 0, "send op%d: WSAEWOULDBLOCK with %s "
          .. "bytes", op.id, show(placed))
      else
        check(errs and errs[name], "send op%d: failed at once with %s, expected "
          .. "%s", op.id, show(name), errs and errlist(errs) or "success")
      end
      op.failed = name
      stats.send_refused = stats.send_refused + 1
      if ov and not busy then
        check(not ov.pending, "send op%d failed at once, its object pending", op.id)
      end
      check(not fl.stream or not placed or placed == 0 or fl.broken, "send op%d "
        .. "failed at once after %s bytes left", op.id, show(placed))
      unsent(0)
      if not busy then give_ov(ov) end
      return
    end
    if errs and not fl.broken then
      fail("send op%d: expected %s, got %s %s", op.id, errlist(errs), show(a),
        show(name))
    end
    if op.mode == "sync" then
      check(a == 0, "send op%d: nonoverlapped send returned %s %s", op.id,
        show(a), show(name))
      stats.send_sync = stats.send_sync + 1
      op.calls = 1
      if fl.stream then
        check(name >= 1 and name <= op.len or op.len == 0, "send op%d: "
          .. "nonoverlapped send of %d took %s", op.id, op.len, show(name))
        resolve_seg(fl, op.seg, fl.broken and 0 or name)
        stats.send_bytes = stats.send_bytes + name
      else
        check(name == op.len, "send op%d: datagram of %d, sent %s", op.id,
          op.len, show(name))
        op.dg.state = "sent"
        stats.send_dgrams = stats.send_dgrams + 1
      end
      if op.msg then S.msgpool[#S.msgpool + 1] = op.msg end
      op.result = { bytes = name, how = "sync" }
      return
    end
    if a == 0 then
      op.atonce = name
      check(not ov.pending and ov.bytes == name, "send op%d: done at once, its "
        .. "object says pending %s, %s bytes", op.id, show(ov.pending),
        show(ov.bytes))
    else
      check(name == "WSA_IO_PENDING", "send op%d returned %s %s", op.id, show(a),
        show(name))
    end
    fl.live[op.id] = op
    fl.nlive = fl.nlive + 1
    S.byov[ov] = op
  end

  ---------------------------------------------------------------------------
  -- cancel, close, shutdown, the port
  ---------------------------------------------------------------------------

  local function pending_on(sock)
    local n = 0
    for _, op in ipairs(live_ops()) do
      if op.sock == sock and op.ov.pending then n = n + 1 end
    end
    return n
  end

  local function mark(sock, field)
    for _, op in ipairs(live_ops()) do
      if op.sock == sock and op.ov.pending then op[field] = true end
    end
  end

  local function cancel(fl)
    if fl.txclosed or not fl.tx then return end
    local tx = fl.tx
    local ops = {}
    for _, op in ipairs(live_ops()) do
      if op.sock == tx then ops[#ops + 1] = op end
    end
    if #ops > 0 and chance(0.7) then
      local op = pick(ops)
      local was = op.ov.pending
      local a, name = tx:CancelIoEx(op.ov)
      log("flow%d CancelIoEx(op%d) pending %s -> %s %s", fl.id, op.id,
        show(was), show(a), show(name))
      if was then
        check(a == 0 and not op.ov.pending, "CancelIoEx(pending send op%d): %s",
          op.id, show(name))
        op.must_abort = true
      else
        check(name == "ERROR_NOT_FOUND", "CancelIoEx(done send op%d): %s %s",
          op.id, show(a), show(name))
      end
    else
      local n = pending_on(tx)
      check(tx:pending() == n, "flow%d: sender pending() %d, model %d", fl.id,
        tx:pending(), n)
      mark(tx, "must_abort")
      local a, name = tx:CancelIoEx()
      log("flow%d CancelIoEx() with %d pending -> %s %s", fl.id, n, show(a),
        show(name))
      if n > 0 then
        check(a == 0 and tx:pending() == 0, "CancelIoEx() of %d sends: %s, %d "
          .. "left", n, show(name), tx:pending())
      else
        check(name == "ERROR_NOT_FOUND", "CancelIoEx() of no send: %s %s",
          show(a), show(name))
      end
    end
  end

  local function close_tx(fl)
    if fl.txclosed or not fl.tx then return end
    mark(fl.tx, "must_abort")
    fl.tx:close()
    fl.txclosed = true
    check(fl.tx:pending() == 0, "flow%d: closed sender has %d pending", fl.id,
      fl.tx:pending())
    for _, op in ipairs(live_ops()) do
      check(op.sock ~= fl.tx or not op.ov.pending, "send op%d pending after "
        .. "close", op.id)
    end
    log("flow%d sender closed", fl.id)
  end

  -- the receiver goes away with data unread: what the sender gets is
  -- checked no more, only that each operation completes once
  local function close_rx(fl)
    if fl.rxclosed or not fl.rx then return end
    if fl.conn then
      -- (a pending AcceptEx holds the accept socket: closing it aborts it)
      mark(fl.rx, "must_abort")
    end
    fl.rx:close()
    fl.rxclosed, fl.broken = true, true
    for _, op in ipairs(live_ops()) do
      if op.fl == fl then op.may_abort = true end
    end
    log("flow%d receiver closed", fl.id)
  end

  local function shut_tx(fl)
    if fl.txclosed or fl.txshut or not fl.ready or fl.nlive > 0 then return end
    local a, name = fl.tx:shutdown("send")
    log("flow%d shutdown(send) -> %s %s", fl.id, show(a), show(name))
    check(a == 0 or fl.broken, "flow%d: shutdown(send): %s", fl.id, show(name))
    if a == 0 then fl.txshut = true end
  end

  -- The send port closes: its queued entries are dropped, the ops that
  -- would have gone there are plain signalled ones from now on.
  local function close_port()
    if not S.port or S.port_closed then return end
    check(S.port:close() == 0, "closing the send port")
    S.port_closed = true
    for _, op in ipairs(live_ops()) do
      if op.mode == "port" then op.mode = "event" end
    end
    log("send port closed")
  end

  local function associate(fl)
    if fl.port or fl.txclosed or not fl.tx then return end
    if not S.port then
      S.port = wsarecv.CreateIoCompletionPort()
    end
    if S.port_closed then return end
    local key = pick { fl.id, "flow" .. fl.id, { fl.id } }
    local p, name = wsarecv.CreateIoCompletionPort(fl.tx, S.port, key)
    check(rawequal(p, S.port), "associating flow%d's sender: %s", fl.id,
      show(name))
    fl.port, fl.key = true, key
    -- what is pending without routine now completes to the port
    for _, op in ipairs(live_ops()) do
      if op.sock == fl.tx and op.mode == "event" and op.ov.pending
         and not op.ov.noport then
        op.mode, op.key = "port", key
      end
    end
    log("flow%d sender associated, key %s", fl.id, show(key))
  end

  ---------------------------------------------------------------------------
  -- AcceptEx and ConnectEx: new TCP connections
  ---------------------------------------------------------------------------

  local function listener()
    local l = S.listener
    if l and not S.lclosed then return l end
    local fam = chance(0.7) and "inet" or "inet6"
    l = assert(wsarecv.socket(fam, "stream"))
    ok0("bind", l:bind(fam == "inet" and "127.0.0.1" or "::1", 0))
    ok0("listen", l:listen(64))
    S.listener, S.lclosed, S.lfam = l, false, fam
    S.lport = select(2, l:getsockname())
    S.lflow = S.lflow or new_flow("tcp4")       -- owns the accepts
    S.lflow.ready = false
    log("listener (%s) on %d", fam, S.lport)
    return l
  end

  local function post_conn_op(op, fn, ...)
    local res = table.pack(pcall(fn, ...))
    check(res[1], "%s op%d raised: %s", op.api, op.id, tostring(res[2]))
    log("%s op%d (%s) -> %s %s", op.api, op.id, op.mode, show(res[2]), show(res[3]))
    return res
  end

  -- a pair: AcceptEx on the listener, ConnectEx from a bound socket
  local function new_pair()
    if F.draining or #S.flows >= MAX_FLOWS + 4 then return end
    local l = listener()
    local lf = S.lflow
    if lf.nlive >= MAX_LIVE then return end
    local k = S.lfam == "inet" and KIND.tcp4 or KIND.tcp6
    local fl = new_flow(S.lfam == "inet" and "tcp4" or "tcp6")
    fl.conn = true
    local cs = assert(wsarecv.socket(S.lfam, "stream"))
    ok0("bind", cs:bind(k.addr, 0))
    fl.tx, fl.cport = cs, select(2, cs:getsockname())
    ok0("FIONBIO", cs:setsockopt("FIONBIO", true))
    S.connectors[fl.cport] = fl
    S.con_seq = S.con_seq + 1
    fl.cseq = S.con_seq
    -- ConnectEx, its data the flow's first segment
    local cop = { id = F.new_op_id(), fl = fl, sock = cs, calls = 0,
                  api = "connect", mode = chance(0.5) and "routine" or "event" }
    cop.len = chance(0.5) and rint(1, 3000) or 0
    cop.lport = S.lport
    cop.seg = new_seg(fl, cop.len, cop)
    cop.ov = take_ov()
    cop.routine = cop.mode == "routine" and routine_of(cop) or nil
    local data = cop.len > 0 and data_arg(pattern(cop.seg.off, cop.len)) or nil
    -- AcceptEx, with a buffer for the first data or not
    local aop = { id = F.new_op_id(), fl = lf, sock = l, calls = 0,
                  api = "accept", mode = chance(0.5) and "routine" or "event" }
    aop.as = assert(wsarecv.socket(S.lfam, "stream"))
    aop.buf = chance(0.4) and wsarecv.buffer(rint(1, 4000)) or nil
    aop.ov = take_ov()
    aop.routine = aop.mode == "routine" and routine_of(aop) or nil
    aop.lport = S.lport
    S.acc_seq = S.acc_seq + 1
    aop.aseq = S.acc_seq
    local function go_accept()
      local r = post_conn_op(aop, l.AcceptEx, l, aop.as, aop.buf, aop.ov,
        aop.routine)
      check(r[2] == nil and r[3] == "WSA_IO_PENDING" or r[2] == 0,
        "AcceptEx op%d: %s %s", aop.id, show(r[2]), show(r[3]))
      if r[2] == 0 then aop.atonce = r[3] end
      lf.live[aop.id] = aop
      lf.nlive = lf.nlive + 1
      S.byov[aop.ov] = aop
      stats.accepts = stats.accepts + 1
    end
    local accept_first = chance(0.5)
    if accept_first then go_accept() end
    local r = post_conn_op(cop, cs.ConnectEx, cs, k.addr, S.lport, data, cop.ov,
      cop.routine)
    check(r[2] == nil and r[3] == "WSA_IO_PENDING", "ConnectEx op%d: %s %s "
      .. "(it says pending even on loopback)", cop.id, show(r[2]), show(r[3]))
    fl.live[cop.id] = cop
    fl.nlive = fl.nlive + 1
    S.byov[cop.ov] = cop
    stats.connects = stats.connects + 1
    if not accept_first then go_accept() end
    -- the probes: a second ConnectEx, a send before it is connected
    if chance(0.1) then
      local a, name = cs:ConnectEx(k.addr, S.lport, nil, wsarecv.overlapped())
      check(a == nil and (name == "WSAEALREADY" or name == "WSAEISCONN"),
        "a second ConnectEx: %s %s", show(a), show(name))
    end
  end

  -- ConnectEx done: the connector may send
  function connect_done(op, err, bytes)
    local fl = op.fl
    if op.dead then
      check((err == "WSAECONNREFUSED" or err == ABORTED) and bytes == 0,
        "ConnectEx op%d to a closed port: %s, %d bytes", op.id, show(err), bytes)
      if err then stats.refused_connects = stats.refused_connects + 1 end
    end
    if err == nil then
      check(bytes == op.len, "ConnectEx op%d: sent %d of its %d bytes", op.id,
        bytes, op.len)
      fl.ready = not fl.txclosed
      local _, pport = fl.tx:getpeername()
      check(fl.txclosed or fl.broken or pport == op.lport, "ConnectEx op%d: "
        .. "peer port %s, the listener's %s", op.id, show(pport), show(op.lport))
      if op.ov then give_ov(op.ov) end
    end
    resolve_seg(fl, op.seg, fl.broken and 0 or bytes)
  end

  -- AcceptEx done: its socket is the receiver of the flow that connected
  function accept_done(op, err, bytes)
    local as = op.as
    if err ~= nil then
      lose_connection(op)
      as:close()
      return
    end
    local paddr, pport = as:getpeername()
    local _, lport = as:getsockname()
    check(lport == op.lport, "AcceptEx op%d: local port %s, listener's %s",
      op.id, show(lport), show(op.lport))
    local fl = S.connectors[pport]
    check(fl and paddr, "AcceptEx op%d: peer %s %s is no connector of ours",
      op.id, show(paddr), show(pport))
    check(not fl.rx, "flow%d accepted twice", fl.id)
    -- accepts pending on one listener take the connections in posting
    -- order (one with a buffer may complete later, when data comes)
    for _, prev in ipairs(S.accepted) do
      check((prev.aseq < op.aseq) == (prev.cseq < fl.cseq), "AcceptEx op%d "
        .. "(posted #%d) took connection #%d, op%d (posted #%d) took #%d",
        op.id, op.aseq, fl.cseq, prev.id, prev.aseq, prev.cseq)
    end
    S.accepted[#S.accepted + 1] = { id = op.id, aseq = op.aseq, cseq = fl.cseq }
    S.connectors[pport] = nil
    fl.rx = as
    setup_rx(fl)
    fl.rxready = true
    if op.buf then
      if bytes == 0 then
        check(fl.txclosed or fl.txshut or fl.broken, "AcceptEx op%d: 0 bytes, "
          .. "the connector is open", op.id)
      end
      if not fl.broken then
        rx_push(fl, op.buf:sub(1, bytes))
        sv_verify(fl)
      end
    else
      check(bytes == 0, "AcceptEx op%d without buffer: %d bytes", op.id, bytes)
    end
    give_ov(op.ov)
    log("flow%d accepted (port %d)", fl.id, pport)
  end

  -- An AcceptEx ended while it had a connection and waited for its first
  -- data: that connection goes with it (Windows resets it too).
  function lose_connection(op)
    local _, pport = op.as:getpeername()
    local fl = pport and S.connectors[pport]
    if not fl then return end
    fl.broken = true
    S.connectors[pport] = nil
    for _, o in pairs(fl.live) do o.refusable = true end
    log("flow%d: its connection went with AcceptEx op%d", fl.id, op.id)
  end

  local function close_listener()
    if not S.listener or S.lclosed then return end
    -- connections not accepted yet are reset (an AcceptEx done, its
    -- completion not seen yet, has its connection)
    local taken = {}
    for _, op in ipairs(live_ops()) do
      if op.api == "accept" and not op.ov.pending and op.ov.error == nil then
        taken[select(2, op.as:getpeername()) or -1] = true
      end
    end
    for port, fl in pairs(S.connectors) do
      if not taken[port] then
        fl.broken = true
        for _, op in pairs(fl.live) do op.refusable = true end
        S.connectors[port] = nil
      end
    end
    for _, op in ipairs(live_ops()) do
      if op.api == "accept" and op.ov.pending then lose_connection(op) end
    end
    mark(S.listener, "must_abort")
    S.listener:close()
    S.lclosed = true
    log("listener closed")
  end

  -- The rules AcceptEx and ConnectEx check first (each fails at once, no
  -- completion), and a ConnectEx refused (through its completion).
  local function conn_probe()
    local r = random()
    local fam = chance(0.7) and "inet" or "inet6"
    local addr = fam == "inet" and "127.0.0.1" or "::1"
    if r < 0.3 then
      -- refused: a port nobody listens on
      local dead = assert(wsarecv.socket(fam, "stream"))
      ok0("bind", dead:bind(addr, 0))
      local _, dport = dead:getsockname()
      dead:close()
      local fl = new_flow(fam == "inet" and "tcp4" or "tcp6")
      fl.conn, fl.broken = true, true
      local cs = assert(wsarecv.socket(fam, "stream"))
      ok0("bind", cs:bind(addr, 0))
      fl.tx = cs
      local op = { id = F.new_op_id(), fl = fl, sock = cs, calls = 0,
                   api = "connect", mode = chance(0.5) and "routine" or "event",
                   len = 5, refusable = true, dead = true, lport = dport,
                   ov = take_ov() }
      op.seg = new_seg(fl, 5, op)
      op.routine = op.mode == "routine" and routine_of(op) or nil
      local res = post_conn_op(op, cs.ConnectEx, cs, addr, dport, "hello",
        op.ov, op.routine)
      check(res[2] == nil and res[3] == "WSA_IO_PENDING", "ConnectEx to a "
        .. "closed port: %s %s (pending, then refused)", show(res[2]),
        show(res[3]))
      fl.live[op.id] = op
      fl.nlive = fl.nlive + 1
      S.byov[op.ov] = op
      return
    end
    local a, name, what
    if r < 0.45 then
      what = "ConnectEx on an unbound socket"
      local cs = wsarecv.socket(fam, "stream")
      a, name = cs:ConnectEx(addr, 9, nil, wsarecv.overlapped())
      cs:close()
      check(a == nil and name == "WSAEINVAL", "%s: %s %s", what, show(a), show(name))
    elseif r < 0.6 then
      local fl = some_flow(function(f) return f.k.tcp and usable(f) end)
      if not fl then return end
      what = "ConnectEx on a connected socket"
      a, name = fl.tx:ConnectEx(fl.k.addr, 9, nil, wsarecv.overlapped())
      check(a == nil and (name == "WSAEISCONN" or (fl.broken and name)),
        "%s: %s %s", what, show(a), show(name))
    elseif r < 0.75 then
      local l = listener()
      what = "AcceptEx into a bound socket"
      local as = wsarecv.socket(S.lfam, "stream")
      ok0("bind", as:bind(S.lfam == "inet" and "127.0.0.1" or "::1", 0))
      a, name = l:AcceptEx(as, nil, wsarecv.overlapped())
      as:close()
      check(a == nil and name == "WSAEINVAL", "%s: %s %s", what, show(a), show(name))
    elseif r < 0.85 then
      local l = listener()
      what = "AcceptEx into a socket of another family"
      local as = wsarecv.socket(S.lfam == "inet" and "inet6" or "inet", "stream")
      a, name = l:AcceptEx(as, nil, wsarecv.overlapped())
      as:close()
      check(a == nil and (name == "WSAEINVAL" or name == "WSAEFAULT"), "%s: "
        .. "%s %s", what, show(a), show(name))
    else
      -- a send while a ConnectEx is pending: WSAENOTCONN
      for _, op in ipairs(live_ops()) do
        if op.api == "connect" and op.ov.pending then
          what = "a send while ConnectEx is pending"
          a, name = op.sock:WSASend("x")
          check(a == nil and name == "WSAENOTCONN", "%s: %s %s", what, show(a),
            show(name))
          break
        end
      end
    end
    if what then log("probe: %s -> %s %s", what, show(a), show(name)) end
  end

  -- End a pending AcceptEx (CancelIoEx on the listener, or closing its
  -- accept socket) or ConnectEx (CancelIoEx on its socket).
  local function conn_cancel()
    local ops = {}
    for _, op in ipairs(live_ops()) do
      if (op.api == "accept" or op.api == "connect") and op.ov.pending then
        ops[#ops + 1] = op
      end
    end
    if #ops == 0 then return end
    local op = pick(ops)
    if op.api == "connect" then
      local a, name = op.sock:CancelIoEx(op.ov)
      check(a == 0 and not op.ov.pending, "CancelIoEx of ConnectEx op%d: %s",
        op.id, show(name))
      op.must_abort = true
      log("ConnectEx op%d cancelled", op.id)
      return
    end
    if S.lclosed then return end
    lose_connection(op)
    if chance(0.3) then
      -- closing the accept socket aborts it too
      op.must_abort = true
      op.as:close()
      check(not op.ov.pending, "AcceptEx op%d pending after its accept socket "
        .. "closed", op.id)
      log("AcceptEx op%d: its accept socket closed", op.id)
      return
    end
    -- on the accept socket: not its operation
    local a, name = op.as:CancelIoEx(op.ov)
    check(name == "ERROR_NOT_FOUND", "CancelIoEx of AcceptEx op%d on the accept "
      .. "socket: %s %s", op.id, show(a), show(name))
    a, name = S.listener:CancelIoEx(op.ov)
    check(a == 0, "CancelIoEx of AcceptEx op%d on the listener: %s", op.id,
      show(name))
    op.must_abort = true
    log("AcceptEx op%d cancelled", op.id)
  end

  ---------------------------------------------------------------------------
  -- the actions
  ---------------------------------------------------------------------------

  local function counts()
    for _, fl in ipairs(S.flows) do
      if fl.tx and not fl.txclosed then
        local n = pending_on(fl.tx)
        check(fl.tx:pending() == n, "flow%d: sender pending() %d, model %d",
          fl.id, fl.tx:pending(), n)
      end
    end
    if S.listener and not S.lclosed then
      local n = pending_on(S.listener)
      check(S.listener:pending() == n, "listener pending() %d, model %d",
        S.listener:pending(), n)
    end
  end

  local function send_wait()
    local r = random()
    if r < 0.4 then
      local rr, ran = F.call_wait(true, wsarecv.SleepEx, 0, true)
      if rr ~= "raised" then
        check(rr[2] == (ran > 0 and "WAIT_IO_COMPLETION" or 0), "SleepEx(0, "
          .. "true) ran %d routines, returned %s", ran, show(rr[2]))
      end
    elseif r < 0.7 then
      port_wait(0)
    elseif r < 0.85 then
      -- WSAWaitForMultipleEvents on the sends' objects, timeout 0
      local list = {}
      for _, op in ipairs(live_ops()) do
        if op.mode == "event" and #list < 8 then list[#list + 1] = op.ov end
      end
      if #list == 0 then return end
      local rr = F.call_wait(false, wsarecv.WSAWaitForMultipleEvents, list,
        false, 0, false)
      if rr == "raised" then return end
      local v = rr[2]
      if v == "WSA_WAIT_TIMEOUT" then
        for _, ov in ipairs(list) do
          check(ov.bytes == nil, "a signalled send object, the wait timed out")
        end
      else
        check(math.type(v) == "integer" and list[v].bytes ~= nil,
          "WSAWaitForMultipleEvents on sends: %s", show(v))
      end
      observe_all()
    else
      -- WSAGetOverlappedResult(wait) on a send done, or a peek at a pending one
      local ops = live_ops()
      if #ops == 0 then return end
      local op = pick(ops)
      if op.sock == nil then return end
      local wait = not op.ov.pending and chance(0.5)
      local rr = F.call_wait(false, op.sock.WSAGetOverlappedResult, op.sock,
        op.ov, wait)
      if rr == "raised" or rr[2] == nil and rr[3] == "WSAENOTSOCK" then return end
      if rr[2] == nil and rr[3] == "WSA_IO_INCOMPLETE" then
        check(op.ov.pending, "send op%d: WSA_IO_INCOMPLETE, not pending", op.id)
        return
      end
      if op.mode == "event" then
        observe(op, "getresult")
      elseif op.calls == 0 and not op.ov.pending then
        local err, bytes = nil, rr[2]
        if rr[2] == nil then err, bytes = rr[3], rr[5] or 0 end
        op.peeked = { err = err, bytes = bytes }
      end
    end
  end

  function F.send_step()
    if not S then return end
    local r = random()
    if #S.flows < 3 or (r < 0.02 and #S.flows < MAX_FLOWS) then
      make_flow(pick(KINDS))
      return
    end
    if r < 0.40 then
      local fl = some_flow(usable)
      if fl then post_send(fl) end
    elseif r < 0.62 then
      for _, fl in ipairs(S.flows) do read_rx(fl, 4) end
    elseif r < 0.80 then send_wait()
    elseif r < 0.83 then
      local fl = some_flow(usable)
      if fl then cancel(fl) end
    elseif r < 0.85 then new_pair()
    elseif r < 0.855 then conn_cancel()
    elseif r < 0.86 then conn_probe()
    elseif r < 0.865 then close_listener()
    elseif r < 0.874 then
      local fl = some_flow(usable)
      if fl then associate(fl) end
    elseif r < 0.875 then
      if chance(0.3) then close_port() end
    elseif r < 0.88 then
      local fl = some_flow(function(f) return f.tx and not f.txclosed end)
      if fl then close_tx(fl) end
    elseif r < 0.882 then
      local fl = some_flow(function(f) return f.rx and not f.rxclosed end)
      if fl then close_rx(fl) end
    elseif r < 0.885 then
      local fl = some_flow(usable)
      if fl then shut_tx(fl) end
    elseif r < 0.90 then
      local fl = some_flow(usable)
      if fl then post_idle_recv(fl) end
    elseif r < 0.95 then
      observe_all()
    else
      if F.toplevel() then counts() end
    end
  end

  -- from a send's routine: another send on the flow (a chain: datagram
  -- sends posted there are batched), a wait, a cancel
  function F.send_routine_action(op)
    local fl = op.fl
    local r = random()
    if r < 0.3 and usable(fl) then post_send(fl, true)
    elseif r < 0.35 and usable(fl) then cancel(fl)
    elseif r < 0.40 then for _, f in ipairs(S.flows) do read_rx(f, 2) end
    elseif r < 0.42 and usable(fl) then close_tx(fl)
    end
  end

  ---------------------------------------------------------------------------
  -- the hooks of the waits, the session's end
  ---------------------------------------------------------------------------

  function F.send_outstanding()
    local pending, queued = 0, 0
    if not S then return 0, 0 end
    for _, fl in ipairs(S.flows) do
      for _, op in pairs(fl.live) do
        if op.ov.pending then pending = pending + 1
        elseif op.mode == "routine" and op.calls == 0 then queued = queued + 1 end
      end
    end
    return pending, queued
  end

  function F.send_ready()
    local _, queued = F.send_outstanding()
    return queued
  end

  -- deliver everything that is done: routines, events, the port
  local function deliver()
    for _ = 1, 50 do
      local rr = F.call_wait(true, wsarecv.SleepEx, 0, true)
      if rr ~= "raised" and rr[2] == 0 then break end
    end
    for _ = 1, 200 do
      local before = stats.send_entries
      port_wait(0)
      if stats.send_entries == before then break end
    end
    observe_all()
  end

  -- the session ends: sends complete while the receivers read; then the
  -- senders close, and each receiver must have got every byte once
  function F.send_drain()
    if not S then return end
    local quiet = 0
    for round = 1, 5000 do
      local before = stats.send_rx_bytes + stats.send_rx_dgrams
      for _, fl in ipairs(S.flows) do read_rx(fl, 16) end
      deliver()
      local pend = 0
      for _, op in ipairs(live_ops()) do
        -- (a connection not accepted yet has no reader)
        if op.api ~= "accept" and op.api ~= "recv" and op.ov.pending
           and (op.fl.rxready or op.fl.broken) then
          pend = pend + 1
        end
      end
      if pend == 0 then
        if round > 100 and F.opt.verbose then
          print(("send drain: %d rounds, %d quiet"):format(round, quiet))
        end
        break
      end
      if stats.send_rx_bytes + stats.send_rx_dgrams == before then
        quiet = quiet + 1
        if quiet > 20 and F.KB.timer then
          -- (what the kernel's own timers may still move)
          F.call_wait(true, wsarecv.SleepEx, 2, true)
        end
      else
        quiet = 0
      end
      if quiet > 1000 or round == 5000 then
        local t = {}
        for _, op in ipairs(live_ops()) do
          if op.ov.pending and op.api ~= "recv" then
            t[#t + 1] = "op" .. op.id .. " " .. op.api
          end
        end
        fail("sends stay pending with their receivers read empty (a stalled "
          .. "send): %s", table.concat(t, ", "))
      end
    end
    -- the senders close: a receiver reads to the end; an AcceptEx waiting
    -- for the first data completes; then the listener goes
    for _, fl in ipairs(S.flows) do close_tx(fl) end
    deliver()
    close_listener()
    deliver()
    for _, op in ipairs(live_ops()) do
      fail("%s op%d (%s, flow%d) never completed", op.api, op.id, op.mode,
        op.fl.id)
    end
    for _, fl in ipairs(S.flows) do
      for _ = 1, 10000 do
        if fl.eof or not fl.rx or fl.rxclosed or not fl.rxready then break end
        local got = stats.send_rx_bytes + stats.send_rx_dgrams
        read_rx(fl, 16)
        if not fl.stream and stats.send_rx_bytes + stats.send_rx_dgrams == got then
          break
        end
      end
      if not fl.broken and fl.rx and fl.rxready then
        if fl.stream then
          check(fl.eof, "flow%d: the receiver did not read to the end", fl.id)
          sv_verify(fl)
          check(fl.rxlen == 0 and fl.segs[fl.vseg] == nil, "flow%d: %d bytes "
            .. "sent never arrived (at send op%s, %d bytes in)", fl.id,
            fl.unverified, fl.segs[fl.vseg] and fl.segs[fl.vseg].op
            and fl.segs[fl.vseg].op.id or "?", fl.vpos)
        else
          for seq = 0, fl.next_seq - 1 do
            local dg = fl.dgs[seq]
            if dg.state == "sent" and not dg.arrived then
              -- (UDP too: the backlog is far below the receive buffer, so
              -- loopback loses nothing)
              if fl.k.addr then
                stats.send_udp_lost = stats.send_udp_lost + 1
              end
              fail("flow%d: datagram #%d (op%s) sent, never arrived", fl.id,
                seq, dg.op and dg.op.id or "?")
            end
          end
        end
      end
      if fl.rx then fl.rx:close() end
    end
    if S.port then S.port:close() end
    for _, p in ipairs(S.paths) do os.remove(p) end
    S = nil
  end

  function F.send_report()
    return ("sends %d (sync %d, oob %d, refused %d, aborted %d, %d of them "
      .. "part sent), completions by routine %d, event %d, port %d; bytes %d "
      .. "sent, %d checked at the receivers; datagrams %d sent, %d received "
      .. "(%d udp lost); flows %d, AcceptEx %d, ConnectEx %d (%d refused)")
      :format(stats.sends, stats.send_sync, stats.send_oob, stats.send_refused,
        stats.send_aborted, stats.send_part_aborted, stats.send_routines,
        stats.send_events, stats.send_entries, stats.send_bytes,
        stats.send_rx_bytes, stats.send_dgrams, stats.send_rx_dgrams,
        stats.send_udp_lost, stats.flows, stats.accepts, stats.connects,
        stats.refused_connects)
  end
end
