--[[
fuzz/port_ops.lua -- the completion-port and pollfd surfaces of the
API-sequence fuzzer (fuzz/api_fuzz.lua loads it; not run on its own).

  local P = dofile(dir .. "/port_ops.lua")(ctx)

ctx is the fuzzer's model and checker (its functions and state; see where
api_fuzz.lua makes the table).  P has the hooks the
fuzzer calls: P.step (one random port action), P.routine_action, P.mode
(the completion mode of a post), P.refuses_routine, P.on_close,
P.cancel_all, P.holds, P.check (between steps), P.drain and
P.end_session (a session's end), P.new_session, P.first_probes, P.report.

What it does: 0..2 ports per session (CreateIoCompletionPort, also with a
socket and no port); receivers associated under keys of any type (integer,
string, table, nil, false); receives posted without routine on them
(mode "port"), some with ov.noport (then only signalled, mode "event"),
some with ov.rearm set or cleared, also while waiting to be rearmed;
GetQueuedCompletionStatus and GetQueuedCompletionStatusEx (array of
tables, fresh or reused; the columns form with any subset of the columns,
fresh columns that grow while the batch is written or reused ones), with
timeouts 0, short and INFINITE (only when an entry is sure), alertable or
not; PostQueuedCompletionStatus packets (unique bytes, keys of any type,
an object or nil); CancelIoEx and close on associated sockets (the
fuzzer's own actions, hooked); port:close(), also with entries queued and
packets posted, and from finalizers; port:queued(), timeout(), pollfd()
and events(); wsarecv.pollfd()/events()/timeout()/ready()/wake() and the
run("nowait") rule; waits from routines and from __gc finalizers.  A
finalizer acts only while one of this file's port waits is on the stack
(the model is consistent there); objects with __gc are dropped at random,
and a "primed" wait first leaves a few finalizers pending at the
collector's last phase with almost no debt, so that the wait's own
allocations (entry tables, growing columns, pushed error names) run them
inside the batch.

The model: an op of mode "port" completes exactly once, through the port
of its socket, with the socket's key and its own object; an entry the
model does not expect (an object handed out twice, or unknown) fails.  A
packet comes back once, with its own bytes, key and object.  Data is
checked by the fuzzer's record()/verify, as for routines and events.  An
object taken with ov.rearm set (and the rearm rules met) becomes a
"shadow", posted again (a new op, buffers refilled with the sentinel) when
the port's next wait begins; port:close() drops shadows and packets and
turns the port's ops into plain event-style ones.  port:queued() is the
model's count of packets plus completed, untaken port ops; timeout() is 0
while that or a shadow is there, and pollfd() is readable while entries
are queued.  At the end of a session every port is drained by waits: every
posted packet and port op must come out.

Known defects (ids for --known-bugs; the crashing and hanging ones are
first probed in a child process bounded by timeout, and p1 and p2 are
made in this process only once their probe passed):
  p1  a finalizer waiting on the same port while a batch is written hands
      entries out twice (overflow, use-after-free, invalid free)
  p2  port:close() from a finalizer during a batch with posted packets
      (SEGV in lua_rawgeti from push_key_ov)
  p3  a receive posted outside a wait on an associated socket with data
      waiting: port:pollfd() not readable and port:timeout() nil
  p4  the same through the module: wsarecv.pollfd() not readable and
      wsarecv.timeout() nil (also for a routine's receive, p12 off)
  p4w (found by this fuzzer) the same root inside wsarecv's own waits: a
      wait counting on such a receive (WSAGetOverlappedResult with wait,
      SleepEx or WSAWaitForMultipleEvents without timeout) blocks for ever
      while another socket has a receive pending: the pump's flush serves
      the receive, then polls with no timeout (probed in a child process
      bounded by timeout).  Off, no wait counts on them.  Fixed with a
      second path the same run of this fuzzer found (an alertable wait's
      delivery pass flushed after the wait had looked): a flush that
      completes something never precedes a blocking poll
      (spec/port_robust_spec.lua).
  p5  a memory error while GetQueuedCompletionStatusEx writes its batch
      loses every entry it took (probed in a child under ulimit -v; not
      under ASan, whose allocator reserves the address space)
  p8  CancelIoEx does not end an object waiting to be rearmed
      (ERROR_NOT_FOUND; it is posted again by the next wait)
  p12 a receive with a routine on an associated socket is posted (must
      fail WSAEINVAL at once, as on Windows); off, it is modelled as a
      routine's receive
]]

return function(C)
  local wsarecv = C.wsarecv
  local KB, check, fail, log, show = C.KB, C.check, C.fail, C.log, C.show
  local chance, rint, pick, stats = C.chance, C.rint, C.pick, C.stats
  local ERR = wsarecv.errors
  local P = {}

  local ok_socket, lsocket = pcall(require, "socket")    -- LuaSocket's select
  local ports = {}                       -- this session's port records
  local armed = 0                        -- port waits of ours on the stack
  local inwait = {}                      -- port record -> waits on the stack
  local in_fin = false
  local calling = 0                      -- inside the C call of a port wait
  local see_held = false                 -- P.held says no
  local recorded = 0                     -- entries recorded (nesting check)
  local safe = {}                        -- crash probes that passed
  local next_packet = 0

  for _, k in ipairs { "ports", "assoc", "port_posts", "entries", "packets",
                       "rearms", "port_waits", "fin_actions", "primed",
                       "fin_in_wait", "poll_checks", "port_closes" } do
    stats[k] = 0
  end

  local function readable(fd)
    if not ok_socket then return nil end
    local r = lsocket.select({ { getfd = function() return fd end } }, nil, 0)
    return #r > 0
  end

  local function eps() return C.eps() end

  local function port_of(ep)
    local pr = ep.port
    if pr and not pr.closed then return pr end
  end

  ---------------------------------------------------------------------------
  -- the model's view of a port
  ---------------------------------------------------------------------------

  -- live ops of pr's sockets that go through it
  local function port_ops(pr)
    local t = {}
    for _, ep in ipairs(eps()) do
      if ep.port == pr then
        for _, op in pairs(ep.live) do
          if op.mode == "port" then t[#t + 1] = op end
        end
      end
    end
    table.sort(t, function(x, y) return x.id < y.id end)
    return t
  end

  local function model_queued(pr)
    local n = 0
    for _, pk in pairs(pr.packets) do
      if not pk.taken then n = n + 1 end
    end
    for _, op in ipairs(port_ops(pr)) do
      local ov = C.ovref(op)
      if not op.result and ov and not ov.pending then n = n + 1 end
    end
    return n
  end

  -- would the core rearm ov after this entry? (wr_port.c, rearms)
  local function rearms(op, ov, err, bytes)
    if not ov.rearm or op.flags & wsarecv.MSG_WAITALL ~= 0 then return false end
    local ep = op.ep
    if ep.closed or not C.rxof(ep) then return false end
    if err == nil then return bytes > 0 or ep.msgo end
    return ep.msgo and (err == "WSAEMSGSIZE" or err == "WSAECONNRESET"
      or err == "WSAENETRESET")
  end

  -- A shadow: an object the port's next wait posts again.
  local function new_shadow(pr, op, ov)
    local sh = { ep = op.ep, api = op.api, lay = op.lay, flags = op.flags,
                 ov = ov, msg = op.msg or op.weak.msg, ctrlcap = op.ctrlcap,
                 from = op.id }
    pr.shadows[#pr.shadows + 1] = sh
    op.dropped = true        -- its object, msg and buffers go on with it
    log("op%d: rearm waits on port%d", op.id, pr.id)
  end

  -- the shadow becomes a live op again: posted (by a wait) or aborted
  local function revive(sh, how)
    local ep = sh.ep
    local op = { id = C.new_op_id(), ep = ep, calls = 0, api = sh.api,
                 mode = "port", lay = sh.lay, flags = sh.flags, ov = sh.ov,
                 msg = sh.msg, ctrlcap = sh.ctrlcap, ovknown = true,
                 ctx = sh.ov.context, rearmed = true,
                 weak = setmetatable({ ov = sh.ov, msg = sh.msg },
                   { __mode = "v" }) }
    C.prep_bufs(op.lay)        -- the program's until then: nothing writes
    if how == "abort" then
      op.must_abort = true
    else
      if ep.shut then op.may_shut = true end
      stats.rearms = stats.rearms + 1
    end
    C.add_order(ep, op)
    ep.live[op.id] = op
    ep.nlive = ep.nlive + 1
    stats.posted = stats.posted + 1
    log("op%d: op%d's object %s", op.id, sh.from, how == "abort"
      and "aborted while waiting to be rearmed" or "rearmed")
    return op
  end

  local function take_shadows(pr, pred)
    local keep, out = {}, {}
    for _, sh in ipairs(pr.shadows) do
      if pred(sh) then out[#out + 1] = sh else keep[#keep + 1] = sh end
    end
    pr.shadows = keep
    return out
  end

  -- a port goes away: queued entries, shadows and packets dropped; its
  -- ops are plain signalled ones from now on
  local function port_gone(pr)
    pr.closed = true
    for _, op in ipairs(port_ops(pr)) do
      op.mode = "event"
      op.was_port = pr
    end
    pr.shadows = {}
    for _, pk in pairs(pr.packets) do pk.dropped = true end
  end

  ---------------------------------------------------------------------------
  -- entries
  ---------------------------------------------------------------------------

  local function find_op(pr, ov)
    for _, ep in ipairs(eps()) do
      if ep.port == pr then
        for _, op in pairs(ep.live) do
          if (op.mode == "port" or op.was_port == pr) and not op.result
             and rawequal(C.ovref(op), ov) then
            return op
          end
        end
      end
    end
  end

  -- One entry handed out by a wait on pr: e = {bytes, key, ov, err,
  -- flags}; nil fields of a columns form are read from the object.
  local function take_entry(pr, e, batch)
    local pk = e.ov ~= nil and pr.packet_by_ov[e.ov]
    if e.ov == nil or pk then
      -- a packet
      if not pk then pk = e.bytes and pr.packets[e.bytes] end
      check(pk, "port%d handed out a packet never posted (bytes %s, key %s)",
        pr.id, show(e.bytes), show(e.key))
      check(not pk.taken, "port%d handed out packet #%d twice", pr.id, pk.n)
      check(e.bytes == nil or e.bytes == pk.n, "packet #%d came back with "
        .. "bytes %s", pk.n, show(e.bytes))
      check(not e.haskey or rawequal(e.key, pk.key), "packet #%d came back "
        .. "with key %s, posted with %s (its own key lost)", pk.n,
        show(e.key), show(pk.key))
      check(rawequal(e.ov, pk.ov), "packet #%d came back with another object",
        pk.n)
      check(e.err == nil, "packet #%d came back with error %s", pk.n, show(e.err))
      pk.taken = true
      if pk.ov then pr.packet_by_ov[pk.ov] = nil end
      pr.packets[pk.n] = nil
      stats.packets = stats.packets + 1
      if batch.last_packet and not batch.nested then
        check(pk.n > batch.last_packet, "port%d: packet #%d after #%d",
          pr.id, pk.n, batch.last_packet)
      end
      batch.last_packet = pk.n
      log("port%d: packet #%d taken", pr.id, pk.n)
      return
    end
    local ov = e.ov
    local op = find_op(pr, ov)
    if not op then
      fail("port%d handed out an object no operation of it waits for "
        .. "(taken twice, or never posted): %s", pr.id, tostring(ov))
    end
    local bytes, err, flags = e.bytes, e.err, e.flags
    if bytes == nil then bytes = ov.bytes end
    if not e.haserr then err = ov.error end
    if flags == nil then flags = ov.flags end
    if not batch.nested then
      check(ov.bytes == bytes and ov.error == err and ov.flags == flags,
        "op%d: entry %s/%s/%s, its object says %s/%s/%s", op.id, show(bytes),
        show(err), show(flags), show(ov.bytes), show(ov.error), show(ov.flags))
    end
    check(not e.haskey or rawequal(e.key, op.ep.key), "op%d: entry key %s, "
      .. "the socket's is %s", op.id, show(e.key), show(op.ep.key))
    check(not ov.pending, "op%d handed out while pending", op.id)
    if op.api == "msg" then
      check(rawequal(ov.msg, op.msg or op.weak.msg), "op%d: ov.msg is "
        .. "another msg", op.id)
    end
    if (err == nil or err == "WSAEMSGSIZE") and not op.oob then
      local last = batch.seq[op.ep]
      check(not last or op.seq > last, "op%d (posted #%d) handed out after "
        .. "#%d of the same socket", op.id, op.seq, last or 0)
      batch.seq[op.ep] = op.seq
    end
    op.calls = 1
    C.record(op, err, bytes, flags, "port")
    recorded = recorded + 1
    stats.entries = stats.entries + 1
    if op.mode == "port" and rearms(op, ov, err, bytes) then
      new_shadow(pr, op, ov)
    end
    C.finish_op(op)
  end

  ---------------------------------------------------------------------------
  -- the waits
  ---------------------------------------------------------------------------

  -- entry tables for the array form: fresh ones allocate while written
  -- (not those of a wait further up the stack, being written)
  local function array_entries(pr, n, fresh)
    local e = {}
    for i = 1, n do
      local t = pr.spare[i]
      if t == nil or fresh or chance(0.5) then t = {} end
      t.bytes, t.key, t.ov, t.error, t.flags = -1, "untouched", nil, nil, -1
      e[i] = t
    end
    if not fresh then pr.spare = e end
    return e
  end

  local COLS = { "bytes", "key", "error", "flags" }

  local function column_entries(pr, n)
    local c = { ov = {}, n = n }
    for i = 1, n do c.ov[i] = false end
    for _, name in ipairs(COLS) do
      if chance(0.5) or (name == "bytes" and next(pr.packets)) then
        -- fresh and empty: it grows while the batch is written
        c[name] = {}
      end
    end
    return c
  end

  local function wait_ms(pr, nested)
    local q = model_queued(pr)
    if not nested and armed == 0 and q > 0 and chance(0.1) then
      return pick { -1, wsarecv.INFINITE, nil }, true
    end
    if KB.timer and chance(0.2) then return pick { 1, 2 } end
    return 0
  end

  -- A wait on a port that is waited on further up the stack (not
  -- alertable): a refusal by an error is accepted.  Returns as call_wait,
  -- or "refused".
  local function nested_call(ex, port, arg, ms)
    local ws, before = C.waitstack, C.routines()
    ws[#ws + 1] = false
    local r
    if ex then
      r = table.pack(pcall(port.GetQueuedCompletionStatusEx, port, arg, ms))
    else
      r = table.pack(pcall(port.GetQueuedCompletionStatus, port, ms))
    end
    ws[#ws] = nil
    stats.waits = stats.waits + 1
    if r[1] then return r, C.routines() - before end
    local e = tostring(r[2])
    if C.failed() or e:find("FUZZ-INVARIANT", 1, true) then error(e, 0) end
    log("a nested port wait raised: %s", e)
    return "refused", C.routines() - before
  end

  -- Run one wait on pr and check what it hands out.
  local function port_wait(pr, nested, opts)
    opts = opts or {}
    local port = pr.port
    local q0, rec0, closed0 = model_queued(pr), recorded, pr.closed
    local ms, sure = wait_ms(pr, nested)
    local ex = opts.ex
    if ex == nil then ex = chance(0.75) end
    local alertable = ex and not in_fin and chance(0.3) or false
    -- a wait on a port whose own wait is further up the stack: it may
    -- work on its own entries or refuse (then cleanly)
    local same = (inwait[pr] or 0) > 0
    if sure or same then alertable = false end
    local arg, form
    if ex then
      local n = opts.n or pick { 1, 1, 2, 3, 4, 8, 16, 64 }
      form = opts.form or (chance(0.4) and "columns" or "array")
      if chance(0.01) then
        arg, form = {}, "empty"
      elseif form == "columns" then
        arg = column_entries(pr, n)
      else
        arg = array_entries(pr, n, same)
      end
    end
    if not pr.closed and form ~= "empty" then
      -- (after q0: not pending until the wait reposts them; an empty
      -- entries array is refused before that)
      for _, sh in ipairs(take_shadows(pr, function() return true end)) do
        revive(sh, "post")
      end
    end
    if opts.ms then ms, sure = opts.ms, false end
    log("port%d wait: %s %s ms %s alertable %s, %d queued", pr.id,
      ex and "GQCSEx" or "GQCS", tostring(form), show(ms), tostring(alertable), q0)
    local mode
    -- primed with finalizers disarmed (those run now are not in the wait);
    -- nothing allocates from here to the call
    if opts.prime then mode = P.prime(opts.prime) end
    inwait[pr] = (inwait[pr] or 0) + 1
    if not sure then armed = armed + 1 end
    calling = calling + 1
    local r, ran
    if same then
      r, ran = nested_call(ex, port, arg, ms)
    elseif ex then
      r, ran = C.call_wait(alertable, port.GetQueuedCompletionStatusEx, port,
        arg, ms, alertable)
    else
      r, ran = C.call_wait(false, port.GetQueuedCompletionStatus, port, ms)
    end
    calling = calling - 1
    if mode then collectgarbage(mode) end
    if not sure then armed = armed - 1 end
    inwait[pr] = inwait[pr] - 1
    stats.port_waits = stats.port_waits + 1
    local meanwhile = recorded - rec0          -- taken by nested waits
    local batch = { seq = {}, nested = nested or meanwhile > 0 }
    -- a close mid-batch drops the entry being written, and a nested wait
    -- may take it: its table perhaps half written, n + 1 is not checked
    local cut = ((pr.closed and not closed0) or meanwhile > 0) and 1 or 0
    log("port%d %s -> %s ran %d", pr.id, ex and "GQCSEx" or "GQCS",
      r == "raised" and "raised" or show(r[2]) .. " " .. show(r[3]), ran)
    if r == "raised" or r == "refused" then return end
    if same and r[2] == nil and r.n <= 4 and r[3] ~= "WAIT_TIMEOUT" then
      log("port%d: the nested wait refused: %s", pr.id, show(r[3]))
      return
    end
    if not alertable then check(ran == 0, "routines ran in a non-alertable port wait") end
    local v, name = r[2], r[3]
    if v == nil and (name == "WAIT_TIMEOUT" or name == "WAIT_IO_COMPLETION"
        or name == "ERROR_INVALID_HANDLE" or name == "WSAEINVAL"
        or name == "WSA_INVALID_PARAMETER") and (ex or r.n <= 4) then
      local codes = { WAIT_TIMEOUT = 258, WAIT_IO_COMPLETION = 192,
                      ERROR_INVALID_HANDLE = 6, WSAEINVAL = 10022,
                      WSA_INVALID_PARAMETER = 87 }
      check(r[4] == codes[name], "%s with code %s", name, show(r[4]))
      if name == "WAIT_TIMEOUT" then
        check(ms ~= nil and ms >= 0 and ms ~= wsarecv.INFINITE,
          "an INFINITE port wait timed out")
        -- (a nested wait: the batch further up may hold what is queued)
        check(q0 == 0 or same or meanwhile > 0 or pr.closed, "port%d: WAIT_TIMEOUT with "
          .. "%d entries queued", pr.id, q0)
        check(ran == 0, "WAIT_TIMEOUT after %d routines", ran)
      elseif name == "WAIT_IO_COMPLETION" then
        check(alertable and ran > 0, "WAIT_IO_COMPLETION, %d routines ran", ran)
      elseif name == "ERROR_INVALID_HANDLE" then
        check(pr.closed, "port%d open, its wait says ERROR_INVALID_HANDLE", pr.id)
      elseif name == "WSA_INVALID_PARAMETER" then
        check(form == "empty", "WSA_INVALID_PARAMETER for %s entries", tostring(form))
      else
        fail("port%d wait refused (WSAEINVAL) with %d queued", pr.id, q0)
      end
      return
    end
    if not ex then
      -- GetQueuedCompletionStatus: bytes, key, ov | nil, name, code, key, ov
      local e
      if v ~= nil then
        check(math.type(v) == "integer", "GQCS returned %s", show(v))
        e = { bytes = v, key = r[3], ov = r[4], haskey = true, haserr = true }
      else
        check(ERR[name] and r[4] == ERR[name], "GQCS failure %s %s", show(name),
          show(r[4]))
        e = { err = name, key = r[5], ov = r[6], haskey = true, haserr = true }
      end
      check(ran == 0, "an entry after %d routines", ran)
      take_entry(pr, e, batch)
      return
    end
    check(math.type(v) == "integer" and v >= 1, "GQCSEx returned %s", show(v))
    check(ran == 0, "%d entries after %d routines ran", v, ran)
    local failed = 0
    if form == "columns" then
      for i = 1, v do
        local e = { ov = arg.ov[i] or nil,
                    bytes = arg.bytes and arg.bytes[i],
                    flags = arg.flags and arg.flags[i],
                    haskey = arg.key ~= nil, haserr = arg.error ~= nil }
        if arg.key then e.key = arg.key[i] end
        if arg.error then e.err = arg.error[i] end
        local op_err = e.err
        if not arg.error and e.ov ~= nil and not pr.packet_by_ov[e.ov] then
          op_err = e.ov.error
        end
        if op_err ~= nil then failed = failed + 1 end
        take_entry(pr, e, batch)
      end
      check(v <= arg.n and (v + cut >= arg.n or arg.ov[v + cut + 1] == false),
        "GQCSEx wrote past n = %d in the ov column (%d)", v, arg.n)
    else
      check(v <= #arg, "GQCSEx took %d entries into %d tables", v, #arg)
      for i = 1, v do
        local t = arg[i]
        if t.error ~= nil then failed = failed + 1 end
        take_entry(pr, { bytes = t.bytes, key = t.key, ov = t.ov, err = t.error,
          flags = t.flags, haskey = true, haserr = true }, batch)
      end
      for i = v + 1 + cut, #arg do
        check(arg[i].bytes == -1 and arg[i].key == "untouched",
          "GQCSEx wrote entries[%d] past n = %d", i, v)
      end
    end
    check(r[3] == failed, "GQCSEx says %s failed, %d entries have an error",
      show(r[3]), failed)
  end

  ---------------------------------------------------------------------------
  -- finalizers
  ---------------------------------------------------------------------------

  -- May a finalizer wait on pr now?  Not while a batch of pr is being
  -- written unless p1 is demanded (and its probe passed), nor when an
  -- object of the batch could be reposted under the model's feet.
  local function may_nest(pr)
    if pr.closed then return false end
    if (inwait[pr] or 0) == 0 then return true end
    if not (KB.p1 and safe.p1) then return false end
    for _, op in ipairs(port_ops(pr)) do
      local ov = C.ovref(op)
      if ov and ov.rearm then return false end
    end
    return true
  end

  -- (with_ov: from a finalizer, inside a wait whose columns may have no
  -- bytes and no key: the object tells the packet)
  local function post_packet(pr, with_ov)
    if pr.closed then return end
    next_packet = next_packet + 1
    local n = next_packet
    local key = pick { n, "pk" .. n, { n }, false }
    if chance(0.1) then key = nil end
    local ov = (with_ov or chance(0.5)) and wsarecv.overlapped() or nil
    local a, name = pr.port:PostQueuedCompletionStatus(n, key, ov)
    check(a == 0, "PostQueuedCompletionStatus on an open port: %s %s",
      show(a), show(name))
    local pk = { n = n, key = key, ov = ov }
    pr.packets[n] = pk
    if ov then pr.packet_by_ov[ov] = pk end
    log("port%d: packet #%d posted", pr.id, n)
  end

  local function close_port(pr)
    if pr.closed then return end
    local a = pr.port:close()
    check(a == 0, "port:close() gave %s", show(a))
    port_gone(pr)
    check(pr.port:close() == 0, "second port:close()")
    stats.port_closes = stats.port_closes + 1
    log("port%d closed", pr.id)
  end

  local function fin_body()
    local pr = pick(ports)
    if not pr then return end
    local r = C.random()
    if r < 0.6 then
      if may_nest(pr) then port_wait(pr, true, { ms = 0 }) end
    elseif r < 0.85 then
      post_packet(pr, true)
    elseif (inwait[pr] or 0) == 0 or (KB.p2 and safe.p2) then
      close_port(pr)
    end
  end

  local function finalizer()
    if armed == 0 or in_fin or C.failed() or C.draining() then return end
    in_fin = true
    stats.fin_actions = stats.fin_actions + 1
    if calling > 0 then stats.fin_in_wait = stats.fin_in_wait + 1 end
    local ok, e = pcall(fin_body)
    in_fin = false
    if not ok and not C.failed() then
      pcall(fail, "in a finalizer: %s", tostring(e))
    end
  end

  local FINMT = { __gc = finalizer }

  local function drop_finalizers(n)
    for _ = 1, n do setmetatable({}, FINMT) end
  end

  -- Leave n finalizers pending at the collector's last phase with almost
  -- no debt: the next allocations (inside the wait) run them.  Returns the
  -- mode to restore, and whether the priming worked.
  function P.prime(n)
    local ran = false
    local prev = collectgarbage("incremental")
    collectgarbage("stop")        -- all made in one phase of the collector
    drop_finalizers(n)
    -- marked last, it runs first (with up to 9 of the n, disarmed): then
    -- the collector is where we want it
    setmetatable({}, { __gc = function() ran = true end })
    collectgarbage("restart")
    collectgarbage("incremental", 200, 100, 1)      -- one basic step a call
    local steps = 0
    while not ran and steps < 2000000 do
      collectgarbage("step", 0)
      steps = steps + 1
    end
    collectgarbage("incremental", 200, 100, 13)     -- the defaults
    stats.primed = stats.primed + 1
    if ran then P.primed_ok = (P.primed_ok or 0) + 1 end
    return prev
  end

  ---------------------------------------------------------------------------
  -- the actions
  ---------------------------------------------------------------------------

  local function new_port()
    if #ports >= 2 then return end
    local port = wsarecv.CreateIoCompletionPort()
    check(tostring(port):find("wsarecv.port (0 queued)", 1, true),
      "tostring of a new port: %s", tostring(port))
    local pr = { id = #ports + 1, port = port, packets = {},
                 packet_by_ov = {}, shadows = {}, spare = {} }
    ports[#ports + 1] = pr
    stats.ports = stats.ports + 1
    log("port%d made", pr.id)
    return pr
  end

  local KEYS = { function(ep) return ep.id end, function(ep) return "ep" .. ep.id end,
                 function(ep) return { ep.id } end, function() return false end,
                 function() return nil end, function() return 0 end }

  local function associate(ep)
    local rx = C.rxof(ep)
    if not rx then return end
    local pr = pick(ports)
    local newone = not pr or chance(0.15)
    if newone and #ports >= 2 then newone = false end
    local key = pick(KEYS)(ep)
    local r = table.pack(wsarecv.CreateIoCompletionPort(rx,
      not newone and pr.port or nil, key))
    local want
    if not newone and pr.closed then want = "ERROR_INVALID_HANDLE"
    elseif ep.closed then want = "WSAENOTSOCK"
    elseif ep.port then want = "WSA_INVALID_PARAMETER" end
    log("ep%d associate with %s key %s -> %s %s", ep.id,
      newone and "a new port" or "port" .. pr.id, show(key), show(r[1]), show(r[2]))
    if want then
      check(r[1] == nil and r[2] == want, "associating ep%d: %s %s, expected %s",
        ep.id, show(r[1]), show(r[2]), want)
      return
    end
    check(r[1] ~= nil, "associating ep%d failed: %s", ep.id, show(r[2]))
    if newone then
      pr = { id = #ports + 1, port = r[1], packets = {}, packet_by_ov = {},
             shadows = {}, spare = {} }
      ports[#ports + 1] = pr
      stats.ports = stats.ports + 1
    else
      check(rawequal(r[1], pr.port), "CreateIoCompletionPort returned another port")
    end
    ep.port, ep.key = pr, key
    stats.assoc = stats.assoc + 1
    -- what is pending without routine now completes to the port
    for _, op in pairs(ep.live) do
      local ov = C.ovref(op)
      if op.mode == "event" and ov and ov.pending and not ov.noport then
        op.mode = "port"
      end
    end
  end

  -- the readiness checks after a post with its data waiting (p3, p4)
  local function notice_check(op)
    local ep = op.ep
    local ov = C.ovref(op)
    if not ov or not ov.pending or ep.k.type ~= "dgram" or ep.closed
       or ep.shut then
      return
    end
    see_held = true                  -- is its datagram there, held or not?
    local waiting = C.guaranteed(op)
    see_held = false
    if not waiting then return end
    stats.poll_checks = stats.poll_checks + 1
    local pr = port_of(ep)
    if pr and op.mode == "port" and KB.p3 then
      local fd = pr.port:pollfd()
      local rd, t = readable(fd), pr.port:timeout()
      check(rd or t == 0, "op%d posted on ep%d with a datagram waiting: "
        .. "port:pollfd() %s, port:timeout() %s (known defect p3)", op.id,
        ep.id, rd == false and "not readable" or "?", show(t))
    end
    if KB.p4 then
      local fd = wsarecv.pollfd()
      local rd, t = readable(fd), wsarecv.timeout()
      check(rd or t == 0, "op%d (%s) posted on ep%d of a port with a datagram "
        .. "waiting: wsarecv.pollfd() %s, wsarecv.timeout() %s (known defect "
        .. "p4)", op.id, op.mode, ep.id, rd == false and "not readable" or "?",
        show(t))
    end
  end

  local function post(ep)
    if not ep.port then return end
    P.hint = chance(0.8) and "event" or nil
    local before = C.last_op()
    C.post_op(ep)
    P.hint = nil
    local op = C.last_op()
    if op and op ~= before then
      if op.mode == "port" then stats.port_posts = stats.port_posts + 1 end
      if op.mode == "port" or op.mode == "routine" then notice_check(op) end
    end
  end

  local function set_rearm(pr)
    local r = C.random()
    local ops = port_ops(pr)
    if r < 0.6 and #ops > 0 then
      local op = pick(ops)
      local ov = C.ovref(op)
      if ov then ov.rearm = chance(0.85) end
      return
    end
    if #pr.shadows > 0 then
      local i = rint(1, #pr.shadows)
      local sh = pr.shadows[i]
      sh.ov.rearm = false
      table.remove(pr.shadows, i)
      check(not sh.ov.pending, "ov.rearm = false left the object pending")
      log("op%d's object: rearm cleared while waiting", sh.from)
      C.give_back(sh.ov, sh.msg, sh.lay)
    end
  end

  -- CancelIoEx(ov) of an object waiting to be rearmed (p8)
  local function cancel_shadow(pr)
    if #pr.shadows == 0 then return end
    local sh = pick(pr.shadows)
    local rx = C.rxof(sh.ep)
    if not rx then return end
    local a, name = rx:CancelIoEx(sh.ov)
    log("CancelIoEx(op%d's object, waiting to be rearmed) -> %s %s", sh.from,
      show(a), show(name))
    if sh.ep.closed then return end
    if KB.p8 then
      check(a == 0, "CancelIoEx of an object waiting to be rearmed: %s %s "
        .. "(known defect p8)", show(a), show(name))
      for _, s in ipairs(take_shadows(pr, function(x) return x == sh end)) do
        revive(s, "abort")
      end
    else
      check(a == 0 or name == "ERROR_NOT_FOUND", "CancelIoEx: %s", show(name))
      if a == 0 then
        for _, s in ipairs(take_shadows(pr, function(x) return x == sh end)) do
          revive(s, "abort")
        end
      end
    end
  end

  local function poll_probe()
    local fd = wsarecv.pollfd()
    check(math.type(fd) == "integer" and fd >= 0, "pollfd() gave %s", show(fd))
    check(wsarecv.events() == "r", "events() gave %s", show(wsarecv.events()))
    local known, unknown = 0, 0
    for _, ep in ipairs(eps()) do
      for _, op in pairs(ep.live) do
        if op.mode == "routine" and op.calls == 0 then
          local ov = C.ovref(op)
          if not ov then unknown = unknown + 1
          elseif not ov.pending then known = known + 1 end
        end
      end
    end
    known = known + C.send_ready()         -- (fuzz/ops_send.lua's routines)
    local n = wsarecv.ready()
    check(n >= known and n <= known + unknown, "ready() %d, model %d (+%d "
      .. "unknown)", n, known, unknown)
    if chance(0.3) then
      wsarecv.wake()
      check(readable(fd) ~= false, "pollfd() not readable after wake()")
      check(wsarecv.timeout() == 0, "timeout() %s after wake()",
        show(wsarecv.timeout()))
    end
    if chance(0.5) then
      local r = C.call_wait(true, wsarecv.run, "nowait")
      if r ~= "raised" then
        check(wsarecv.ready() == 0 or readable(fd) ~= false, "after "
          .. "run(\"nowait\"), ready() %d and pollfd() not readable",
          wsarecv.ready())
      end
    end
    stats.poll_checks = stats.poll_checks + 1
  end

  -- A wait with finalizers primed to run while its batch is written.
  local function primed_wait(pr)
    if pr.closed then return end
    -- a failed entry pushes its error name (an allocation check)
    for _, ep in ipairs(eps()) do
      if ep.port == pr and ep.nlive > 0 and not ep.closed and chance(0.5) then
        C.do_cancel(ep)
        break
      end
    end
    if chance(0.5) then post_packet(pr) end
    port_wait(pr, false, { ex = chance(0.85), n = pick { 4, 16, 64 }, ms = 0,
                           prime = rint(12, 30) })
  end

  function P.step(ep)
    local pr = pick(ports)
    local r = C.random()
    if not pr or (r < 0.03 and #ports < 2) then new_port(); return end
    if r < 0.08 then associate(ep)
    elseif r < 0.30 then post(ep.port and ep or pick(eps()))
    elseif r < 0.52 then port_wait(pr, false)
    elseif r < 0.57 then post_packet(pr)
    elseif r < 0.63 then set_rearm(pr)
    elseif r < 0.66 then cancel_shadow(pr)
    elseif r < 0.70 then primed_wait(pr)
    elseif r < 0.74 then drop_finalizers(rint(1, 4))
    elseif r < 0.80 then poll_probe()
    elseif r < 0.81 then close_port(pr)
    elseif r < 0.83 then
      local e = pick(eps())
      if e.port then C.do_cancel(e) end
    elseif r < 0.84 then
      local e = pick(eps())
      if e.port then C.do_close(e) end
    else
      P.check(true)
    end
  end

  -- from a routine (inside an alertable wait)
  function P.routine_action()
    local pr = pick(ports)
    if not pr then return end
    local r = C.random()
    if r < 0.5 then
      if not pr.closed then port_wait(pr, true) end
    elseif r < 0.8 then
      post_packet(pr)
    elseif r < 0.85 then
      close_port(pr)
    else
      drop_finalizers(1)
    end
  end

  ---------------------------------------------------------------------------
  -- hooks in the fuzzer's own operations
  ---------------------------------------------------------------------------

  -- The mode of a post on ep (mode: what the fuzzer chose), before its
  -- object is chosen.
  function P.mode(ep, mode, inroutine)
    if not ep.port then return mode end
    if P.hint and not inroutine and mode ~= "sync" then mode = P.hint end
    if mode == "routine" and KB.p12 and ep.port.closed then
      -- (what Windows does there is not known: not made)
      mode = "event"
    end
    return mode
  end

  -- With its object chosen: an event-style post on an associated socket
  -- completes to the port, unless ov.noport (set here at random, on an
  -- object that is not pending: it decides where a completion goes).
  function P.port_mode(ep, mode, ov)
    if mode ~= "event" or not ov or not ep.port then return mode end
    if not ov.pending then ov.noport = chance(0.1) end
    if port_of(ep) and not ov.noport then return "port" end
    return mode
  end

  -- a routine's receive on an associated socket fails at once (p12)
  function P.refuses_routine(ep, op)
    return KB.p12 and op.mode == "routine" and port_of(ep) ~= nil
  end

  -- ep's receiver is about to close: its shadows are aborted to the port
  function P.on_close(ep)
    local pr = port_of(ep)
    if not pr then return end
    for _, sh in ipairs(take_shadows(pr, function(s) return s.ep == ep end)) do
      revive(sh, "abort")
    end
  end

  -- CancelIoEx() on ep: with p8 demanded, its shadows end too; returns
  -- how many
  function P.cancel_all(ep)
    local pr = port_of(ep)
    if not pr or not KB.p8 then return 0 end
    local out = take_shadows(pr, function(s) return s.ep == ep end)
    for _, sh in ipairs(out) do revive(sh, "abort") end
    return #out
  end

  -- May a receive on a port's socket be held for a flush that a wait's
  -- pump makes and then sleeps anyway (p4w not demanded)?  Such an op is
  -- not counted on to end a wait.
  function P.held(op)
    return not see_held and not KB.p4w and op.ep.port ~= nil and op.ep.k.type == "dgram"
  end

  -- does the model still expect something of ep's socket?
  function P.holds(ep)
    local pr = ep.port
    if not pr then return false end
    for _, sh in ipairs(pr.shadows) do
      if sh.ep == ep then return true end
    end
    return false
  end

  -- between steps, at the top level
  function P.check(full)
    for _, pr in ipairs(ports) do
      local port = pr.port
      if pr.closed then
        check(port:queued() == 0, "closed port%d has %d queued", pr.id, port:queued())
        check(port:timeout() == nil, "closed port%d: timeout() %s", pr.id,
          show(port:timeout()))
        if full then
          local a, name = port:pollfd()
          check(a == nil and name == "ERROR_INVALID_HANDLE", "closed port: "
            .. "pollfd() %s %s", show(a), show(name))
          a, name = port:GetQueuedCompletionStatus(0)
          check(a == nil and name == "ERROR_INVALID_HANDLE", "closed port: "
            .. "GQCS %s %s", show(a), show(name))
          a, name = port:PostQueuedCompletionStatus(1, 1)
          check(a == nil and name == "ERROR_INVALID_HANDLE", "closed port: "
            .. "PostQueuedCompletionStatus %s %s", show(a), show(name))
        end
      else
        local q = model_queued(pr)
        check(port:queued() == q, "port%d: queued() %d, model %d", pr.id,
          port:queued(), q)
        if q > 0 or #pr.shadows > 0 then
          check(port:timeout() == 0, "port%d: %d queued, %d to rearm, "
            .. "timeout() %s", pr.id, q, #pr.shadows, show(port:timeout()))
        end
        if full then
          check(port:events() == "r", "port:events()")
          if q > 0 then
            check(readable(port:pollfd()) ~= false, "port%d: %d entries queued, "
              .. "pollfd() not readable", pr.id, q)
          end
          check(tostring(port):find("(" .. q .. " queued)", 1, true),
            "tostring(port): %s, model %d", tostring(port), q)
        end
      end
    end
  end

  -- the session ends: every port is drained by waits
  function P.drain()
    for _, pr in ipairs(ports) do
      for _ = 1, 1000 do
        if pr.closed then break end
        local q = model_queued(pr)
        if q == 0 and #pr.shadows == 0 then
          check(pr.port:queued() == 0, "port%d: %d entries the model does not "
            .. "know of", pr.id, pr.port:queued())
          break
        end
        port_wait(pr, false, { ms = 0 })
      end
    end
    for _, pr in ipairs(ports) do
      if not pr.closed then
        check(#pr.shadows == 0, "port%d: %d objects still to rearm", pr.id,
          #pr.shadows)
        for n, pk in pairs(pr.packets) do
          check(pk.taken, "port%d: packet #%d never handed out", pr.id, n)
        end
      end
    end
  end

  function P.end_session()
    for _, pr in ipairs(ports) do close_port(pr) end
    ports = {}
    inwait = {}
  end

  function P.new_session()
    ports, inwait, armed, next_packet = {}, {}, 0, 0
  end

  ---------------------------------------------------------------------------
  -- the crash probes, in a child process
  ---------------------------------------------------------------------------

  local PRIME_SRC = [[
    local function prime(n, fn)
      local ran = false
      collectgarbage("stop")             -- made in one phase of the collector
      for _ = 1, n do setmetatable({}, { __gc = fn }) end
      setmetatable({}, { __gc = function() ran = true end })
      collectgarbage("restart")
      collectgarbage("incremental", 200, 100, 1)
      for _ = 1, 2000000 do
        if ran then break end
        collectgarbage("step", 0)
      end
      collectgarbage("incremental", 200, 100, 13)
      return ran
    end
  ]]

  -- the same setup for each probe: N receives cancelled (failed entries,
  -- each an error name pushed), packets posted before or after them
  local SETUP_SRC = [[
    local w = require "wsarecv"
    local port = w.CreateIoCompletionPort()
    local rx = w.socket("inet", "dgram")
    assert(rx:bind("127.0.0.1", 0))
    assert(w.CreateIoCompletionPort(rx, port, "sock"))
    local N, NP = 40, 8
    local ovs, seen = {}, {}
    local function packets()
      for i = 1, NP do port:PostQueuedCompletionStatus(i, "packet" .. i) end
    end
    local function receives()
      for i = 1, N do
        ovs[i] = w.overlapped()
        assert(rx:WSARecv(w.buffer(8), 0, ovs[i]) == nil)
      end
      assert(rx:CancelIoEx() == 0)
    end
    local function count(e, n)
      for i = 1, n or 0 do
        local x = e[i]
        if x.ov then seen[x.ov] = (seen[x.ov] or 0) + 1
        else
          assert(x.key == "packet" .. x.bytes, "packet " .. tostring(x.bytes)
            .. " came back with key " .. tostring(x.key))
          seen[x.key] = (seen[x.key] or 0) + 1
        end
      end
    end
    local function entries(n)
      local e = {}
      for i = 1, n do e[i] = {} end
      return e
    end
    -- take what is left, in batches as large as all there could be
    local function drain()
      for _ = 1, 100 do
        local t = entries(N + NP)
        local n = port:GetQueuedCompletionStatusEx(t, 0)
        if not n then break end
        count(t, n)
      end
    end
    local function check_all(missing_ok)
      for i = 1, N do
        local k = seen[ovs[i] ] or 0
        assert(k == 1 or (k == 0 and missing_ok and missing_ok[ovs[i] ]),
          "receive " .. i .. " handed out " .. k .. " times")
      end
      for i = 1, NP do
        local k = seen["packet" .. i] or 0
        assert(k <= 1, "packet " .. i .. " handed out " .. k .. " times")
      end
    end
  ]]

  local PROBES = {
    p4w = [[
      local _, udp = rx:getsockname()
      local tx = w.socket("inet", "dgram")
      assert(tx:sendto("x", "127.0.0.1", udp) == 1)
      local other = w.socket("inet", "dgram")       -- something else pending
      assert(other:bind("127.0.0.1", 0))
      assert(other:WSARecv(w.buffer(8), 0, w.overlapped()) == nil)
      local ov = w.overlapped()
      -- held for a flush (poll), or done at once (io_uring: the data is
      -- there, as Windows completes it)
      local r = rx:WSARecv(w.buffer(8), 0, ov)
      assert(r == nil or r == 0)
      assert(rx:WSAGetOverlappedResult(ov, true) == 1)
      print("done")
    ]],
    p1 = [[
      receives(); packets()
      local nested, armed = 0, false
      local function fin()
        if not armed then return end
        nested = nested + 1
        local e = entries(16)
        count(e, (port:GetQueuedCompletionStatusEx(e, 0)))
      end
      for _ = 1, 3 do
        local e = entries(16)
        assert(prime(24, fin))
        armed = true
        local n = port:GetQueuedCompletionStatusEx(e, 0)
        armed = false
        count(e, n)
      end
      drain()
      check_all()
      for i = 1, NP do assert(seen["packet" .. i] == 1, "packet lost") end
      print("done", nested)
    ]],
    p2 = [[
      receives(); packets()
      local closed, armed = 0, false
      local function fin()
        if armed then port:close(); closed = closed + 1 end
      end
      local e = entries(N + NP)
      assert(prime(24, fin))
      armed = true
      local n = port:GetQueuedCompletionStatusEx(e, 0)
      armed = false
      count(e, n)
      print("done", closed)
    ]],
    p5 = [[
      -- the port's arrays and the Lua stack made first, kept (no shrink
      -- while the collector is stopped; an emergency one does not shrink)
      collectgarbage(); collectgarbage("stop")
      local e0 = entries(N + NP)
      port:GetQueuedCompletionStatusEx(e0, 0)
      receives(); packets()
      local e = entries(N + NP)
      local hold = {}
      for i = 1, 100000 do hold[i] = false end
      local size, k = 1 << 20, 0
      while size >= 32 and k < 100000 do
        local ok, s = pcall(string.rep, "x", size)
        if ok then k = k + 1; hold[k] = s else size = size // 2 end
      end
      local ok, err = pcall(port.GetQueuedCompletionStatusEx, port, e, 0)
      hold = nil
      collectgarbage("restart"); collectgarbage()
      local written = {}
      if ok then
        count(e, err)                  -- memory was left after all
      else
        for i = 1, #e do if e[i].ov then written[e[i].ov] = true end end
      end
      drain()
      check_all(written)
      print("done", tostring(err))
    ]],
  }

  -- run in the first session: failures are the defects' findings
  function P.first_probes()
    local asan = (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true)
    for _, id in ipairs { "p1", "p2", "p5", "p4w" } do
      if KB[id] and not (id == "p5" and asan) then
        local prefix = id == "p5" and "ulimit -v 100000; " or nil
        local out, how, rc = C.child(PRIME_SRC .. SETUP_SRC .. PROBES[id],
          id == "p4w" and 5 or 20, prefix)
        stats.probes = stats.probes + 1
        log("probe %s: %s %s: %s", id, show(how), show(rc),
          (out:gsub("%s+", " ")))
        check(how == "exit" and rc == 0 and out:find("done", 1, true)
          and not out:find("Sanitizer", 1, true)
          and not out:find("runtime error", 1, true),
          "port probe %s (known defect %s) failed: %s %s\n%s", id, id,
          show(how), show(rc), out)
        safe[id] = true
      end
    end
  end

  function P.report()
    return ("ports %d, associations %d, port posts %d, entries %d, packets "
      .. "%d, rearms %d, port waits %d, finalizer actions %d (%d inside a "
      .. "port wait's call), primed waits %d, poll checks %d, port closes %d")
      :format(stats.ports, stats.assoc, stats.port_posts, stats.entries,
        stats.packets, stats.rearms, stats.port_waits, stats.fin_actions,
        stats.fin_in_wait, stats.primed, stats.poll_checks, stats.port_closes)
  end

  return P
end
