--[[
fuzz/model.lua -- the API-sequence fuzzer's model: the data the sender
feeds, the buffers and WSABUF arrays a receive is given, the endpoints,
the operations in flight and what a post must do (fuzz/api_fuzz.lua loads
it; not run on its own).

  dofile(dir .. "/model.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua):
  data       F.pattern(pos, n) (the stream: a pattern with a prime
             period), F.dgram(seq, len) (datagram number seq)
  buffers    F.gen_layout(need_bytes) (a random WSABUF array: lay.arg,
             lay.items, lay.cap, lay.bufs, lay.bad, lay.n),
             F.release_bufs(lay) (back to the pool), F.prep_bufs(lay)
             (filled with F.SENT, the sentinel fuzz/check.lua looks for)
  endpoints  F.KINDS, F.make_ep(kind), F.dispose_ep(ep), F.rxof(ep) (the
             receiver, or nil once collected), F.tmppath(), F.ok0(...)
  objects    F.take_ov(), F.give_ov(ov), F.take_msg(), the idle pools
             F.ovpool and F.msgpool, F.ovref(op), F.new_op_id()
  operations F.add_order(ep, op), F.drop_order(ep, op) (posting order per
             socket), F.retire_op(op) (out of ep.live)
  rules      F.guaranteed(op) (completes without anything else
             happening), F.outstanding() (pending, queued, sure),
             F.predicted(ep, op, busy, rxopen) (the errors a post must
             fail with at once: nil or a set), F.errlist(errs)
  F.new_model()  a session's start: no endpoints, empty pools, ids from 1
  F.eps      the session's endpoints

An endpoint (ep) is one receiver (ep.rx, or only ep.rxw[1] once its
reference was dropped) and its sender (ep.tx), with what was sent and
consumed (streams: ep.sent, ep.consumed; datagrams: the queue ep.dgq from
ep.dghead to ep.dgtail, ep.part for a MSG_PARTIAL rest), the operations in
posting order (ep.order from ep.ohead to ep.otail, verified in that order)
and those not yet completed (ep.live, ep.nlive).  An operation (op) is
what was posted (op.api "recv" or "msg", op.mode "routine", "event",
"sync" or fuzz/port_ops.lua's "port", op.flags, op.lay, op.ov, op.msg)
and what is expected of it (op.must_abort, op.may_abort, op.shut_fail,
op.may_shut); op.result is its completion, recorded once.
]]

return function(F)
  local wsarecv = F.wsarecv
  local KB, check, log = F.KB, F.check, F.log
  local random, chance, rint, pick = F.random, F.chance, F.rint, F.pick
  local MSG_OOB, MSG_PEEK, MSG_WAITALL = wsarecv.MSG_OOB, wsarecv.MSG_PEEK,
    wsarecv.MSG_WAITALL
  local MSG_PUSH, MSG_PARTIAL = wsarecv.MSG_PUSH_IMMEDIATE, wsarecv.MSG_PARTIAL
  local KNOWN_FLAGS = MSG_OOB | MSG_PEEK | MSG_WAITALL | MSG_PUSH | MSG_PARTIAL
  local IOV_MAX = F.IOV_MAX

  ---------------------------------------------------------------------------
  -- the data: a byte stream with a prime period, datagrams from their number
  ---------------------------------------------------------------------------

  local PERIOD = 65521
  local PAT do
    local t, x = {}, 20240607
    for i = 1, PERIOD do
      x = (x * 1103515245 + 12345) & 0x7fffffff
      t[i] = string.char((x >> 16) & 0xff)
    end
    PAT = table.concat(t)
  end

  -- bytes pos .. pos + n - 1 (0-based) of the stream
  local function pattern(pos, n)
    local out = {}
    while n > 0 do
      local o = pos % PERIOD
      local k = math.min(n, PERIOD - o)
      out[#out + 1] = PAT:sub(o + 1, o + k)
      pos, n = pos + k, n - k
    end
    return table.concat(out)
  end

  -- datagram number seq of len bytes: a header (seq, len), then the pattern
  local function dgram(seq, len)
    local s = string.pack(">I4I2", seq & 0xffffffff, len & 0xffff)
      .. pattern(seq * 131, len)
    return s:sub(1, len)
  end

  ---------------------------------------------------------------------------
  -- buffers and WSABUF arrays
  ---------------------------------------------------------------------------

  local SENT = 0xA5                       -- what a buffer holds before a post
  local bufpool = {}                      -- buffers no operation uses now

  local function rsize()
    local r = random()
    if r < 0.04 then return 0 end
    if r < 0.30 then return rint(1, 16) end
    if r < 0.80 then return rint(17, 1500) end
    if r < 0.97 then return rint(1501, 9000) end
    return 65536
  end

  local function newbuf(size)
    if #bufpool > 0 and chance(0.35) then
      return table.remove(bufpool, rint(1, #bufpool))
    end
    return wsarecv.buffer(size or rsize())
  end

  local function release_bufs(lay)
    if not lay then return end
    for _, b in ipairs(lay.bufs) do
      if #bufpool < 64 then bufpool[#bufpool + 1] = b end
    end
  end

  -- A random WSABUF array: lay.arg (what is passed), lay.items (the iovecs
  -- as {buf, offset, length}), lay.cap, lay.bufs (distinct buffers),
  -- lay.bad (a slice outside its buffer: WSAEFAULT), lay.n (WSABUF count).
  local function gen_layout(need_bytes)
    local lay = { items = {}, bufs = {}, seen = {}, bad = false }
    local function use(b)
      if not lay.seen[b] then
        lay.seen[b] = true
        lay.bufs[#lay.bufs + 1] = b
      end
    end
    local function item(b, off, len)
      use(b)
      lay.items[#lay.items + 1] = { b, off, len }
    end
    local r = random()
    if r < 0.35 then
      local b = newbuf()
      lay.arg = b
      item(b, 0, #b)
    elseif r < 0.90 then
      local arg = {}
      for _ = 1, rint(1, 5) do
        local b = newbuf()
        local form, n = random(), #b
        if form < 0.4 then
          arg[#arg + 1] = b
          item(b, 0, n)
        elseif form < 0.6 then
          local off = rint(0, n)
          local len = rint(0, n - off)
          arg[#arg + 1] = { b, off, len }
          item(b, off, len)
        elseif form < 0.7 then
          local off = rint(0, n)
          arg[#arg + 1] = { b, off }
          item(b, off, n - off)
        elseif form < 0.75 then
          arg[#arg + 1] = { b }
          item(b, 0, n)
        elseif n >= 2 then
          -- two slices of one buffer, the later part first
          local m = rint(1, n - 1)
          arg[#arg + 1] = { b, m, n - m }
          item(b, m, n - m)
          arg[#arg + 1] = { b, 0, m }
          item(b, 0, m)
        else
          arg[#arg + 1] = b
          item(b, 0, n)
        end
      end
      lay.arg = arg
    elseif r < 0.93 then
      lay.arg = {}
    elseif r < 0.995 then
      -- more WSABUFs than fit on the stack or inline
      local arg, b = {}, wsarecv.buffer(rint(70, 400))
      local k, off = rint(17, 70), 0
      for _ = 1, k do
        local len = math.min(rint(0, 5), #b - off)
        arg[#arg + 1] = { b, off, len }
        item(b, off, len)
        off = off + len
      end
      lay.arg = arg
    else
      -- past IOV_MAX: WSAENOBUFS
      local arg, b = {}, wsarecv.buffer(1100)
      for i = 0, IOV_MAX do
        arg[#arg + 1] = { b, i, 1 }
        item(b, i, 1)
      end
      lay.arg = arg
    end
    lay.cap = 0
    for _, it in ipairs(lay.items) do lay.cap = lay.cap + it[3] end
    if need_bytes and lay.cap == 0 then
      -- a message socket's empty-buffer receive is known defect 10
      local b = wsarecv.buffer(rint(1, 64))
      if type(lay.arg) == "table" then
        lay.arg[#lay.arg + 1] = b
      else
        lay.arg, lay.items, lay.bufs, lay.seen = b, {}, {}, {}
      end
      item(b, 0, #b)
      lay.cap = lay.cap + #b
    end
    lay.n = type(lay.arg) == "table" and #lay.arg or 1
    if type(lay.arg) == "table" and #lay.arg > 0 and chance(0.04) then
      -- one slice outside its buffer
      local b = newbuf(rint(1, 64))
      local n = #b
      local bad = {
        { b, -1, 1 }, { b, 0, n + 1 }, { b, n + 1, 0 }, { b, 1, -1 },
        { b, math.maxinteger, 1 }, { b, 1, math.maxinteger },
        { b, math.mininteger, 1 }, { b, math.maxinteger }, { b, n + 1 },
        { b, -5 },
      }
      if KB["2a"] then bad[#bad + 1] = { b, math.mininteger } end
      lay.arg[rint(1, #lay.arg)] = pick(bad)
      use(b)
      lay.bad = true
    end
    return lay
  end

  local function prep_bufs(lay)
    for _, b in ipairs(lay.bufs) do b:fill(SENT) end
  end

  ---------------------------------------------------------------------------
  -- endpoints: a receiver and a nonblocking sender
  ---------------------------------------------------------------------------

  local KIND = {
    udp4 = { family = "inet", type = "dgram", addr = "127.0.0.1", msgok = true,
      cmsgs = { { "IP_PKTINFO", "IP_PKTINFO", 32 }, { "IP_RECVTTL", "IP_TTL", 24 },
                { "IP_RECVTOS", "IP_TOS", 24 }, { "SO_TIMESTAMP", "SO_TIMESTAMP", 32 } } },
    udp6 = { family = "inet6", type = "dgram", addr = "::1", msgok = true,
      cmsgs = { { "IPV6_PKTINFO", "IPV6_PKTINFO", 40 },
                { "IPV6_HOPLIMIT", "IPV6_HOPLIMIT", 24 },
                { "IPV6_RECVTCLASS", "IPV6_TCLASS", 24 },
                { "SO_TIMESTAMP", "SO_TIMESTAMP", 32 } } },
    tcp4 = { family = "inet", type = "stream", addr = "127.0.0.1" },
    tcp6 = { family = "inet6", type = "stream", addr = "::1" },
    unixdgram = { family = "unix", type = "dgram", msgok = true,
      cmsgs = { { "SO_TIMESTAMP", "SO_TIMESTAMP", 32 } } },
    seqpacket = { family = "unix", type = "seqpacket" },
    unixstream = { family = "unix", type = "stream" },
  }
  local KINDS = { "udp4", "udp6", "tcp4", "tcp6", "unixdgram", "seqpacket",
                  "unixstream" }

  F.eps = {}                              -- the session's endpoints
  local next_ep = 0

  local function tmppath()
    local p = os.tmpname()
    os.remove(p)
    return p
  end

  local function ok0(what, r, name)
    check(r == 0, "%s failed: %s", what, tostring(name))
  end

  local function rxof(ep) return ep.rx or ep.rxw[1] end

  local function make_ep(kind)
    local k = KIND[kind]
    next_ep = next_ep + 1
    local ep = {
      id = next_ep, kind = kind, k = k, stream = k.type == "stream",
      msgo = k.type ~= "stream",
      paths = {}, sent = 0, consumed = 0, dgq = {}, dghead = 1, dgtail = 0, dgseq = 0,
      part = nil, order = {}, ohead = 1, otail = 0, live = {}, nlive = 0,
      closed = false, shut = false, eof = false, txdead = false, nbio = false,
      cmsgs = {}, cmsg_need = 0, rxw = setmetatable({}, { __mode = "v" }),
    }
    local rx
    local tx = assert(wsarecv.socket(k.family, k.type))
    if k.family == "unix" then
      ep.rxaddr = tmppath()
      ep.paths[#ep.paths + 1] = ep.rxaddr
    else
      ep.rxaddr = k.addr
    end
    if k.type == "dgram" then
      rx = assert(wsarecv.socket(k.family, k.type))
      if k.family == "unix" then
        ok0("bind", rx:bind(ep.rxaddr))
        ep.txaddr = tmppath()
        ep.paths[#ep.paths + 1] = ep.txaddr
        ok0("bind", tx:bind(ep.txaddr))
      else
        ok0("bind", rx:bind(k.addr, 0))
        ok0("bind", tx:bind(k.addr, 0))
        ep.txaddr = k.addr
        ep.txport = select(2, tx:getsockname())
        ep.rxport = select(2, rx:getsockname())
        ok0("SO_RCVBUF", rx:setsockopt("SO_RCVBUF", 1 << 20))
      end
      if chance(0.3) then
        ok0("connect", tx:connect(ep.rxaddr, ep.rxport))
        ep.connected = true
      end
      for _, c in ipairs(k.cmsgs) do
        if chance(0.4) then
          ok0("setsockopt " .. c[1], rx:setsockopt(c[1], true))
          ep.cmsgs[#ep.cmsgs + 1] = c
          ep.cmsg_need = ep.cmsg_need + c[3]
        end
      end
    else
      local l = assert(wsarecv.socket(k.family, k.type))
      if k.family == "unix" then
        ok0("bind", l:bind(ep.rxaddr))
      else
        ok0("bind", l:bind(k.addr, 0))
      end
      ok0("listen", l:listen())
      local _, port = l:getsockname()
      ok0("connect", tx:connect(ep.rxaddr, port))
      rx = assert(l:accept())
      l:close()
    end
    ok0("FIONBIO", tx:setsockopt("FIONBIO", true))
    ep.rcvtimeo = pick { 2, 5, 15 }
    ok0("SO_RCVTIMEO", rx:setsockopt("SO_RCVTIMEO", ep.rcvtimeo))
    ep.rx, ep.tx = rx, tx
    ep.rxw[1] = rx
    log("ep%d %s opened%s cmsgs=%d", ep.id, kind,
      ep.connected and " (connected sender)" or "", #ep.cmsgs)
    return ep
  end

  -- Free what is left of an endpoint whose operations are all accounted for.
  local function dispose_ep(ep)
    local rx = rxof(ep)
    if rx then rx:close() end
    if ep.tx then ep.tx:close() end
    ep.tx = nil
    for _, p in ipairs(ep.paths) do os.remove(p) end
  end

  ---------------------------------------------------------------------------
  -- operations: idle objects, the order per socket, the rules
  ---------------------------------------------------------------------------

  local next_op = 0
  F.ovpool, F.msgpool = {}, {}            -- idle objects, reused

  local function ovref(op) return op.ov or op.weak.ov end

  local function flag_error(ep, f, overlapped, nbio)
    if f < 0 or f > 0xffffffff then return true end
    if f & ~KNOWN_FLAGS ~= 0 then return true end
    if f & MSG_PEEK ~= 0 and overlapped then return true end
    if f & MSG_WAITALL ~= 0 then
      if ep.msgo then return true end
      if f & (MSG_OOB | MSG_PEEK | MSG_PARTIAL) ~= 0 then return true end
      if not overlapped and nbio then return true end
    end
    if f & MSG_OOB ~= 0 and not ep.stream then return true end
    return false
  end

  local function take_ov()
    local ovpool = F.ovpool
    if #ovpool > 0 and chance(0.6) then
      return table.remove(ovpool, rint(1, #ovpool))
    end
    return wsarecv.overlapped()
  end

  local function give_ov(ov)
    local ovpool = F.ovpool
    if ov and #ovpool < 48 then ovpool[#ovpool + 1] = ov end
  end

  local function take_msg()
    local msgpool = F.msgpool
    if #msgpool > 0 and chance(0.6) then
      return table.remove(msgpool, rint(1, #msgpool))
    end
    return wsarecv.msg { control = 0 }
  end

  -- an operation leaves the live set: its completion has been seen
  local function retire_op(op)
    if op.ep.live[op.id] then
      op.ep.live[op.id] = nil
      op.ep.nlive = op.ep.nlive - 1
    end
  end

  local function add_order(ep, op)
    ep.otail = math.max(ep.otail, ep.ohead - 1) + 1
    ep.order[ep.otail] = op
    op.seq = ep.otail
  end

  local function drop_order(ep, op)
    check(ep.order[ep.otail] == op, "internal: order tail")
    ep.order[ep.otail] = nil
    ep.otail = ep.otail - 1
  end

  -- can the operation complete without anything else happening?
  local function guaranteed(op)
    local ep = op.ep
    if op.flags & MSG_OOB ~= 0 then return false end
    if F.P.held(op) then return false end        -- (known defect p4w)
    if ep.closed then return true end
    -- (after shutdown(receive) a pending receive still waits for data)
    if ep.eof then return true end
    if ep.msgo and not KB.rest then
      -- (known defect "rest": with a MSG_PARTIAL rest buffered, a queued
      -- receive may wait for new data)
      if ep.part then return false end
      for i = ep.ohead, ep.otail do
        local o = ep.order[i]
        if o == op then break end
        if o and o.flags & MSG_PARTIAL ~= 0 then return false end
      end
    end
    local used = 0
    local avail = ep.stream and ep.sent - ep.consumed
      or ep.dgtail - ep.dghead + 1
    for i = ep.ohead, ep.otail do
      local o = ep.order[i]
      if o == op then
        if ep.stream then
          local need = op.flags & MSG_WAITALL ~= 0 and op.lay.cap or 1
          return avail - used >= math.max(need, 1)
        end
        return avail - used >= 1
      end
      if o and o.flags & MSG_PEEK == 0 then
        used = used + (ep.stream and o.lay.cap or 1)
      end
    end
    return false
  end

  -- what the model says is outstanding: pending operations, queued routines
  local function outstanding()
    local pending, queued, sure = 0, 0, false
    for _, ep in ipairs(F.eps) do
      for _, op in pairs(ep.live) do
        local ov = ovref(op)
        if op.mode == "routine" then
          if op.calls == 0 then
            if ov and not ov.pending then queued = queued + 1; sure = true
            else
              pending = pending + 1
              if guaranteed(op) then sure = true end
            end
          end
        elseif ov and ov.pending then
          pending = pending + 1
        end
      end
    end
    -- the sends, AcceptEx and ConnectEx of fuzz/ops_send.lua
    local sp, sq = F.send_outstanding()
    pending, queued = pending + sp, queued + sq
    if sq > 0 then sure = true end
    return pending, queued, sure
  end

  -- The errors a post must fail with at once (nil: it must start).
  local function predicted(ep, op, busy, rxopen)
    local errs, any = {}, false
    local function add(e) errs[e] = true; any = true end
    local overlapped = op.mode ~= "sync"
    if busy then add("WSAEINVAL") end
    if F.P.refuses_routine(ep, op) then add("WSAEINVAL"); op.p12 = true end
    if op.lay.bad then add("WSAEFAULT") end
    if op.lay.n > IOV_MAX then add("WSAENOBUFS") end
    if not rxopen or ep.closed then add("WSAENOTSOCK") end
    if ep.shut then add("WSAESHUTDOWN") end
    if op.api == "msg" then
      if ep.k.type ~= "dgram" then add("WSAEOPNOTSUPP") end
      if op.flags & ~MSG_PEEK ~= 0 then add("WSAEOPNOTSUPP") end
      if op.flags & MSG_PEEK ~= 0 and overlapped then add("WSAEOPNOTSUPP") end
    elseif flag_error(ep, op.flags, overlapped, ep.nbio) then
      add("WSAEOPNOTSUPP")
    end
    return any and errs or nil
  end

  local function errlist(errs)
    local t = {}
    for k in pairs(errs or {}) do t[#t + 1] = k end
    table.sort(t)
    return table.concat(t, "|")
  end

  -- a session's start: nothing carries over from the last one
  function F.new_model()
    F.eps, bufpool, F.ovpool, F.msgpool = {}, {}, {}, {}
    next_op, next_ep = 0, 0
  end

  function F.new_op_id()
    next_op = next_op + 1
    return next_op
  end

  F.pattern, F.dgram = pattern, dgram
  F.SENT, F.release_bufs = SENT, release_bufs
  F.gen_layout, F.prep_bufs = gen_layout, prep_bufs
  F.KINDS, F.tmppath, F.ok0, F.rxof = KINDS, tmppath, ok0, rxof
  F.make_ep, F.dispose_ep = make_ep, dispose_ep
  F.ovref, F.take_ov, F.give_ov, F.take_msg = ovref, take_ov, give_ov, take_msg
  F.retire_op, F.add_order, F.drop_order = retire_op, add_order, drop_order
  F.guaranteed, F.outstanding = guaranteed, outstanding
  F.predicted, F.errlist = predicted, errlist
end
